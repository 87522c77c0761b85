"""Gradient flow: a residual network and its plain twin (same weights, skips off), one pass each, drawn as a network."""

import streamlit as st

from frame import ui
from models import normfree, registry
from models.data import SHAPES_MEAN, SHAPES_STD
from models.resnet import ResNetConfig
from viz.charts import gradient_flow as charts
from viz.charts import network_block, network_overview, network_passes
from viz.charts.style import fmt
from viz.measures import budget, gradient_flow, network
from viz.words import OVERFLOW_NOTE, model_name

ui.require_frame(__file__)

DEPTHS = [6 * n + 2 for n in range(1, 201)]  # 8 .. 1202
# SkipInit and ReZero: without batch norm (Beyond ResNet compares them with Fixup, whose zero classifier leaves every
# other weight, and every block, exactly 0 gradient at init: nothing for this page's views to draw)
INITS = ["kaiming", "xavier", "zero_residual", "skipinit", "rezero"]


def within_budget(depth: int, batch: int):
    """Refuse (OverBudget, a ValueError: `ui.guard` shows its sentence) a pass over the memory budget, before any
    model or batch is made."""
    budget.check(budget.resnet_pass_mb(depth, batch), f"A forward and backward pass through ResNet-{depth} at batch "
                 f"{batch}", f"the batch size to {budget.largest_batch(depth) // 2 * 2} or the depth to "
                 f"{budget.largest_depth(batch)}")


def init_traces():
    c = st.columns(4)
    depth = c[0].selectbox("Depth (6n+2 layers)", DEPTHS, index=DEPTHS.index(56), key="depth", bind="query-params",
                           help="Layers: 3 stages of n blocks, 2 convs each, plus the stem and the head.")
    st.session_state["_gf_depth"] = depth  # the Trained view opens at this depth when the zoo has it
    norm = c[1].radio("Normalization", ["batch", "none"], horizontal=True, key="norm", bind="query-params",
                      help="batch: BatchNorm after every convolution. none: no normalization layer at all.")
    activation = c[2].radio("Activation", ["relu", "tanh", "sigmoid"], horizontal=True, key="activation",
                            bind="query-params", help="The nonlinearity inside each branch and after each addition.")
    init = c[3].selectbox("Init", INITS, key="init", bind="query-params",
                          help="kaiming: He et al. 2015 (fan-in, for ReLU). xavier: Glorot & Bengio 2010. "
                               "zero_residual: Kaiming, with each branch's last BatchNorm γ set to 0 (its last conv "
                               "without BatchNorm), so every F(x) starts at 0. skipinit (De & Smith 2020), rezero "
                               "(Bachlechner et al. 2020): each branch times a learnable α = 0, to train without BN.")
    c = st.columns(4)
    shortcut = c[0].radio("Shortcut", ["A", "B"], horizontal=True, key="shortcut", bind="query-params",
                          help="A: identity, zero-padded where channels double. B: a 1x1 projection there.")
    bn_mode = c[1].radio("BatchNorm mode", ["train", "eval"], horizontal=True, key="bn_mode", bind="query-params",
                         disabled=norm == "none", help="train: this batch's statistics. eval: running ones (1, 0 at init).")
    batch = c[2].number_input("Batch size", 2, 256, 32, step=2, key="batch", bind="query-params",
                              help="How many built-in shapes images go through the network in the one pass.")
    seed = c[3].number_input("Seed", 0, 10_000, 0, key="seed", bind="query-params",
                             help="Picks the initial weights and the images; the same seed gives the same numbers.")
    skip_off = st.multiselect("Switch off the skips of these stages in the residual network", [1, 2, 3], key="skip_off",
                              bind="query-params", help="Stage 1: 32x32, 16 channels; stage 2: 16x16; stage 3: 8x8.")
    if init == "skipinit" and norm == "batch":
        st.info(f"{normfree.NAMES[init]} is a way to train without batch norm: this network is built with "
                "Normalization none.")
        norm = "none"
    with ui.guard("build and probe this network"):
        cfg = ResNetConfig(depth=depth, norm=norm, activation=activation, init=init, shortcut=shortcut,
                           mean=SHAPES_MEAN, std=SHAPES_STD)
        within_budget(depth, int(batch))
        if depth > 200:
            st.info(f"A {depth}-layer network takes a few seconds per pass on a CPU.")
        if init in normfree.SCHEMES:
            st.info(f"{normfree.NAMES[init]}: every residual branch is scaled by a learnable α that starts at 0, so the "
                    "residual net starts as an identity stack, and at init its branches' weights get exactly 0 "
                    "gradient (the α's, the stem and the head learn first): Show → Block gradients draws the gradient "
                    "reaching each block. The plain twin, which has only those branches, passes no signal at all. "
                    "Beyond ResNet compares the schemes with Fixup and batch norm.")
        elif init == "zero_residual" and norm == "batch":
            st.info("Zero-init residual: every branch outputs 0 at init, so the residual net starts as an identity "
                    "stack, and the plain twin, which has only those branches, passes no signal at all.")
        with ui.heavy(f"Forward and backward through ResNet-{depth} and plain-{depth}"):
            skips = tuple(stage + 1 not in skip_off for stage in range(3) for _ in range(cfg.n))
            return [ui.probe_at_init(cfg, int(seed), int(batch), bn_mode, s) for s in (skips, (False,) * len(skips))], cfg
    return None, None


def trained_traces():
    catalog = ui.zoo_catalog()
    catalog = catalog[catalog.built_in_data]
    if catalog.empty:
        st.warning("The zoo has no trained models yet: train one on the Train page.")
        return None, None
    c = st.columns(4)
    sets = sorted(catalog.dataset.unique())  # opens on CIFAR-10 (the published networks, real images) where shipped
    first = registry.opening_dataset(sets) or sets[0]
    dataset = c[0].selectbox("Data set", sets, index=sets.index(first), key="zoo_dataset",
                             bind="query-params", help="The data the zoo's models were trained on and are probed with.")
    depths = sorted(catalog[catalog.dataset == dataset].depth.unique())
    chosen = st.session_state.get("_gf_depth")  # the depth of the At-init view, kept when the zoo has it
    depth = c[1].selectbox("Depth", depths, index=depths.index(chosen) if chosen in depths else 0, key="zoo_depth",
                           bind="query-params", help="The depths the zoo has trained models of.")
    bn_mode = c[2].radio("BatchNorm mode", ["eval", "train"], horizontal=True, key="zoo_bn_mode", bind="query-params",
                         help="eval: the running statistics learned in training. train: this batch's statistics.")
    batch = c[3].number_input("Batch size", 2, 256, 32, step=2, key="zoo_batch", bind="query-params",
                              help="How many of the data set's test images go through each model.")
    try:
        within_budget(int(depth), int(batch))
    except budget.OverBudget as e:
        st.warning(f"Not run: {e}", icon=":material/memory:")  # as ui.guard says a refusal
        return None, None
    names = catalog[(catalog.dataset == dataset) & (catalog.depth == depth)].sort_values("skip", ascending=False).name
    traces, cfg = [], None
    with ui.heavy("Forward and backward through the trained models"):
        for name in names:  # a broken model gets its own message; the others are still drawn
            with ui.guard(f"load and probe {name}"):
                traces.append(ui.probe_trained(name, 0, int(batch), bn_mode))
                traces[-1].name = catalog.set_index("name").label[name]  # "ResNet-56, published weights", "plain-56"
                cfg = cfg or ui.zoo_model(name).config
    if len(names) == 1:
        st.info(f"The zoo has only {model_name(names.iloc[0])} at this depth; train its twin on the Train page to "
                "compare.")
    return traces, cfg


@st.cache_resource(max_entries=16, show_spinner=False)
def passes_chart(key, _traces):
    """The stepped passes (a hundred animation frames: built once per pair of traces; never mutated)."""
    return network_passes.passes(_traces)


LAYERS, BLOCK, PASSES, SHARES = "Layer gradients", "The block", "The passes", "Skip share"  # Show's views
VIEWS = {LAYERS: charts.layer_gradients, BLOCK: None, PASSES: None, "Block gradients": charts.block_gradients,
         "Residual size": charts.residual_ratios, SHARES: charts.skip_shares}


def open_block():  # a block clicked in the picture opens it: the chart under the picture becomes its detail
    if ((st.session_state.get("gf_pick") or {}).get("selection") or {}).get("points"):
        st.session_state["gf_show"] = BLOCK


st.title("Gradient flow")
ui.intro("One forward and backward pass through a residual network and its *plain twin* (the same weights, every "
            "skip removed). Click a block in the picture to open it.")

# presenting: the controls fold into two popovers side by side, so the first chart starts on the first screen
slots = st.columns([1, 1, 3]) if ui.presenting() else [st.container(), st.container()]
BATCH = "batch size (2 to 256)"
with slots[0], ui.url_bound({"bn_mode": "BatchNorm mode", "zoo_bn_mode": "BatchNorm mode", "skip_off": "list of stages",
                             "batch": BATCH, "zoo_batch": BATCH, "seed": "seed (0 to 10000)"}):
    with ui.controls("Settings"):
        source = st.segmented_control("Networks", ["At init", "Trained"], default="At init", key="source",
                                      bind="query-params", help="At init: fresh weights on built-in images. Trained: "
                                      "the zoo's models, each on a batch of its own test data.")
        traces, cfg = trained_traces() if source == "Trained" else init_traces()

if traces:
    if not all(t.finite for t in traces):
        st.warning(OVERFLOW_NOTE)
    resnet = next((t for t in traces if t.blocks.skip.any()), traces[0])
    n = len(resnet.blocks)
    arch = dict(norm=cfg.norm, activation=cfg.activation, shortcut=cfg.shortcut)
    ui.follow_pick("gf_pick", "gf_block", n)
    with slots[1], ui.url_bound({"gf_measure": "measure"}), ui.controls("Block and colour"):
        c = st.columns([3, 1])
        measure = c[0].segmented_control("Colour the blocks by", list(network.MEASURES), default="grad_norm",
                                         format_func=network.LABELS.get, key="gf_measure", bind="query-params",
                                         help="What each block's colour shows; the colour bar says it in words.")
        block = ui.number_input(c[1], "Block", 0, n - 1, "min", key="gf_block", what="block", help="The block "
                                "opened below and marked in every chart; clicking a block's tile in the picture sets it.")
    settings = (block, *arch.values())  # with the traces: everything a chart below depends on
    ui.show_chart(ui.cached_chart(network_overview.network, (ui.trace_key([resnet]), measure, *settings), resnet,
                                  measure or "grad_norm", selected=block, **arch), key="gf_pick", on_select=open_block)
    # one chart at a time under the picture (a first view says one thing); the others are one click away
    with ui.url_bound({"gf_show": "chart"}):
        show = st.segmented_control("Show", list(VIEWS), default=ui.initial("gf_show", LAYERS), key="gf_show",
                                    bind="query-params",
                                    help="Which chart is drawn under the picture; clicking a block opens it.")
    if show == BLOCK:
        ui.show_chart(ui.cached_chart(network_block.block_detail, (ui.trace_key(traces), *settings), traces, block,
                                      **arch))
    elif show == PASSES:
        key = tuple((t.name, t.loss, float(t.blocks.grad_norm.sum())) for t in traces)
        ui.show_chart(passes_chart(key, traces))
    elif show:
        shown = ([t for t in traces if t.blocks.skip.any()] or traces[:1]) if show == SHARES else traces
        ui.show_chart(ui.cached_chart(VIEWS[show], (ui.trace_key(shown), block), shown, mark_block=block))
    st.caption("Loss on this batch: " + ", ".join(f"{t.name} {fmt(t.loss)}" for t in traces) + ".")

    with st.expander("The tables behind the charts"):
        for table in ("layers", "blocks"):
            df = gradient_flow.tidy(traces, table)
            st.dataframe(df, hide_index=True, height=240)
            ui.csv_download(df, f"gradient_flow_{table}", f"Download {table} (CSV)")
