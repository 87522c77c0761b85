"""No crash on any input (issue 7): every widget a user controls at its bounds, nonsense links, bad uploads,
a diverging training run and a zoo folder with a corrupt file. Each must end in the page drawn or a clear
message: never an exception (AppTest collects what the browser would show as a traceback box).

The sweep is generic: it reads the widgets each page shows, so pages that gain widgets are covered.
A few upper bounds are many minutes of compute on a CPU (the page says so and has a Stop button); they are
listed in HEAVY with the reason and swept at their lower bound only.
"""

import json
import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["home", "lesson", "gradient_flow", "train", "inspect", "landscape", "shattered", "designs", "residuals"]
PAGES = [p for p in PAGES if (ROOT / "pages" / f"{p}.py").exists()]
# Pages whose default view is tens of seconds of compute on 2 cores: their sweeps are marked slow
# (`-m "not slow"` keeps this file near 2 minutes; the whole file takes about 6).
SLOW = {"landscape", "shattered", "designs", "residuals"}
PARAMS = [pytest.param(p, marks=pytest.mark.slow) if p in SLOW else p for p in PAGES]
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

# key: why its upper bound is not swept here (it is a long computation, not a crash risk)
HEAVY = {
    "depth": "ResNet-1202 and its plain twin: a minute per pass on 2 busy cores",
    "batch": "batch 256 through ResNet-56 twice: fine, but slow on 2 shared cores",
    "ls_steps_1d": "51 grid points x the test images", "ls_steps_2d": "51 x 51 loss evaluations",
    "res_n": "10 000 test images through every lesion", "res_samples": "1000 draws per k",
    "res_kpts": "60 k values x draws", "res_draws": "50 draws per k", "res_batch": "64 images per draw",
    "sh_seeds": "10 nets per depth", "sh_depth": "50-layer scalar nets x seeds", "home_depth": "ResNet-110 twice",
    "tr_n": "no training runs in the sweep", "ds_batch": "128 images through six designs",
}


def messages(at):
    assert not at.exception, [e.value for e in at.exception]
    for e in at.error:
        assert "Traceback" not in e.value and "File \"" not in e.value, e.value
    return " ".join(e.value for e in list(at.error) + list(at.warning) + list(at.info) + list(at.success))


def open_page(name, query=None, timeout=300):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page(f"pages/{name}.py").run()
    messages(at)
    return at


def _value_for(widget, option: str):
    """The Python value whose label is `option` (AppTest sets choice widgets by value, shows labels)."""
    fmt = widget.format_func if hasattr(widget, "format_func") else str
    for cast in (str, int, float):
        try:
            v = cast(option)
        except ValueError:
            continue
        try:
            if str(fmt(v)) == option:
                return v
        except Exception:  # noqa: BLE001, S112 (a format_func that refuses the guess: try the next one)
            continue
    return None


def bounds(w):
    """The extreme values a user can give widget w: [(description, setter)]."""
    kind = w.type
    heavy = w.key in HEAVY
    if kind == "number_input":
        out = [("min", w.min)] + ([] if heavy else [("max", w.max)])
        return [(f"{n}={v}", lambda v=v: w.set_value(v)) for n, v in out if v is not None]
    if kind in ("radio", "select_slider", "selectbox"):  # (select_index breaks AppTest with a format_func)
        ends = [w.options[0]] + ([] if heavy else [w.options[-1]])
        vals = [(o, _value_for(w, o)) for o in dict.fromkeys(ends)]
        return [(f"{o!r}", lambda v=v: w.set_value(v)) for o, v in vals if v is not None]
    if kind == "multiselect":
        every = [_value_for(w, o) for o in w.options]
        out = [("none", [])] + ([] if heavy or None in every else [("all", every)])
        return [(n, lambda v=v: w.set_value(v)) for n, v in out]
    if kind in ("checkbox", "toggle"):
        return [(str(v), lambda v=v: w.set_value(v)) for v in (True, False)]
    return []


SWEPT = ("number_input", "selectbox", "radio", "select_slider", "multiselect", "checkbox", "toggle")


@pytest.mark.parametrize("name", PARAMS)
def test_every_widget_at_its_bounds(name):
    at = open_page(name)
    if name == "inspect":  # without an image the page shows only its source; the gallery shows everything
        at.segmented_control(key="ins_src").set_value("Gallery").run()
        messages(at)
    keys = [w.key for kind in SWEPT for w in at.get(kind) if w.key and w.key != "present" and not w.disabled]
    assert keys or name == "home", f"{name}: no keyed widget found to sweep"
    done = []
    for key in keys:
        try:
            w = at.get_widget(key) if hasattr(at, "get_widget") else next(
                x for kind in SWEPT for x in at.get(kind) if x.key == key)
        except (StopIteration, KeyError):
            continue  # a widget that an earlier setting hid (e.g. a mode's own inputs)
        original = at.session_state[key]
        for what, set_ in bounds(w):
            set_()
            at.run()
            messages(at)
            done.append(f"{key} {what}")
        try:
            next(x for kind in SWEPT for x in at.get(kind) if x.key == key).set_value(original)
        except (StopIteration, KeyError):
            pass
    assert done or not keys, name


NONSENSE = {"depth": "abc", "batch": "-5", "seed": "1e400", "norm": "💥", "skip_off": ["9", "x"], "source": "Nope",
            "present": "maybe", "activation": "", "init": "<script>alert(1)</script>", "unknown": "x" * 5000,
            "res_n": "abc", "ds_depth": "1e400", "ins_model": "nope", "tr_epochs": "999"}


@pytest.mark.parametrize("name", PARAMS)
def test_nonsense_query_parameters(name):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    for k, v in NONSENSE.items():
        at.query_params[k] = v
    at.run()
    first = messages(at)  # the frame's own notes come on the first run
    assert "`present=maybe` is not a valid switch" in first and "`seed=1e400` is not a number" in first, first
    at.switch_page(f"pages/{name}.py").run()
    text = messages(at)
    assert at.title, name
    if name == "gradient_flow":  # the bound page says what it did with each bad value
        assert "`depth=abc` is not a valid depth; using 56" in text and "`source=Nope`" in text, text
        assert at.session_state["depth"] == 56 and at.session_state["seed"] == 0


def test_bad_uploads_get_a_clear_message():
    from tests.models.test_uploads import BAD as bad  # (an import error fails the test: it must never skip)

    at = open_page("inspect")
    for file, data, _ in bad:
        if at.segmented_control(key="ins_src").value != "Upload":  # after a bad file the page shows a gallery image
            at.segmented_control(key="ins_src").set_value("Upload").run()
        at.file_uploader(key="file").set_value((file, data, "application/octet-stream")).run()
        text = messages(at)
        assert at.error and file in text, (file, text)


def test_a_diverging_training_run_ends_in_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path))
    at = open_page("train")
    at.selectbox(key="tr_depth").set_value(8)
    at.select_slider(key="tr_lr").set_value(10.0)
    at.select_slider(key="tr_n").set_value(500)
    at.number_input(key="tr_epochs").set_value(1)
    at.radio(key="tr_norm").set_value("none")
    at.radio(key="tr_variant").set_value("residual")  # without BN its forward signal already grows with depth
    at.select_slider(key="tr_batch").set_value(32)
    at.button(key="tr_start").click().run()
    text = messages(at)
    assert at.error and "diverg" in at.error[0].value.lower(), text


def test_a_corrupt_zoo_file_is_a_message_not_a_crash(tmp_path, monkeypatch):
    # a real card of the shallowest shipped depth, so the zoo lists the model in Gradient flow's default view
    card = min((ROOT / "models" / "weights").glob("*.json"), key=lambda p: json.loads(p.read_text())["config"]["depth"])
    shutil.copy(card, tmp_path / "broken.json")
    (tmp_path / "broken.safetensors").write_bytes(b"\x00not a safetensors file" * 10)
    (tmp_path / "garbage.json").write_text("{ this is not json")
    (tmp_path / "orphan.safetensors").write_bytes(os.urandom(64))
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path))
    said = {}
    for page in ("gradient_flow", "residuals", "landscape", "inspect"):
        at = open_page(page, {"source": "Trained", "zoo_dataset": json.loads(card.read_text())["dataset"],
                              "zoo_depth": str(json.loads(card.read_text())["config"]["depth"])}
                       if page == "gradient_flow" else None)  # the Trained view at the broken model's data and depth
        said[page] = messages(at)
    print(said)
    assert "broken" in said["gradient_flow"], said["gradient_flow"]  # it is named, and the page still draws
