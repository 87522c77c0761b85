"""The Train page in AppTest: a tiny run saved to the user zoo, a diverging run shown as a message."""

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from models import zoo
from models.data import make_shapes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def at(tmp_path, monkeypatch):
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.run()
    app.switch_page("pages/train.py").run()
    assert not app.exception, app.exception
    app.selectbox(key="tr_depth").set_value(8)
    app.number_input(key="tr_epochs").set_value(1)
    app.select_slider(key="tr_n").set_value(500)
    return app


def test_a_tiny_run_is_saved_to_the_user_zoo(at, tmp_path):
    at.radio(key="tr_variant").set_value("residual")
    at.button(key="tr_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(at.success) == 1 and "Saved as" in at.success[0].value
    cat = zoo.list()
    mine = cat[cat.source == "user"]
    assert len(mine) == 1 and mine.iloc[0]["depth"] == 8 and mine.iloc[0]["epochs"] == 1
    name = mine.iloc[0]["name"]
    assert name.startswith("shapes-resnet8-")
    # the saved model is what the page reported: its accuracy on the page's 2,000 test images
    model = zoo.load(name)
    x, y = make_shapes("test")
    with torch.no_grad():
        acc = (model(x.float() / 255).argmax(1) == y).float().mean().item()
    assert acc == pytest.approx(zoo.card(name)["test_acc"], abs=2e-3)
    assert f"{acc:.2%}"[:-2] in at.success[0].value  # e.g. "10.7" of "10.75%"
    assert len(at.dataframe) >= 1  # the history table (with its CSV download)


def test_a_diverging_run_is_a_message_not_a_traceback(at):
    at.radio(key="tr_variant").set_value("residual")  # no normalization: a huge step blows the forward up
    at.radio(key="tr_norm").set_value("none")
    at.select_slider(key="tr_lr").set_value(10.0)
    at.number_input(key="tr_epochs").set_value(2)
    at.button(key="tr_start").click().run()
    assert not at.exception
    assert len(at.error) == 1, [e.value for e in at.error]
    msg = at.error[0].value
    assert "diverged" in msg and "loss became" in msg and "epoch 2" in msg and "Saved after epoch 1" in msg


def test_degradation_states_both_findings(at):
    text = " ".join(m.value for m in at.markdown)
    assert "He et al." in text and "Degradation" in " ".join(h.value for h in at.header)
    if not zoo.histories("shapes", (20, 56)).empty:
        assert "Ours" in text


def test_missing_data_is_a_clear_error(at, tmp_path, monkeypatch):
    monkeypatch.setenv("SKIPLAB_DATA", str(tmp_path / "empty"))
    at.selectbox(key="tr_dataset").set_value("cifar10")
    at.button(key="tr_start").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "CIFAR-10 not found" in at.error[0].value
