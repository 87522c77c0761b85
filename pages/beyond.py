"""Beyond ResNet: what each block does to its input (iterative refinement, Jastrzebski et al. 2018), and residual
networks without batch norm (Fixup, SkipInit, ReZero)."""

import pandas as pd
import streamlit as st

from frame import ui
from models import zoo
from viz.charts import normfree as nc
from viz.charts import refinement as rc
from viz.measures import normfree as nf
from viz.measures import refinement as rf

ui.require_frame(__file__)

PAIRS = {  # label -> (residual net, its plain twin or None)
    "ResNet-56 (published) and plain-56": ("cifar10-resnet56-published", "cifar10-plain56"),
    "ResNet-20 (published) and plain-20": ("cifar10-resnet20-published", "cifar10-plain20"),
    "ResNet-32 (published)": ("cifar10-resnet32-published", None),
    "ResNet-44 (published)": ("cifar10-resnet44-published", None),
}
REFINE, NORMFREE = "Iterative refinement", "Without batch norm"


@ui.cache_results(max_entries=16)
def refinement_table(name: str, sha256: str, images: int) -> pd.DataFrame:
    split, _ = rf.test_images(zoo.card(name))
    x, y = ui.dataset(split, "test")
    return rf.refinement(ui.zoo_model(name), x[:images], y[:images])


@ui.cache_results(max_entries=8)
def gradients_at_init(depth: int):
    layers, blocks = nf.at_init((depth,))
    return layers, blocks, nf.summary(layers, blocks)


@ui.cache_results(max_entries=2)
def live_runs() -> dict:
    """The live run, the same for every session (fixed seeds): the first class to press the button waits for it."""
    return nf.live_training()


st.title("Beyond ResNet")
finding = (st.sidebar if ui.presenting() else st).empty()  # presenting: the chart's own finding is above it
with ui.controls():
    with ui.url_bound({"by_view": "view"}):
        view = st.segmented_control("Show", [REFINE, NORMFREE], default=REFINE, key="by_view", bind="query-params",
                                    help="What each block does to its input, or training deep nets without batch norm.")
    if view == NORMFREE:
        with ui.url_bound({"by_depth": "depth (20, 32, 56 or 110)"}):
            depth = st.select_slider("Depth", [20, 32, 56, 110], value=56, key="by_depth", bind="query-params",
                                     help="Weight layers of every net compared (6n+2).")
    else:
        with ui.url_bound({"by_pair": "network", "by_images": "number of test images (16 to 932)"}):
            c = st.columns([3, 1])
            pair = c[0].selectbox("Network", list(PAIRS), key="by_pair", bind="query-params",
                                  help="A published ResNet (akamaster's) and, where skiplab has one, its plain twin.")
            images = c[1].number_input("Test images", 16, 932, 256, step=16, key="by_images", bind="query-params",
                                       help="How many of the shipped CIFAR-10 test images the cosines average over.")

if view == NORMFREE:
    ui.intro("Without batch norm, a deep net's signal and gradient can explode or vanish with depth. **Fixup**, "
             "**SkipInit** and **ReZero** start every residual branch at zero, so each block starts as the "
             "identity. Below: each net at init, one pass on 32 shapes images.")
    with ui.guard("measure the nets at init"), st.spinner(f"Probing 6 nets of depth {depth} at init..."):
        layers, blocks, summ = gradients_at_init(int(depth))
        ui.show_chart(nc.gradients_at_init(blocks, summ, int(depth)))
        finding.markdown(f"**{nc.finding(summ, int(depth))}**")
        with st.expander("The table behind the chart"):
            st.dataframe(summ, hide_index=True)
            ui.csv_download(blocks, f"normfree_blocks_{depth}", "Download per-block norms (CSV)")
    st.subheader("Live: ReZero without BN against the plain net without BN")
    cfg = nf.LIVE
    st.caption(f"Depth {cfg['depth']}, width {cfg['width']}, {cfg['limit']} shapes images, batch {cfg['batch_size']}, "
               f"{cfg['epochs']} epochs, learning rate {cfg['lr']} (cosine), seed {cfg['seed']}; about a minute.")
    if st.button("Train both", type="primary", key="by_train", help="Trains the two nets one after the other."):
        st.session_state["by_trained"] = True
    if st.session_state.get("by_trained"):
        with ui.guard("train the two nets"), st.spinner("Training ReZero, then the plain net..."):
            runs = live_runs()
            ui.show_chart(nc.training_curves({k: r["losses"] for k, r in runs.items()}))
            st.caption(" ".join(f"{k}: {r['status']}, test accuracy {r['test_acc']:.1%}." for k, r in runs.items()))
else:
    ui.intro("In a residual net each block adds F_i(h_i) to its input h_i. Jastrzebski et al. (2018): that step "
             "points **down the loss**, like a gradient step, in most blocks. Measured here on trained networks "
             "and real CIFAR-10 test images.")
    names = [n for n in PAIRS[pair] if n and n in set(zoo.list().name)]
    if not names:
        st.info("This network is not in the model zoo on this machine.")
    with ui.guard("measure the blocks"), st.spinner(f"One forward and backward pass on {images} images..."):
        tables = {n: refinement_table(n, ui.weights_id(n), int(images))
                  for n in names}
        if tables:
            summaries = {k: rf.summary(t) for k, t in tables.items()}
            fig_caption = rc.refinement_chart(tables, summaries)
            ui.show_chart(fig_caption)
            finding.markdown(f"**{fig_caption[1].headline}**")
            st.caption(f"Images: {rf.test_images(zoo.card(names[0]))[1]}.")
            with st.expander("The table behind the chart"):
                st.dataframe(rc.table_for_download(tables), hide_index=True)
                ui.csv_download(rc.table_for_download(tables), "refinement", "Download the table (CSV)")
