"""Every page of the navigation runs in Streamlit's AppTest without an exception."""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGES = re.findall(r'st\.Page\("(pages/[a-z_]+\.py)"', (ROOT / "app.py").read_text())


def app():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_navigation_lists_pages():
    assert "pages/home.py" in PAGES and "pages/gradient_flow.py" in PAGES


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs(page):
    at = app()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title, f"{page} shows no title"


def captions(at):
    return " ".join(c.value for c in at.caption)


def test_gradient_flow_reruns_with_new_depth_and_skips():
    at = app()
    at.switch_page("pages/gradient_flow.py").run()
    assert "ResNet-56" in captions(at) and "plain-56" in captions(at)
    at.selectbox(key="depth").set_value(20).run()
    assert not at.exception
    text = captions(at)
    assert "ResNet-20" in text and "plain-20" in text and "56" not in text.split("Loss")[0]
    at.multiselect(key="skip_off").set_value([2, 3]).run()
    assert not at.exception
    assert "ResNet-20 (3 of 9 skips)" in captions(at)
    at.radio(key="norm").set_value("none").run()
    at.radio(key="activation").set_value("sigmoid").run()
    assert not at.exception
    assert "vanish" in captions(at)  # sigmoid without normalization: the gradient shrinks toward the input


def test_gradient_flow_offers_skipinit_and_rezero_without_batch_norm():
    """Issue 28's norm-free inits on the Gradient flow page: the branches' weights get exactly 0 gradient at init (α = 0)
    and the page says why; the gradient reaching each block stays within a small factor over depth 56, where the
    un-normalised residual net's grows by orders of magnitude."""
    at = app()
    at.switch_page("pages/gradient_flow.py").run()
    at.selectbox(key="init").set_value("skipinit").run()
    assert not at.exception
    said = " ".join(i.value for i in at.info)
    assert "built with Normalization none" in said and "exactly 0 gradient" in said, said
    text = " ".join(m.value for m in at.markdown)
    ends = re.search(r"ResNet-56: the gradient at each block's output runs from ([0-9.e-]+) .* to ([0-9.e-]+) ", text)
    assert ends, text[:800]
    low, high = sorted(float(v) for v in ends.groups())
    assert 0 < low and high / low < 10, (low, high)


def test_gradient_flow_trained_compares_zoo_models():
    at = app()
    at.switch_page("pages/gradient_flow.py").run()
    at.segmented_control(key="source").set_value("Trained").run()
    assert not at.exception, [e.value for e in at.exception]
    from models import zoo

    cat = zoo.list()
    data = "cifar10" if (cat.dataset == "cifar10").any() else "shapes"  # opens on CIFAR-10's published networks
    have = cat[cat.dataset == data]
    depth = 56 if (have.depth == 56).any() else int(have.depth.min())  # keeps the At-init view's depth (56)
    first = have[have.depth == depth].sort_values("skip").iloc[0]
    kind = "ResNet" if first.skip else "plain"
    assert f"{kind}-{first.depth}" in captions(at) and "(published) (trained)" not in captions(at)

