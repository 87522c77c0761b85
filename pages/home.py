"""Home: the idea in one line, a live miniature of the network, and a guide to the pages."""

import streamlit as st

from frame import ui
from models.data import SHAPES_MEAN, SHAPES_STD
from models.resnet import ResNetConfig
from viz.charts import gradient_flow as charts
from viz.charts import network_overview
from viz.charts.style import CONCEPTS, fmt

ui.require_frame(__file__)

# What the app's own probe shows (python -m viz.probe --depth 56 ...: seed 0, 32 shapes images, at init);
# tests/viz/measures/test_network.py runs those probes and checks every number and claim of this text.
TRUTH = (
    "With BatchNorm, a deep plain network's gradient "
    "*explodes* toward the input at init (plain-56: its first layer's is 679 times its last's; Yang et al., 2019). "
    "Without normalization, tanh does not make it vanish (plain-56: 0.895 times), but sigmoid does, in both nets "
    "(ResNet-56: 3.9e-19 times; plain-56: exactly 0), since the sigmoid after each (+) sits on the skip path too."
)

GF_BATCH = 32  # images per probe: the Gradient flow page's default, so both pages show one number

GUIDE = [
    ("pages/lesson.py", "Lesson", "a guided tour: predict, then see."),
    ("pages/gradient_flow.py", "Gradient flow", "the network drawn block by block, its gradients, at init or trained."),
    ("pages/train.py", "Train", "train a residual or plain net live; the degradation problem."),
    ("pages/inspect.py", "Inspect", "your image inside every block: x, F(x) and the output."),
    ("pages/residuals.py", "Residuals", "how small learned residuals are; deleting blocks."),
    ("pages/landscape.py", "Loss landscape", "the loss around trained weights, with and without skips."),
    ("pages/shattered.py", "Shattered gradients", "input gradients turning to noise with depth."),
    ("pages/designs.py", "Skip designs", "pre-activation, bottleneck, dense, highway and more."),
    ("pages/beyond.py", "Beyond ResNet", "what each block does to its input; deep nets without batch norm."),
    ("pages/transformer.py", "Transformer stream", "the same skip in a transformer: Post-LN against Pre-LN."),
]


def miniature(trace):
    fig, caption = network_overview.network(trace, "grad_norm", height=260)
    return fig.update_layout(title=None, margin=dict(t=10)), caption


def gradients(traces):
    fig, caption = charts.layer_gradients(traces)
    return fig.update_layout(height=300, title=None), caption


st.title("skiplab")
st.markdown(
    "A residual block outputs **y = F(x) + x**: it learns only a *change* F(x), and the `+ x` gives the gradient a "
    "path back past its layers, which is why networks of a hundred layers and more train (He et al., 2015)."
)

st.markdown("Colours on every page: " + " · ".join(
    f"<span style='color:{c}; font-weight:600'>■ {what}</span>" for what, c in CONCEPTS.items()),
    unsafe_allow_html=True)  # the key of the one visual language (viz.charts.style.CONCEPTS)

left, right = st.columns([1, 2])
with left:
    st.latex(r"y = \mathrm{act}\big(F(x) + x\big)")
    with ui.url_bound({"home_depth": "depth (8, 14, 20, 32, 44, 56 or 110)", "home_zero": "switch"}):
        depth = st.select_slider("Depth of the network", [8, 14, 20, 32, 44, 56, 110], value=56, key="home_depth",
                                 bind="query-params", help="Layers of the network drawn and probed on the right.")
        zero = st.toggle("Start every F(x) at 0", key="home_zero", bind="query-params",
                         help="Zero-init: each branch's last BatchNorm γ is 0, so every block starts as the identity.")
with right:
    with ui.guard("run the miniature"):
        cfg = ResNetConfig(depth=depth, init="zero_residual" if zero else "kaiming", mean=SHAPES_MEAN, std=SHAPES_STD)
        # Gradient flow's defaults (seed 0, 32 images, BatchNorm in train mode): its page shows the same numbers
        with st.spinner(f"Building ResNet-{depth} and its plain twin: one pass each through {GF_BATCH} images..."):
            traces = [ui.probe_at_init(cfg, 0, GF_BATCH, "train", (skip,) * 3 * cfg.n) for skip in (True, False)]
        B = traces[0].blocks
        ui.show_chart(ui.cached_chart(miniature, ui.trace_key(traces[:1]), traces[0]))
        with left:
            same = int(((B.out_norm - B.x_norm).abs() <= 1e-4 * B.x_norm).sum())
            if zero:
                st.caption(f"F(x) = 0 makes y = act(x) = x (x ≥ 0 after a ReLU): ||out|| = ||x|| in {same} of "
                           f"{len(B)} blocks; the others subsample x where the shape changes.")
            else:
                st.caption(f"At init ||F(x)|| is a median {fmt(float(B.residual_ratio.median()))} times ||x||. "
                           "With F(x) = 0 the block is the identity: y = x.")
        ui.show_chart(ui.cached_chart(gradients, ui.trace_key(traces), traces))

st.subheader("The pages, in the order of a lesson")
for path, title, what in GUIDE:
    a, b = st.columns([1, 4])
    a.page_link(path, label=title)
    b.markdown(what)

with st.expander("What you will see is richer than the textbook story"):  # (one click away: the first view is short)
    st.markdown(TRUTH)
