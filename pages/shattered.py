"""Shattered gradients (Balduzzi et al. 2017): df/dx of scalar nets, then of our image classifiers."""

import pandas as pd
import streamlit as st

from models import zoo
from models.data import SHAPES_CLASSES, SHAPES_MEAN, SHAPES_STD, make_shapes
from models.resnet import ResNet, ResNetConfig
from pages import ui
from viz import landscape_charts as lc
from viz import shattered as sh

DEPTHS = (1, 2, 4, 8, 16, 32, 50)


@st.cache_data(max_entries=16, show_spinner=False)
def curves(depth: int, seed: int):
    nets = [("feedforward", 1), ("feedforward", depth), ("feedforward+bn", depth), ("residual", depth), ("residual+bn", depth)]
    return {f"{k}, L = {d}": sh.scalar_gradients(k, d, seed=seed) for k, d in nets}


@st.cache_data(max_entries=4, show_spinner=False)
def sweep(seeds: int) -> pd.DataFrame:
    return sh.correlation_vs_depth(depths=DEPTHS, seeds=seeds)


@st.cache_resource(max_entries=4, show_spinner=False)
def classifier(name: str):
    if name.startswith("fresh-"):
        return ResNet(ResNetConfig(depth=20, skip="resnet" in name, mean=SHAPES_MEAN, std=SHAPES_STD), seed=0).eval()
    return ui.zoo_model(name)


@st.cache_data(max_entries=32, show_spinner=False)
def line(name: str, index: int, radius: float, seed: int) -> pd.DataFrame:
    x, y = make_shapes("test", n=1, start=index)
    return sh.image_line_gradient(classifier(name), x[0].float() / 255, int(y[0]), points=128, radius=radius, seed=seed)


st.title("Shattered gradients")
st.markdown(
    "Take a network from one number to one number (200 ReLU units a layer, He init) and plot its gradient "
    "df/dx at 256 points in [-2, 2] (Balduzzi et al. 2017). A shallow net's gradient is piecewise constant: "
    "it jumps where a unit switches on or off. Deep feedforward nets switch so many units that the gradient "
    "looks like **white noise**: it carries little information about nearby inputs. Skip connections keep it "
    "correlated. BN here normalizes each unit over the 256 points."
)
with ui.url_bound({"sh_depth": "depth (2, 4, 8, 16, 24, 32 or 50)", "sh_seed": "seed (0 to 10000)",
                   "sh_seeds": "number of nets per depth (1 to 10)"}):
    c = st.columns(3)
    depth = c[0].select_slider("Depth L of the deep nets", [2, 4, 8, 16, 24, 32, 50], value=24, key="sh_depth",
                               bind="query-params")
    seed = c[1].number_input("Seed", 0, 10_000, 0, key="sh_seed", bind="query-params")
    seeds = c[2].number_input("Nets per depth (sweep)", 1, 10, 3, key="sh_seeds", bind="query-params")

with ui.guard("compute the scalar nets' gradients"):
    cv = curves(int(depth), int(seed))
    ui.show_chart(lc.gradient_curves(cv))
    left, right = st.columns(2)
    with left:
        ui.show_chart(lc.autocorrelations(cv))
    with right:
        with st.spinner("Depth sweep: 4 kinds x 7 depths..."):
            df = sweep(int(seeds))
        ui.show_chart(lc.correlation_depth(df))
    with st.expander("The tables behind the charts"):
        grads = pd.DataFrame({"x": next(iter(cv.values()))[0], **{k: g for k, (_, g) in cv.items()}})
        st.dataframe(grads, hide_index=True, height=200)
        ui.csv_download(grads, f"shattered_gradients_L{depth}_s{seed}", "Download gradients (CSV)")
        st.dataframe(df, hide_index=True, height=200)
        ui.csv_download(df, f"shattered_sweep_{seeds}", "Download the depth sweep (CSV)")

st.subheader("The same on our image classifiers")
st.markdown("The gradient of the true class's logit along a straight line through a `shapes` test image, "
            "image + t·u at 128 points, with u a random direction (t is the typical change of one pixel value).")
have = set(zoo.list().name)
pairs = [(f"shapes-resnet{d}", f"shapes-plain{d}") for d in (20, 56) if {f"shapes-resnet{d}", f"shapes-plain{d}"} <= have]
labels = [f"trained depth {p[0][13:]}" for p in pairs] + ["untrained depth 20"]
with ui.url_bound({"sh_nets": "choice of networks", "sh_image": "test image (0 to 1999)",
                   "sh_radius": "half-length (0.01, 0.05, 0.1, 0.25, 0.5 or 1)"}):
    c = st.columns(3)
    which = c[0].selectbox("Networks", labels, key="sh_nets", bind="query-params")
    index = c[1].number_input("Test image", 0, 1999, 0, key="sh_image", bind="query-params")
    radius = c[2].select_slider("Line half-length t", [0.01, 0.05, 0.1, 0.25, 0.5, 1.0], value=0.25, key="sh_radius",
                                bind="query-params")
if not pairs:
    st.info("No trained shapes-resnet/plain pair in the model zoo yet: showing freshly initialised networks.")
with ui.guard("compute the image-line gradients"):
    names = pairs[labels.index(which)] if which in labels[:-1] else ("fresh-resnet20", "fresh-plain20")
    lines = {classifier(n).config.name: line(n, int(index), float(radius), int(seed)) for n in names}
    st.caption(f"Image {int(index)}: a {SHAPES_CLASSES[int(index) % 10]}.")
    ui.show_chart(lc.image_lines(lines))
    tidy = pd.concat([d.assign(network=k) for k, d in lines.items()], ignore_index=True)
    ui.csv_download(tidy, f"shattered_image_{index}", "Download image-line gradients (CSV)")
