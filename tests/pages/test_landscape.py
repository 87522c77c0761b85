"""AppTest for the Loss-landscape page, on small settings."""

from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from models import zoo
from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz.measures import landscape as ls

ROOT = Path(__file__).resolve().parents[2]


def open_page(page, **state):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def text(at, what="caption"):
    return " ".join(str(e.value) for e in getattr(at, what))


def charts(at):
    return at.get("plotly_chart")


def test_landscape_page_draws_1d_then_2d_with_csv():
    at = open_page("pages/landscape.py", **{"ls_steps_1d": 5, "ls_images": 8,
                                           "ls_steps_2d": 3})
    assert at.title[0].value == "Loss landscapes"
    assert len(charts(at)) == 1
    caps = text(at)
    assert "Li et al. 2018" in caps
    # the images the loss is over: training images, or (CIFAR-10 without its training split here) the shipped sample
    assert "8 training images" in caps or ("8 test images of the shipped CIFAR-10 sample" in caps
                                           and "not on this machine" in caps)
    assert "ResNet-" in caps or "plain-" in caps
    assert at.get("download_button"), "the grid must download as CSV"
    if "untrained depth 20" == at.selectbox(key="ls_pair").value:
        assert "Untrained" in text(at, "warning")  # says clearly that no trained pair is used
    at.radio(key="ls_dims").set_value("2-D surface").run()
    assert not at.exception and not at.error
    assert len(charts(at)) == 2  # contours and 3-D surfaces (tabs)
    assert "same colour scale" in " ".join(str(c.proto.spec) for c in charts(at))


def test_landscape_page_says_which_zoo_models_are_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path))  # an empty user zoo: only the shipped models exist
    from models import zoo

    have = set(zoo.list().name)
    expected = ["shapes-resnet20", "shapes-plain20", "shapes-resnet56", "shapes-plain56"]
    at = open_page("pages/landscape.py", **{"ls_steps_1d": 3, "ls_images": 8})
    info = text(at, "info")
    for n in expected:
        assert (n in info) == (n not in have), (n, info)
    options = at.selectbox(key="ls_pair").options
    assert options[-1] == "untrained depth 20"
    assert ("shapes depth 20" in options) == bool({"shapes-resnet20", "shapes-plain20"} & have)


def test_pairs_group_twins_of_one_run_and_label_the_users_models():
    cat = pd.DataFrame({"name": ["shapes-resnet20", "shapes-plain20", "shapes-plain56", "folder-plain8-20261128-204512",
                                 "folder-resnet8-20261128-204512", "shapes-resnet8-20261128-210000", "mynet", "shapes-resnet20"],
                        "dataset": ["shapes", "shapes", "shapes", "birds", "birds", "shapes", "shapes", "shapes"],
                        "source": ["shipped"] * 3 + ["user"] * 5})
    assert ls.pairs(cat) == {
        "shapes depth 20": ["shapes-resnet20", "shapes-plain20"],  # a user copy of a shipped name counts once
        "shapes depth 56": ["shapes-plain56"],  # no twin: offered alone
        "birds depth 8 (yours, 2026-11-28 20:45:12)": ["folder-resnet8-20261128-204512", "folder-plain8-20261128-204512"],
        "mynet (yours)": ["mynet"],
        "shapes depth 8 (yours, 2026-11-28 21:00:00)": ["shapes-resnet8-20261128-210000"],
    }


@pytest.fixture
def user_zoo(monkeypatch, tmp_path):
    """No shipped models; a Train-page pair (shapes, depth 8) in the user zoo. save(seed) (re)writes the ResNet."""
    monkeypatch.setattr(zoo, "SHIPPED", tmp_path / "shipped")
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path / "user"))

    def save(name, skip=True, seed=0, **card):
        m = ResNet(ResNetConfig(depth=8, skip=skip, mean=SHAPES_MEAN, std=SHAPES_STD), seed=seed).eval()
        zoo.save(m, {"dataset": "shapes", **card}, tmp_path / "user", name)

    save("shapes-resnet8-20261128-204512")
    save("shapes-plain8-20261128-204512", skip=False)
    st.cache_resource.clear()
    yield save
    st.cache_resource.clear()


def test_a_model_retrained_under_its_name_is_measured_afresh(user_zoo):
    pair, name = "shapes depth 8 (yours, 2026-11-28 20:45:12)", "shapes-resnet8-20261128-204512"
    at = open_page("pages/landscape.py", **{"ls_steps_1d": 3, "ls_images": 8})
    assert at.selectbox(key="ls_pair").value == pair  # the user's pair is offered (first: nothing is shipped)

    def resnet_losses():
        df = at.dataframe[0].value
        return df[df.network == "ResNet-8"].loss.to_numpy()

    x, y = make_shapes("train", n=8)
    oracle = ls.slice_1d(zoo.load(name), x.float() / 255, y, steps=3).loss.to_numpy()
    assert resnet_losses() == pytest.approx(oracle, rel=1e-5)
    user_zoo(name, seed=1)  # retrained: same name, new weights
    at.run()
    assert not at.exception and not at.error
    oracle2 = ls.slice_1d(zoo.load(name), x.float() / 255, y, steps=3).loss.to_numpy()
    assert abs(oracle2 - oracle).max() > 1e-3 and resnet_losses() == pytest.approx(oracle2, rel=1e-5)


def test_a_folder_model_whose_folder_is_gone_is_a_clear_message(user_zoo, tmp_path):
    user_zoo("folder-resnet8-20261128-220000", dataset="birds", data_path=str(tmp_path / "gone"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.session_state["ls_images"] = 8
    at.switch_page("pages/landscape.py").run()
    at.selectbox(key="ls_pair").set_value("birds depth 8 (yours, 2026-11-28 22:00:00)").run()
    assert not at.exception
    msg = " ".join(e.value for e in at.error)
    assert f"trained on the image folder {tmp_path / 'gone'}, which is not on this machine" in msg, msg
