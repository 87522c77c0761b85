"""Links reopen a view (issue 7): every page's settings are bound to the URL. A link with non-default values for
all of a page's bound settings opens exactly that view; a link with nonsense values opens the defaults with a
visible note per value, never an exception. And the HTML report collects the charts of Inspect and Train.

The pages run on a tiny zoo of their own (untrained depth-8 models), so the views are cheap and the same
whatever the shipped zoo holds."""

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from models import zoo
from models.data import SHAPES_CLASSES
from viz.words import model_name

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
NOTE = "The link's"


@pytest.fixture(autouse=True)
def offered_folder(monkeypatch, tmp_path):
    """The server offers one image folder to train from, named "my images" (SKIPLAB_FOLDERS)."""
    (tmp_path / "my images").mkdir()
    monkeypatch.setenv("SKIPLAB_FOLDERS", str(tmp_path / "my images"))


def open_link(page: str, query: dict) -> AppTest:
    """The app opened by a link to the page with ?k=v&...; page settings lost at the first run show no note."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page(f"pages/{page}.py").run()  # the first run is the page's, as for a link to /page?k=v
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def notes(at) -> str:
    return " ".join(i.value for i in at.info if NOTE in i.value)


# page -> links with a non-default value for every bound setting the view shows (several links where settings
# belong to different views), as {key: value as written in a link}; the widget's value must equal it.
LINKS = {
    "home": [{"home_depth": "8"}],
    "gradient_flow": [{"depth": "14", "norm": "none", "activation": "tanh", "init": "xavier", "shortcut": "B",
                       "batch": "4", "seed": "3", "skip_off": ["1", "3"]},
                      {"depth": "8", "init": "zero_residual", "bn_mode": "eval", "batch": "4"},
                      {"source": "Trained", "zoo_dataset": "shapes", "zoo_depth": "8", "zoo_bn_mode": "train",
                       "zoo_batch": "4"}],
    "lesson": [{"step": "3", "lesson_degradation": "shapes"}],
    "designs": [{"ds_depth": "8", "ds_batch": "4", "ds_seed": "3", "ds_bn": "eval"}],
    "shattered": [{"sh_depth": "4", "sh_seed": "2", "sh_seeds": "1", "sh_image": "5", "sh_radius": "0.05"}],
    "landscape": [{"ls_pair": "untrained depth 20", "ls_dims": "2-D surface", "ls_steps_2d": "3", "ls_images": "8",
                   "ls_span": "0.5", "ls_seed": "1"},
                  {"ls_steps_1d": "5", "ls_images": "16"}],
    "residuals": [{"res_models": ["plain-8 on shapes"], "res_n": "50", "res_view": "Lesions",
                   "res_lesion": "k random blocks", "res_kpts": "2", "res_draws": "1"},
                  {"res_n": "50", "res_view": "Gradient paths", "res_samples": "10", "res_batch": "2", "res_seed": "1"},
                  {"res_n": "50", "res_view": "Switches", "res_skips_off": ["1"], "res_drops": ["0", "2"]}],
    "train": [{"tr_dataset": "cifar10", "tr_depth": "8", "tr_variant": "plain", "tr_epochs": "2", "tr_n": "500",
               "tr_lr": "0.03", "tr_batch": "64", "tr_norm": "none", "tr_schedule": "cosine", "tr_seed": "7"},
              {"tr_dataset": "my folder", "tr_folder": "my images"}],  # (offered: see offered_folder)
    "inspect": [{"ins_model": "plain-8 on shapes", "ins_src": "Gallery", "ins_image": "7", "ins_noskip": ["0"],
                 "ins_drop": ["1", "2"], "ins_shared": "true", "ins_chan": "0", "ins_class": "?", "ins_cam": "1",
                 "ins_steps": "8", "ins_noise": "true", "ins_layerig": "true"}],
}
CASES = [(page, i) for page, links in LINKS.items() for i in range(len(links))]


NAMED = {"ins_model", "res_models"}  # model pickers: a link holds the name a person reads (viz.words.model_name)


def as_link(v, key="") -> list[str]:
    """A widget value as a link writes it."""
    if key in NAMED:
        return sorted(model_name(x) for x in (v if isinstance(v, (list, tuple)) else [v]))
    if isinstance(v, bool):
        return [str(v).lower()]
    if isinstance(v, (list, tuple)):
        return sorted(str(x) for x in v)
    if isinstance(v, float) and v.is_integer():
        return [str(int(v))]
    return [str(v)]


def inspect_class_not_top(link) -> str:
    """A class name the Inspect page would not pick by itself (its default is the predicted class), from the
    model run directly on the linked gallery image with the linked switches."""
    from viz.measures.inspect import gallery, inspect

    x, _, _ = gallery("shapes")
    img = torch.from_numpy(x[int(link["ins_image"])]).permute(2, 0, 1).float().div(255)
    model = zoo.load(next(n for n in zoo.list().name if model_name(n) == link["ins_model"]))
    n = len(model.blocks)
    ins = inspect(model, img, SHAPES_CLASSES, skip=[False if str(i) in link["ins_noskip"] else None for i in range(n)],
                  drop=[str(i) in link["ins_drop"] for i in range(n)])
    return SHAPES_CLASSES[int(ins.top.cls[len(ins.top) - 1])]  # the least likely of the top 5


@pytest.mark.parametrize("page,i", CASES, ids=[f"{p}-{i}" for p, i in CASES])
def test_a_link_reopens_exactly_its_view(tiny_zoo, page, i):
    link = dict(LINKS[page][i])
    if link.get("ins_class") == "?":
        link["ins_class"] = inspect_class_not_top(link)
    at = open_link(page, link)
    assert not notes(at), notes(at)  # every value was taken
    for k, v in link.items():
        assert k in at.session_state, f"{page}: no widget bound to {k}"
        assert as_link(at.session_state[k], k) == sorted(v if isinstance(v, list) else [v]), (k, at.session_state[k], v)
    assert at.title


# page -> (a link of nonsense, the defaults the page must show instead). Values that are not nonsense are
# there to reach the view whose settings are tested, or to keep the default view cheap (they must be taken).
NONSENSE = {
    "home": ({"home_depth": "57"}, {"home_depth": 56}),
    "lesson": ({"step": "99", "lesson_chain": "57", "lesson_chain_layers": "7"},
               {"step": "0", "lesson_chain": 0.1, "lesson_chain_layers": 50}),
    "gradient_flow": ({"depth": "57", "norm": "BatchNorm", "activation": "gelu", "init": "Xavier (Glorot)",
                       "shortcut": "C", "bn_mode": "test", "batch": "1", "seed": "-1", "skip_off": ["4"]},
                      {"depth": 56, "norm": "batch", "activation": "relu", "init": "kaiming", "shortcut": "A",
                       "bn_mode": "train", "batch": 32, "seed": 0, "skip_off": []}),
    "designs": ({"ds_depth": "abc", "ds_batch": "1e400", "ds_seed": "-3", "ds_bn": "nope"},
                {"ds_depth": 20, "ds_batch": 16, "ds_seed": 0, "ds_bn": "train"}),
    "shattered": ({"sh_depth": "3", "sh_seed": "10001", "sh_seeds": "0", "sh_nets": "<b>x</b>", "sh_image": "½",
                   "sh_radius": "inf"},
                  {"sh_depth": 24, "sh_seed": 0, "sh_seeds": 3, "sh_nets": "untrained depth 20", "sh_image": 0,
                   "sh_radius": 0.25}),
    "landscape": ({"ls_pair": "shapes, depth 20", "ls_dims": "3-D", "ls_steps_1d": "2", "ls_images": "8",
                   "ls_span": "-1", "ls_seed": "x"},
                  {"ls_pair": "shapes depth 8 (yours) (model never trained: at chance)", "ls_dims": "1-D slice", "ls_steps_1d": 21, "ls_images": 8,
                   "ls_span": 1.0, "ls_seed": 0}),
    "residuals": ({"res_dataset": "imagenet", "res_models": ["nope", "x"], "res_n": "49", "res_view": "Lesions",
                   "res_lesion": "all", "res_kpts": "NaN", "res_draws": "51"},
                  {"res_dataset": "shapes", "res_models": ["shapes-resnet8", "shapes-plain8"], "res_n": 500,
                   "res_view": "Lesions", "res_lesion": "one block at a time", "res_kpts": 9, "res_draws": 3}),
    "train": ({"tr_dataset": "mnist", "tr_depth": "9", "tr_variant": "both,plain", "tr_epochs": "0", "tr_n": "7",
               "tr_lr": "1e400", "tr_batch": "", "tr_norm": "BatchNorm", "tr_schedule": "step", "tr_seed": "abc"},
              {"tr_dataset": "shapes", "tr_depth": 8, "tr_variant": "residual", "tr_epochs": 2, "tr_n": 10000,
               "tr_lr": 0.1, "tr_batch": 128, "tr_norm": "batch", "tr_schedule": "onecycle", "tr_seed": 0}),
    "inspect": ({"ins_model": "nope", "ins_src": "Gallery", "ins_image": "30", "ins_noskip": ["99"],
                 "ins_drop": ["-1", "a"], "ins_shared": "maybe", "ins_chan": "3", "ins_class": "unicorn",
                 "ins_cam": "x", "ins_steps": "7", "ins_noise": "2", "ins_layerig": "yes please"},
                {"ins_model": "shapes-resnet8", "ins_src": "Gallery", "ins_image": 3, "ins_noskip": [], "ins_drop": [],
                 "ins_shared": False, "ins_chan": 2, "ins_cam": 2, "ins_steps": 32, "ins_noise": False,
                 "ins_layerig": False}),
}
TAKEN = {"ls_images", "res_view", "ins_src"}  # valid values in the nonsense links (see above)


@pytest.mark.parametrize("page", list(NONSENSE))
def test_a_nonsense_link_falls_back_to_the_defaults_with_a_note(tiny_zoo, page):
    link, defaults = NONSENSE[page]
    at = open_link(page, link)
    said = notes(at) + " " + " ".join(i.value for i in at.info)  # (the frame notes numbers like 1e400 itself)
    for k, v in defaults.items():
        assert at.session_state[k] == v, (k, at.session_state[k], v)
        if k not in TAKEN:
            assert f"`{k}=" in said, (k, said)
    assert at.title
    if page == "inspect":  # the class defaults to the predicted one
        top = at.session_state["_skiplab_report"]
        assert f"Top class: {at.session_state['ins_class']} (" in " ".join(c for kind, _, c in top if kind == "chart")


def test_a_nonsense_source_and_model_fall_back_on_inspect(tiny_zoo):
    at = open_link("inspect", {"ins_model": "../../etc/passwd", "ins_src": "Nope"})
    said = notes(at)
    assert "`ins_model=../../etc/passwd` is not a valid model" in said and "`ins_src=Nope`" in said, said
    assert at.session_state["ins_model"] == "shapes-resnet8" and at.session_state["ins_src"] == "Gallery"
    assert "Top class:" in " ".join(str(c.value) for c in at.caption)  # the default: a gallery image, inspected


def report(at):
    return at.session_state["_skiplab_report"]


def test_the_report_collects_inspects_charts(tiny_zoo):
    # Inspect draws one view at a time under the network picture (issue 16): the report collects what each view draws;
    # over the four views, all ten charts: the image, its 32x32 and the top-5, the picture, then the views' charts
    from frame.report import html_file

    caps = ""
    for view, n in (("The block", 5), ("Its channels", 5), ("Every block", 6), ("Why (Captum)", 6)):
        at = open_link("inspect", {"ins_src": "Gallery", "ins_steps": "8", "ins_show": view})
        items = report(at)
        charts = [(fig, cap) for kind, fig, cap in items if kind == "chart"]
        assert len(charts) == len(at.get("plotly_chart")) == n, (view, [c for _, c in charts])
        caps += " " + " ".join(c for _, c in charts)
        assert html_file("Inspect", items).count("class=\"plotly-graph-div\"") == n
    for words in ("The image: shapes test #3 (true class: ", "32 x 32 pixels.", "resized to 32 x 32", "Top class:",
                  "Channel means of x, F(x)", "Median ‖F(x)‖/‖x‖", "strongest, channel", "Integrated Gradients, 8 steps",
                  "8 steps: the bars sum to", "score gap"):
        assert words in caps, (words, caps)


def test_the_report_collects_trains_charts_once(tiny_zoo):
    at = open_link("train", {"tr_depth": "8", "tr_variant": "residual", "tr_epochs": "1", "tr_n": "500"})
    assert not [c for kind, _, c in report(at) if kind == "chart"]  # the tiny zoo has no histories to draw
    at.button(key="tr_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    charts = [(fig, cap) for kind, fig, cap in report(at) if kind == "chart"]
    assert [fig.layout.title.text for fig, _ in charts] == ["Loss", "Accuracy"]  # the final curves, each once
    acc = zoo.card(next(n for n in zoo.list().name if n.startswith("shapes-resnet8-")))["test_acc"]
    assert f"ResNet-8: test accuracy {acc:.1%} after epoch 1" in charts[1][1], charts[1][1]
    assert "ResNet-8: test loss" in charts[0][1]
    tables = [name for kind, _, name in report(at) if kind == "table"]
    assert any(t.startswith("train_history_") for t in tables), tables


def test_the_report_holds_trains_degradation_chart():
    from models.zoo import histories

    if histories("shapes", (20, 56)).empty:
        pytest.skip("no shipped histories to draw")
    at = open_link("train", {})
    charts = [(fig, cap) for kind, fig, cap in report(at) if kind == "chart"]
    assert len(charts) == 1 and "He et al." in charts[0][0].layout.title.text
    assert "Final epoch:" in charts[0][1] and "ResNet-20 training error" in charts[0][1]
