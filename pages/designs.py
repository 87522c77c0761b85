"""A zoo of skip designs: gradient flow at init for the blocks the residual idea grew into."""

import streamlit as st

from models.blocks import DESIGNS
from pages import ui
from viz import gradient_flow_charts as charts
from viz import landscape_charts as lc


@st.cache_data(max_entries=16, show_spinner=False)
def traces(depth: int, batch: int, seed: int, bn_mode: str):
    return lc.design_traces(depth=depth, batch=batch, seed=seed, bn_mode=bn_mode)


st.title("Skip designs")
st.markdown(
    "The residual idea grew into many blocks. Here each one builds the same CIFAR frame (3 stages, the same "
    "number of blocks, widths 16/32/64), is freshly initialised, and gets one forward and backward pass on the "
    "same `shapes` batch, measured by the same probe as the Gradient-flow page."
)
st.markdown(
    "- **post-activation** (He 2015): act(F(x) + x), F = conv-BN-act-conv-BN\n"
    "- **pre-activation** (He 2016): F(x) + x with F = BN-act-conv-BN-act-conv: nothing after the sum\n"
    "- **bottleneck**: F = 1x1 (to a quarter of the width) - 3x3 - 1x1 (back up)\n"
    "- **inverted residual** (MobileNetV2): 1x1 expand x6 - 3x3 depthwise - 1x1 *linear* projection, no act after the sum\n"
    "- **dense concatenation** (DenseNet-BC style): the output is the input with k = width/4 new channels appended\n"
    "- **highway gate**: act(T·F(x) + (1-T)·x), T a sigmoid gate with bias -2 at init\n"
    "- **plain**: post-activation blocks without the skip"
)
with ui.url_bound({"ds_depth": "depth", "ds_batch": "batch size (2 to 128)", "ds_seed": "seed (0 to 10000)",
                   "ds_bn": "BatchNorm mode"}):
    c = st.columns(4)
    depth = c[0].selectbox("Depth (6n+2: 3n blocks for every design)", [8, 14, 20, 32, 44, 56, 110], index=2,
                           key="ds_depth", bind="query-params")
    batch = c[1].number_input("Batch size", 2, 128, 16, step=2, key="ds_batch", bind="query-params")
    seed = c[2].number_input("Seed", 0, 10_000, 0, key="ds_seed", bind="query-params")
    bn_mode = c[3].radio("BatchNorm mode", ["train", "eval"], horizontal=True, key="ds_bn", bind="query-params")

with ui.guard("build and probe the designs"):
    with st.spinner(f"Forward and backward through {len(DESIGNS)} networks of {3 * ((depth - 2) // 6)} blocks..."):
        tr, table = traces(int(depth), int(batch), int(seed), bn_mode)
    if not all(t.finite for t in tr):
        st.warning("Some numbers overflowed to inf/NaN in float32: see the captions.")
    ui.show_chart(lc.design_gradients(tr))
    ui.show_chart(lc.design_skip_shares(tr))
    st.caption("The designs differ in weight layers per block (2 or 3) and in parameters: the table says how. "
               "Where a stage halves the resolution every design uses the zero-padded identity (option A), "
               "though MobileNetV2 has no skip there; the dense block keeps the width fixed, so each block's new "
               "channels replace its oldest ones (DenseNet keeps them all); the pre-activation net has no final "
               "BN-act before pooling.")
    st.dataframe(table, hide_index=True)
    ui.csv_download(table, f"designs_d{depth}", "Download the table (CSV)")
    with st.expander("Per-block numbers"):
        df = charts.tidy(tr, "blocks")
        st.dataframe(df, hide_index=True, height=240)
        ui.csv_download(df, f"designs_blocks_d{depth}", "Download per-block numbers (CSV)")
