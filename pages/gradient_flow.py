"""Gradient flow: a residual network and its plain twin (same weights, skips off), one pass each."""

import streamlit as st

from models.data import SHAPES_MEAN, SHAPES_STD
from models.resnet import ResNetConfig
from pages import ui
from viz import gradient_flow_charts as charts
from viz.style import fmt

DEPTHS = [6 * n + 2 for n in range(1, 201)]  # 8 .. 1202


def init_traces():
    c = st.columns(4)
    depth = c[0].selectbox("Depth (6n+2 layers)", DEPTHS, index=DEPTHS.index(56), key="depth", bind="query-params")
    norm = c[1].radio("Normalization", ["batch", "none"], horizontal=True, key="norm", bind="query-params",
                      help="batch: BatchNorm after every convolution. none: no normalization layer at all.")
    activation = c[2].radio("Activation", ["relu", "tanh", "sigmoid"], horizontal=True, key="activation",
                            bind="query-params")
    init = c[3].selectbox("Init", ["kaiming", "xavier", "zero_residual"], key="init", bind="query-params",
                          help="kaiming: He et al. 2015 (fan-in, for ReLU). xavier: Glorot & Bengio 2010. "
                               "zero_residual: Kaiming, with each branch's last BatchNorm γ set to 0 (its last conv "
                               "without BatchNorm), so every F(x) starts at 0.")
    c = st.columns(4)
    shortcut = c[0].radio("Shortcut", ["A", "B"], horizontal=True, key="shortcut", bind="query-params",
                          help="A: identity, zero-padded where channels double. B: a 1x1 projection there.")
    bn_mode = c[1].radio("BatchNorm mode", ["train", "eval"], horizontal=True, key="bn_mode", bind="query-params",
                         disabled=norm == "none",
                         help="train: batch statistics, as during training. eval: running statistics (1 and 0 at init).")
    batch = c[2].number_input("Batch size", 2, 256, 32, step=2, key="batch", bind="query-params")
    seed = c[3].number_input("Seed", 0, 10_000, 0, key="seed", bind="query-params")
    skip_off = st.multiselect("Switch off the skips of these stages in the residual network", [1, 2, 3], key="skip_off",
                              bind="query-params",
                              help="Stage 1 works at 32x32 with 16 channels, stage 2 at 16x16, stage 3 at 8x8.")
    with ui.guard("build and probe this network"):
        cfg = ResNetConfig(depth=depth, norm=norm, activation=activation, init=init, shortcut=shortcut,
                           mean=SHAPES_MEAN, std=SHAPES_STD)
        if depth > 200:
            st.info(f"A {depth}-layer network takes a few seconds per pass on a CPU.")
        if init == "zero_residual" and norm == "batch":
            st.info("Zero-init residual: every branch outputs 0 at init, so the residual net starts as an identity "
                    "stack, and the plain twin, which has only those branches, passes no signal at all.")
        with st.spinner(f"Forward and backward through ResNet-{depth} and plain-{depth}..."):
            skips = tuple(stage + 1 not in skip_off for stage in range(3) for _ in range(cfg.n))
            return [ui.probe_at_init(cfg, int(seed), int(batch), bn_mode, s) for s in (skips, (False,) * len(skips))]


def trained_traces():
    catalog = ui.zoo_catalog()
    catalog = catalog[catalog.dataset.isin(["shapes", "cifar10"])]
    if catalog.empty:
        st.warning("The zoo has no trained models yet: train one on the Train page.")
        return None
    c = st.columns(4)
    sets = sorted(catalog.dataset.unique())  # opens on the built-in shapes (no download) where the zoo has it
    dataset = c[0].selectbox("Data set", sets, index=sets.index("shapes") if "shapes" in sets else 0, key="zoo_dataset",
                             bind="query-params")
    depths = sorted(catalog[catalog.dataset == dataset].depth.unique())
    depth = c[1].selectbox("Depth", depths, key="zoo_depth", bind="query-params")
    bn_mode = c[2].radio("BatchNorm mode", ["eval", "train"], horizontal=True, key="zoo_bn_mode", bind="query-params",
                         help="eval: the running statistics learned in training. train: this batch's statistics.")
    batch = c[3].number_input("Batch size", 2, 256, 32, step=2, key="zoo_batch", bind="query-params")
    names = catalog[(catalog.dataset == dataset) & (catalog.depth == depth)].sort_values("skip", ascending=False).name
    traces = []
    with st.spinner("Forward and backward through the trained models..."):
        for name in names:  # a broken model gets its own message; the others are still drawn
            with ui.guard(f"load and probe {name}"):
                traces.append(ui.probe_trained(name, 0, int(batch), bn_mode))
    if len(names) == 1:
        st.info(f"The zoo has only {names.iloc[0]} at this depth; train its twin on the Train page to compare.")
    return traces


st.title("Gradient flow")
st.markdown(
    "One forward and backward pass through a residual network and its plain counterpart. **At init**: a "
    "fresh network and its *plain twin* with the very same weights, every skip removed, on built-in `shapes` "
    "images. **Trained**: the zoo's residual and plain networks of one depth, on their own test data."
)

with ui.url_bound({"bn_mode": "BatchNorm mode", "zoo_bn_mode": "BatchNorm mode", "skip_off": "list of stages",
                   "batch": "batch size (2 to 256)", "zoo_batch": "batch size (2 to 256)",
                   "seed": "seed (0 to 10000)"}):
    source = st.segmented_control("Networks", ["At init", "Trained"], default="At init", key="source",
                                  bind="query-params",
                                  help="Trained: models of the zoo, each on a batch of its own test data.")
    if source == "Trained":
        traces = trained_traces()
    else:
        traces = init_traces()
if traces:
    if not all(t.finite for t in traces):
        st.warning("Some numbers overflowed to inf/NaN in float32: see the captions. This is the physics, not a bug.")
    ui.show_chart(charts.layer_gradients(traces))
    left, right = st.columns(2)
    with left:
        ui.show_chart(charts.block_gradients(traces))
    with right:
        ui.show_chart(charts.residual_ratios(traces))
    ui.show_chart(charts.skip_shares([t for t in traces if t.blocks.skip.any()] or traces[:1]))
    st.caption("Loss on this batch: " + ", ".join(f"{t.name} {fmt(t.loss)}" for t in traces) + ".")

    with st.expander("The tables behind the charts"):
        for table in ("layers", "blocks"):
            df = charts.tidy(traces, table)
            st.dataframe(df, hide_index=True, height=240)
            ui.csv_download(df, f"gradient_flow_{table}", f"Download {table} (CSV)")
