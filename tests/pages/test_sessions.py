"""Issue 17.1: one student's training run never changes another session's page. A model saved by the Train page is
listed for the session that trained it (labelled as its own) and for nobody else; defaults use shipped models only."""

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from models import zoo
from models.data import SHAPES_MEAN, SHAPES_STD
from models.resnet import ResNet, ResNetConfig
from viz.words import model_name

ROOT = Path(__file__).resolve().parents[2]
RUN = "shapes-resnet8-20261201-120000"  # what the Train page names a run
PAGES = {"residuals": {"res_pause": True, "res_dataset": "shapes"},  # paused: the menus, not the measurements
         "landscape": {"ls_images": 8, "ls_steps_1d": 3, "ls_pair": "shapes depth 20"},
         "inspect": {"ins_steps": 8}}


def everything(at) -> list:
    """Every piece of text and every choice the page shows, in order."""
    out = [(e.type, str(e.value)) for e in [*at.markdown, *at.caption, *at.info, *at.warning, *at.title]]
    for kind in ("selectbox", "multiselect"):
        out += [(kind, w.key, tuple(map(str, w.options)), str(w.value)) for w in getattr(at, kind)]
    return out


def visit(page, mine=()):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()
    for k, v in {**PAGES[page], "my_models": list(mine)}.items():
        at.session_state[k] = v
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def user_zoo(monkeypatch, tmp_path):
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield tmp_path
    st.cache_data.clear()
    st.cache_resource.clear()


def train_page_run(folder):
    """A model as the Train page saves it (a student's run; a test accuracy that looks trained)."""
    m = ResNet(ResNetConfig(depth=8, mean=SHAPES_MEAN, std=SHAPES_STD), seed=3).eval()
    zoo.save(m, {"dataset": "shapes", "test_acc": 0.9, "command": "Train page: ResNet-8 on 500 shapes images"},
             folder, RUN)


@pytest.mark.slow
@pytest.mark.parametrize("page", list(PAGES))
def test_a_run_trained_by_one_session_leaves_every_other_sessions_page_unchanged(user_zoo, page):
    before = everything(visit(page))
    train_page_run(user_zoo)
    st.cache_data.clear()  # the catalog is re-read at once (as after its 30 s)
    assert everything(visit(page)) == before  # another session: text for text
    assert RUN not in str(before) and model_name(RUN) not in str(before)
    theirs = everything(visit(page, mine=[RUN]))  # the session that trained it
    if page != "landscape":  # (Landscape offers pairs; a lone run is offered as its own pair)
        shown = (RUN, model_name(RUN))  # the zoo id, or the name a picker shows (Inspect, Residuals)
        assert any(n in str(item) for item in theirs for n in shown), theirs
    assert theirs != before or page == "landscape"


def test_the_trainers_session_sees_its_run_labelled_as_its_own_and_never_as_a_default(user_zoo):
    train_page_run(user_zoo)
    at = visit("residuals", mine=[RUN])
    models = at.multiselect(key="res_models")
    assert model_name(RUN) in models.options and RUN not in models.value, models.options  # offered (by the name a
    # person reads), and never a default
    at.multiselect(key="res_models").set_value([RUN])
    at.number_input(key="res_n").set_value(50)
    at.toggle(key="res_pause").set_value(False).run()  # measured: the charts name it as the session's own
    shown = " ".join(str(c.value) for c in at.caption)
    assert f"{model_name(RUN)} (yours)" in shown, shown  # labelled as its own, by the name a person reads
