"""Transformer stream: Post-LN vs Pre-LN at init and in a short race without warm-up (Xiong et al., ICML 2020)."""

import streamlit as st

from frame import ui
from models.text import load_corpus
from models.transformer import chance_loss
from viz.charts import transformer as charts
from viz.measures import transformer as T

ui.require_frame(__file__)

DEPTHS = list(T.DEPTHS)


@ui.cache_results(max_entries=16)
def at_init(d_model: int, batch: int, seed: int, skip: tuple):
    return T.init_gradients(DEPTHS, d_model, batch, seed=seed, skip=list(skip))


@ui.cache_results(max_entries=8)
def race(depth: int, lr: float, steps: int, seed: int):
    losses = T.train_race(depth, lr, steps, seed=seed)
    return losses, T.race_summary(losses)


st.title("Transformer stream")
ui.intro("Every transformer layer adds attention and an MLP to a **residual stream**. **Post-LN** (2017) computes "
         "ln(x + F(x)), **Pre-LN** (GPT-2 on) x + F(ln(x)). Tiny character models, probed as the ResNet pages are.")
with ui.controls(), ui.url_bound({"tf_depth": "number of layers", "tf_width": "model width (64 or 128)",
                                  "tf_noskip": "list of layers", "tf_seed": "seed (0 to 10000)"}):
    c = st.columns(4)
    depth = c[0].select_slider("Layers", DEPTHS, value=12, key="tf_depth", bind="query-params",
                               help="Each layer is an attention sublayer and an MLP sublayer.")
    width = c[1].radio("Width d_model", [64, 128], horizontal=True, key="tf_width", bind="query-params",
                       help="The stream's width; 4 heads.")
    batch = ui.number_input(c[2], "Batch (windows of 64 characters)", 2, 64, 16, key="tf_batch", what="batch size",
                            help="How many stretches of the corpus the pass reads.")
    seed = ui.number_input(c[3], "Seed", 0, 10_000, 0, key="tf_seed", what="seed",
                           help="Other initial weights and other windows of text.")
    noskip = st.multiselect("Switch off the skips of these layers (Post-LN and Pre-LN)", list(range(1, 25)),
                            key="tf_noskip", bind="query-params",
                            help="A layer without its skips computes ln(F(x)) (Post-LN) or F(ln(x)) (Pre-LN).")

skips = tuple(layer not in noskip for layer in range(1, max(DEPTHS) + 1))
with ui.guard("probe the transformers at init"):
    with st.spinner(f"One pass through 3 x {len(DEPTHS)} fresh transformers..."):
        grads, streams, ratios = at_init(int(width), int(batch), int(seed), skips)
    paper = st.container()  # the paper's claim above the chart, or under it on a projector's first screen
    ui.show_chart(charts.layer_gradients(grads, ratios, int(depth)))
    (st.container() if ui.presenting() else paper).info(T.PAPER, icon=":material/menu_book:")
    left, right = st.columns(2)
    with left:
        ui.show_chart(charts.ratio_by_depth(ratios))
    with right:
        ui.show_chart(charts.stream_norms(streams, int(depth)))
    ui.tables_expander({"per-layer gradient norm": grads, "stream norm": streams, "last/first": ratios},
                       f"transformer_init_w{width}_s{seed}")

st.subheader("Training without warm-up")
st.markdown("Adam at one constant learning rate from the first step, no warm-up, the same batches for both.")
with ui.controls("Training settings"), ui.url_bound({"tf_race_depth": "number of layers",
                                                     "tf_lr": "learning rate", "tf_steps": "number of steps"}):
    c = st.columns(3)
    race_depth = c[0].select_slider("Layers", [2, 4, 6, 8, 12], value=12, key="tf_race_depth", bind="query-params")
    lr = c[1].select_slider("Learning rate", [3e-4, 1e-3, 3e-3, 1e-2], value=3e-3, key="tf_lr", bind="query-params",
                            format_func=lambda v: f"{v:g}")
    steps = c[2].select_slider("Steps", [30, 60, 100, 150], value=100, key="tf_steps", bind="query-params",
                               help="At 12 layers, 100 steps of both models took about a minute on 2 shared CPU cores.")
if st.button("Race Post-LN and Pre-LN", type="primary", key="tf_race") or st.session_state.get("tf_raced"):
    st.session_state.tf_raced = True
    with ui.guard("train the two transformers"):
        with st.spinner(f"Training both for {steps} steps..."):
            losses, summary = race(int(race_depth), float(lr), int(steps), int(seed))
        c = load_corpus()
        ui.show_chart(charts.race(losses, summary, float(lr), chance_loss(c.vocab_size), T.unigram_loss()))
        st.dataframe(summary, hide_index=True)
        ui.csv_download(losses, f"transformer_race_d{race_depth}", "Download the losses (CSV)")
