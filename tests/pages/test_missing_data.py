"""A zoo model whose data set is not on this machine (a CIFAR-10 model on a fresh machine, where the data is a
separate download) must leave every page working: the pages that need the model's test images say so in a
clear message; none raises. Uses a user zoo with one CIFAR-10 model and an empty data folder."""

import json

import pytest

from models import zoo
from models.data import dataset_info
from models.resnet import ResNet, ResNetConfig
from tests.pages.test_no_crash import open_page  # the app opened on a page (by a link), no exception

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture
def cifar_model_without_data(tmp_path, monkeypatch):
    card = json.loads((zoo.SHIPPED / "shapes-resnet8.json").read_text())
    card.update(dataset="cifar10", classes=list(dataset_info("cifar10").classes), command="(test fixture)")
    zoo.save(ResNet(ResNetConfig(depth=8), seed=0), card, tmp_path / "zoo", name="cifar10-resnet8")
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path / "zoo"))
    monkeypatch.setenv("SKIPLAB_DATA", str(tmp_path / "data"))
    return "cifar10-resnet8"


def choose(at, text="cifar10"):
    """In every selectbox or multiselect, select the first option that contains `text` (a chosen data set
    can reveal a model list: look again after each rerun); True if any did."""
    chosen = set()
    for _ in range(3):
        for w in list(at.selectbox) + list(at.multiselect):
            hits = [o for o in map(str, w.options) if text in o]
            if hits and w.key not in chosen:
                (w.set_value([hits[0]]) if w.type == "multiselect" else w.set_value(hits[0])).run()
                chosen.add(w.key)
                break
        else:
            break
    return bool(chosen)


def assert_no_exception(at):
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("page", ["residuals", "landscape"])
def test_pages_measuring_on_test_images_say_the_data_is_missing(cifar_model_without_data, page):
    """Without CIFAR-10 on the machine a CIFAR-10 model is measured on the shipped sample of exact test images
    (issue 12), and the page says so: no error, and the caption names the images."""
    at = open_page(page)
    assert_no_exception(at)
    assert choose(at), f"the {page} page does not offer {cifar_model_without_data}"
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]
    said = " ".join(str(c.value) for c in at.caption)
    assert "932 official CIFAR-10 test images" in said or "shipped CIFAR-10 sample" in said, said


def test_gradient_flow_trained_says_the_data_is_missing(cifar_model_without_data):
    """The Trained view probes a CIFAR-10 model on the shipped sample when CIFAR-10 is not on the machine."""
    at = open_page("gradient_flow", {"source": "Trained"})
    assert choose(at)
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", ["inspect", "train"])
def test_other_pages_offering_the_model_keep_working(cifar_model_without_data, page):
    at = open_page(page)
    choose(at)
    assert_no_exception(at)


@pytest.mark.parametrize("page, query", [("gradient_flow", {"source": "Trained"}), ("landscape", {}), ("residuals", {}),
                                         ("inspect", {"ins_src": "Gallery"})])
def test_default_views_open_on_data_that_is_here(cifar_model_without_data, page, query):
    """With a CIFAR-10 model in the zoo but no CIFAR-10 on the machine, a page's default view shows no error (a
    CIFAR-10 model is measured on the shipped sample)."""
    at = open_page(page, query)
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]
    if page == "inspect":
        assert at.session_state["ins_model"].startswith("cifar10-resnet")  # uploads need no data set on disk
        assert "cifar10-sample test #" in " ".join(c.value for c in at.caption)  # its own data: the shipped sample
