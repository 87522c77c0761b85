"""Home: the idea in one line, a live miniature, and a guide to the pages."""

import streamlit as st

from models.data import SHAPES_MEAN, SHAPES_STD
from models.resnet import ResNetConfig
from pages import ui
from viz import gradient_flow_charts as charts

st.title("skiplab")
st.markdown(
    "A residual block outputs **y = F(x) + x**. The block only has to learn a *change* F(x) to its input, "
    "and the `+ x` gives the gradient a path back that skips the block's layers. That is why networks "
    "of a hundred layers and more can be trained (He et al., 2015). Here you can switch the skips off and "
    "measure what happens."
)

left, right = st.columns([1, 2])
with left:
    st.latex(r"y = \mathrm{act}\big(F(x) + x\big)")
    with ui.url_bound({"home_depth": "depth (8, 14, 20, 32, 44, 56 or 110)"}):
        depth = st.select_slider("Depth of the network", [8, 14, 20, 32, 44, 56, 110], value=56, key="home_depth",
                                 bind="query-params")
    st.markdown(
        "The chart runs one real forward and backward pass through a freshly initialised network of this depth "
        "(BatchNorm, ReLU) with its skips on, and again with them off, on 16 built-in images."
    )
with right:
    with ui.guard("run the miniature"):
        cfg = ResNetConfig(depth=depth, mean=SHAPES_MEAN, std=SHAPES_STD)
        traces = [ui.probe_at_init(cfg, 0, 16, "train", (skip,) * 3 * cfg.n) for skip in (True, False)]
        fig, caption = charts.layer_gradients(traces)
        fig.update_layout(height=320, title=None)
        ui.show_chart((fig, caption))

st.subheader("The pages, in the order of a lesson")
GUIDE = [
    ("pages/gradient_flow.py", "Gradient flow", "per-layer gradient norms, the gradient at every block, ||F(x)||/||x|| and "
     "the share of gradient taking the skip, for a residual net and its plain twin with the same weights; at init or trained."),
    ("pages/train.py", "Train", "train a residual or plain net live, watch the curves, and compare the shipped training "
     "histories: the degradation problem of He et al. Fig. 6."),
    ("pages/inspect.py", "Inspect", "upload an image (or use the camera) and look inside every block: x, F(x) and the output, "
     "with switches to cut any skip or branch, and Captum attributions."),
    ("pages/residuals.py", "Residuals", "on trained networks: how small the learned residuals are (He Fig. 7), what deleting "
     "blocks does (Veit et al. 2016) and which path lengths carry the gradient."),
    ("pages/landscape.py", "Loss landscape", "the loss around a trained network along filter-normalized random directions "
     "(Li et al. 2018): smooth with skips, chaotic without."),
    ("pages/shattered.py", "Shattered gradients", "how the gradient with respect to the input turns to noise with depth in "
     "plain nets but not in residual ones (Balduzzi et al. 2017)."),
    ("pages/designs.py", "Skip designs", "gradient flow at init for the designs the residual idea grew into: pre-activation, "
     "bottleneck, inverted residual, dense, highway."),
]
for path, title, what in GUIDE:
    a, b = st.columns([1, 4])
    a.page_link(path, label=title)
    b.markdown(what)

st.markdown(
    """
**What you will see is richer than the textbook story.** With BatchNorm, a deep plain network's gradients
*explode* toward the input at initialisation (Yang et al., 2019). A residual network without normalization
blows up its forward signal (the reason for zero-initialising each branch's last BatchNorm, or Fixup).
Sigmoid and tanh without normalization are where gradients *vanish*.
"""
)
