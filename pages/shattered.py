"""Shattered gradients (Balduzzi et al. 2017): df/dx of scalar nets, then of our image classifiers."""

import pandas as pd
import streamlit as st

from frame import ui
from models import zoo
from models.data import dataset_info, make_shapes, which_test_split
from models.resnet import ResNetConfig
from viz.charts import shattered as sc
from viz.measures import budget
from viz.measures import shattered as sh
from viz.measures.common import measuring

ui.require_frame(__file__)

DEPTHS = (1, 2, 4, 8, 16, 32, 50)
FRESH = "untrained depth 20"  # freshly initialised shapes twins
LINE_BATCH = 64  # points of the image line backpropagated at once


@ui.cache_results(max_entries=16)
@measuring()  # each heavy step holds one of the server's measurement slots (viz.measures.common.AT_ONCE)
def curves(depth: int, seed: int):
    nets = [("feedforward", 1), ("feedforward", depth), ("feedforward+bn", depth), ("residual", depth),
            ("residual+bn", depth)]
    return {sh.Net(k, d): (sh.grid().numpy(), sh.line_gradients(k, d, (seed,))[0][0, -1]) for k, d in nets}


@ui.cache_results(max_entries=4)
@measuring()
def sweep(seeds: int) -> pd.DataFrame:
    return sh.sweep(depths=DEPTHS, seeds=seeds)


@st.cache_resource(max_entries=4, show_spinner=False)
def classifier(name: str):
    if name.startswith("fresh-"):
        return ui.init_model(ResNetConfig(depth=20, skip=name == "fresh-resnet20", **ui.SHAPES_STATS), 0)
    return ui.zoo_model(name)


def test_image(name: str, index: int):
    """(image (3, 32, 32) float in [0, 1], label, class name, index used, source) from the model's own test split."""
    ds = "shapes" if name.startswith("fresh-") else zoo.data_source(zoo.card(name))
    split = which_test_split(ds)[0]
    x, y = (make_shapes("test", n=1, start=index) if split == "shapes" else ui.dataset(split, "test"))
    i = 0 if split == "shapes" else index % len(x)
    return x[i].float() / 255, int(y[i]), dataset_info(split).classes[int(y[i])], index if split == "shapes" else i, split


@ui.cache_results(max_entries=32)
@measuring()
def line(name: str, index: int, radius: float, seed: int) -> pd.DataFrame:
    img, label, *_ = test_image(name, index)
    return sh.image_line_gradient(classifier(name), img, label, points=128, radius=radius, seed=seed,
                                    batch=LINE_BATCH)


st.title("Shattered gradients")
finding = (st.sidebar if ui.presenting() else st).empty()  # the page's finding; the projector shows the chart's
finding.info("Measuring 4 kinds of net at 7 depths…", icon=":material/hourglass:")
ui.intro("Nets from one number to one number (200 ReLU units a layer, He init): their gradient df/dx at 256 inputs "
            "in [-2, 2]. In a deep net it can turn into **white noise** (Balduzzi et al. 2017): nearby inputs then "
            "get unrelated gradients.")
with ui.controls(), ui.url_bound({"sh_depth": "depth (2, 4, 8, 16, 24, 32 or 50)", "sh_seed": "seed (0 to 10000)",
                                 "sh_seeds": "number of nets per depth (1 to 10)"}):
    c = [st.container()] * 3 if ui.presenting() else st.columns(3)  # one under another in the folded Settings
    depth = c[0].select_slider("Depth L of the deep nets", [2, 4, 8, 16, 24, 32, 50], value=24, key="sh_depth",
                               bind="query-params",
                               help="Layers (or residual blocks) of the nets whose gradients and autocorrelations are drawn.")
    seed = c[1].number_input("Seed", 0, 10_000, 0, key="sh_seed", bind="query-params",
                             help="Which random initialisation the nets in the charts below get.")
    seeds = c[2].number_input("Nets per depth (sweep)", 1, 10, 3, key="sh_seeds", bind="query-params",
                              help="How many random nets the depth sweep averages: more is steadier and slower.")

SCALAR, CLASSIFIERS = ("The gradients", "Autocorrelation", "Against depth"), "Image classifiers"
with ui.url_bound({"sh_show": "chart", "sh_nets": "choice of networks", "sh_image": "test image (0 to 1999)",
                   "sh_radius": "half-length (0.01, 0.05, 0.1, 0.25, 0.5 or 1)"}):
    left, right = st.columns([4, 1.3], vertical_alignment="bottom")
    show = left.segmented_control("Show", [*SCALAR, CLASSIFIERS], default=SCALAR[0], key="sh_show",
                                  bind="query-params", help="Which chart is drawn: one at a time, each with its finding.")
    pairs = sh.classifier_pairs(ui.zoo_catalog())
    labels = list(pairs.label[pairs.trained]) + [FRESH] + list(pairs.label[~pairs.trained])  # never the default: untrained
    with right.popover("Classifier settings", icon=":material/tune:", width="stretch"):
        which = st.selectbox("Networks (test accuracy: resnet / plain)", labels, key="sh_nets", bind="query-params",
                             help="A resnet and its plain twin from the model zoo (or freshly initialised); a net "
                                  "marked 'never trained' stayed at chance.")
        index = st.number_input("Test image", 0, 1999, 0, key="sh_image", bind="query-params",
                                help="Which test image the line passes through.")
        radius = st.select_slider("Line half-length t", [0.01, 0.05, 0.1, 0.25, 0.5, 1.0], value=0.25, key="sh_radius",
                                  bind="query-params", help="How far the line reaches on each side of the image (RMS "
                                                            "change of a pixel value in [0, 1]).")

cv = df = None
with ui.guard("compute the scalar nets' gradients"):
    with ui.heavy(f"Gradients of the scalar nets at depth {depth} along a line of inputs"):
        cv = curves(int(depth), int(seed))
    if show == SCALAR[0]:
        ui.show_chart(sc.gradient_curves(cv))
    elif show == SCALAR[1]:
        ui.show_chart(sc.autocorrelations(cv))
    with ui.heavy(f"Depth sweep: 4 kinds x 7 depths x {seeds} nets"):
        df = sweep(int(seeds))
    if show == SCALAR[2]:
        ui.show_chart(sc.correlation_depth(df))
    finding.markdown(f"**{sc.headline(df)}**")

if show == CLASSIFIERS:
    if pairs.empty:
        st.info("No trained resnet/plain pair in the model zoo yet: showing freshly initialised networks.")
    with ui.guard("compute the image-line gradients"):
        row = pairs[pairs.label == which]
        names = (row.resnet.iloc[0], row.plain.iloc[0]) if len(row) else ("fresh-resnet20", "fresh-plain20")
        for n in names:
            cfg = classifier(n).config
            budget.check(budget.resnet_pass_mb(cfg.depth, LINE_BATCH, cfg.width), f"Backpropagating {LINE_BATCH} "
                         f"points of the line through {cfg.name} at once", "the networks' depth: choose a shallower pair")
        with ui.heavy("Input gradients of both classifiers along a line through the image"):
            lines = {classifier(n).config.name: line(n, int(index), float(radius), int(seed)) for n in names}
        _, _, cls, used, split = test_image(names[0], int(index))
        acc = {classifier(n).config.name: float(a) for n, a in zip(names, row[["resnet_acc", "plain_acc"]].iloc[0])} \
            if len(row) else None
        ui.show_chart(sc.image_lines(lines, acc))
        st.caption(f"Image {used}: {'an' if cls[0] in 'aeiou' else 'a'} {cls}. From the {split} test split.")
        tidy = pd.concat([d.assign(network=k) for k, d in lines.items()], ignore_index=True)
        ui.csv_download(tidy, f"shattered_image_{index}", "Download image-line gradients (CSV)")

if df is not None:
    with st.expander("The tables behind the charts"):
        grads = pd.DataFrame({"x": next(iter(cv.values()))[0], **{k: g for k, (_, g) in cv.items()}})
        st.dataframe(grads, hide_index=True, height=200)
        ui.csv_download(grads, f"shattered_gradients_L{depth}_s{seed}", "Download gradients (CSV)")
        st.dataframe(df, hide_index=True, height=200)
        ui.csv_download(df, f"shattered_sweep_{seeds}", "Download the depth sweep (CSV)")
