"""Home: the idea in one line, a live miniature, and a guide to the pages."""

import streamlit as st

from models.data import SHAPES_MEAN, SHAPES_STD
from models.resnet import ResNetConfig
from pages import ui
from viz import charts

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
    depth = st.select_slider("Depth of the network", [8, 14, 20, 32, 44, 56, 110], value=56, key="home_depth")
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

st.subheader("The pages")
st.markdown(
    """
- **Gradient flow**: pick depth, normalization, activation, init and shortcut; see per-layer gradient norms,
  the gradient at every block, the size of each residual ||F(x)||/||x|| and how much gradient takes the skip,
  for a residual network and its plain twin with the same weights.

**What you will see is richer than the textbook story.** With BatchNorm, a deep plain network's gradients
*explode* toward the input at initialisation (Yang et al., 2019). A residual network without normalization
blows up its forward signal (the reason for zero-initialising each branch's last BatchNorm, or Fixup).
Sigmoid and tanh without normalization are where gradients *vanish*.
"""
)
