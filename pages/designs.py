"""A zoo of skip designs: gradient flow at init for the blocks the residual idea grew into."""

import streamlit as st

from frame import ui
from models.blocks import DESIGNS
from viz.charts import designs as dc
from viz.measures import designs as D
from viz.measures import gradient_flow
from viz.words import OVERFLOW_NOTE

ui.require_frame(__file__)


@ui.cache_results(max_entries=16)
def traces(depth: int, batch: int, seed: int, bn_mode: str):
    return D.design_traces(depth=depth, batch=batch, seed=seed, bn_mode=bn_mode)


st.title("Skip designs")
ui.intro("The residual idea grew into many blocks. Each design below builds the same CIFAR frame (3 stages, the "
            "same number of blocks), freshly initialised, and gets one forward and backward pass on the same images.")
with st.expander("The designs"):
    st.markdown(
        "- **post-activation** (He 2015): act(F(x) + x), F = conv-BN-act-conv-BN\n"
        "- **pre-activation** (He 2016): F(x) + x with F = BN-act-conv-BN-act-conv: nothing after the sum\n"
        "- **bottleneck**: F = 1x1 (to a quarter of the width) - 3x3 - 1x1 (back up)\n"
        "- **inverted residual** (MobileNetV2): 1x1 expand x6 - 3x3 depthwise - 1x1 *linear* projection, no act "
        "after the sum\n"
        "- **dense concatenation** (DenseNet-BC style): the output is the input with k = width/4 new channels appended\n"
        "- **highway gate**: act(T·F(x) + (1-T)·x), T a sigmoid gate with bias -2 at init\n"
        "- **plain**: post-activation blocks without the skip\n\n"
        "Where a stage halves the resolution every design uses the zero-padded identity (option A), though MobileNetV2 "
        "has no skip there; the dense block keeps the width fixed, so each block's new channels replace its oldest ones "
        "(DenseNet keeps them all); the pre-activation net has no final BN-act before pooling.")
with ui.controls(), ui.url_bound({"ds_depth": "depth", "ds_bn": "BatchNorm mode"}):
    c = st.columns(4)
    depth = c[0].selectbox("Depth (6n+2: 3n blocks for every design)", [8, 14, 20, 32, 44, 56, 110], index=2,
                           key="ds_depth", bind="query-params", help="The same number of blocks for every design.")
    batch = ui.number_input(c[1], "Batch size", 2, 128, 16, step=2, key="ds_batch", what="batch size",
                            help="How many built-in images the pass runs on.")
    seed = ui.number_input(c[2], "Seed", 0, 10_000, 0, key="ds_seed", what="seed",
                           help="Other initial weights and other images.")
    bn_mode = c[3].radio("BatchNorm mode", ["train", "eval"], horizontal=True, key="ds_bn", bind="query-params",
                         help="train: batch statistics. eval: running statistics (1 and 0 at init).")

with ui.guard("build and probe the designs"):
    with st.spinner(f"Forward and backward through {len(DESIGNS)} networks of {3 * ((depth - 2) // 6)} blocks..."):
        tr, table = traces(int(depth), int(batch), int(seed), bn_mode)
    if not all(t.finite for t in tr):
        st.warning(OVERFLOW_NOTE)
    ui.show_chart(dc.design_gradients(tr))
    ui.show_chart(dc.design_skip_shares(tr))
    st.dataframe(table.rename(columns=D.COLUMN_NAMES), hide_index=True, width="stretch")
    ui.csv_download(table, f"designs_d{depth}", "Download the table (CSV)")
    with st.expander("Per-block numbers"):
        df = gradient_flow.tidy(tr, "blocks")
        st.dataframe(df, hide_index=True, height=240)
        ui.csv_download(df, f"designs_blocks_d{depth}", "Download per-block numbers (CSV)")
