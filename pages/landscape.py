"""Loss landscapes (Li et al. 2018): a residual net and its plain twin, along filter-normalized random directions."""

import pandas as pd
import streamlit as st

from frame import ui
from models import zoo
from models.resnet import ResNetConfig
from viz.charts import landscape as lc
from viz.measures import budget
from viz.measures import landscape as ls

ui.require_frame(__file__)

EXPECTED = ["shapes-resnet20", "shapes-plain20", "shapes-resnet56", "shapes-plain56"]
DEFAULTS = ["cifar10 depth 56", "shapes depth 20"]  # our trained twins, CIFAR-10 first (He et al.'s Fig. 6 pair)
FRESH = "untrained depth 20"


def load_model(name: str):  # a zoo model is cached by ui.zoo_model under its weights' checksum
    if name.startswith("fresh-"):
        return ui.init_model(ResNetConfig(depth=20, skip=name.endswith("resnet20"), **ui.SHAPES_STATS), 0)
    return ui.zoo_model(name)


@st.cache_resource(max_entries=4, show_spinner=False)
def loss_images(dataset: str, n: int):
    """viz.measures.landscape.loss_images, shared by sessions."""
    return ls.loss_images(dataset, n)


@ui.cache_results(max_entries=1024)
def loss_part(name: str, sha: str, dataset: str, two_d: bool, steps: int, n: int, span: float, seed: int, a: int,
              b: int) -> pd.DataFrame:
    """Points a..b of one model's 1-D slice or 2-D surface, shared by sessions (a retrained model has a new sha)."""
    x, y, _, _ = loss_images(dataset, n)
    return ls.grid_part(load_model(name), x, y, two_d, steps, span, seed, a, b)


@ui.cache_results(max_entries=64)
def curvature(name: str, sha: str, dataset: str, two_d: bool, n: int, span: float, seed: int) -> pd.DataFrame:
    """The Hessian's extreme eigenvalues at points of the plane (viz.measures.landscape.curvature), shared by sessions."""
    x, y, _, _ = loss_images(dataset, n)
    return ls.curvature(load_model(name), x, y, two_d, span, seed)


st.title("Loss landscapes")
ui.intro("The loss around a trained network along random directions in weight space, each scaled "
            "**filter by filter** to the network's own filters (Li et al. 2018), so that a residual net and its plain "
            "twin of the same depth can be drawn side by side on one scale.")
catalog = ui.zoo_catalog()
missing = [n for n in EXPECTED if n not in set(catalog.name)]
if missing:
    st.info(f"Not in the model zoo yet: {', '.join(missing)}. Train them on the Train page or with "
            "`python -m models.train`; until then the pairs that exist (and an untrained pair) are offered.")
options = {**ls.pairs(catalog), FRESH: ["fresh-resnet20", "fresh-plain20"]}
with ui.controls(), ui.url_bound({"ls_pair": "pair of networks", "ls_dims": "plot"}):
    c = st.columns([3, 2, 1, 1, 1, 1])
    labels = list(options)
    first = next((k for k in DEFAULTS if k in labels), next((k for k in labels if k.startswith("shapes ")), labels[0]))
    pair = c[0].selectbox("Networks", labels, index=labels.index(first), key="ls_pair", bind="query-params",
                          help="A residual network and its plain twin (same data set and depth).")
    dims = c[1].radio("Plot", ["1-D slice", "2-D surface"], horizontal=True, key="ls_dims", bind="query-params",
                      help="One random direction, or a grid over two.")
    two_d = dims == "2-D surface"
    steps = ui.number_input(c[2], "Grid points per axis", 3, 51, 11 if two_d else 21, step=2, what="number of points",
                            key="ls_steps_2d" if two_d else "ls_steps_1d", help="More points: a finer picture, slower.")
    images = ui.number_input(c[3], "Images", 8, 2048, 32, step=8, key="ls_images", what="number of images",
                             help="How many images the loss is averaged over.")
    span = ui.number_input(c[4], "Span ±", 0.1, 5.0, 1.0, step=0.25, key="ls_span", what="span",
                           help="How far from the trained weights, in filter norms.")
    seed = ui.number_input(c[5], "Direction seed", 0, 10_000, 0, key="ls_seed", what="seed",
                           help="Draws other random directions.")
if pair == FRESH:
    st.warning("Untrained networks: their landscape says nothing about training; it only shows the machinery.")
elif "never trained" in pair:
    st.warning("One of these networks never trained (its test accuracy is at chance): its surface is that of an "
               "untrained net, not of a plain net that learned.")

with ui.guard("compute the loss landscape"):
    names = options[pair]
    nets = {n: load_model(n) for n in names}
    label = {n: m.config.name + (" (untrained)" if n.startswith("fresh-") else "") for n, m in nets.items()}
    dataset = "fresh" if pair == FRESH else zoo.data_source(zoo.card(names[0]))  # a folder's path, or FileNotFoundError
    deepest = max(nets.values(), key=lambda m: m.config.depth * m.config.width).config
    budget.check_setting(lambda n: budget.landscape_mb(deepest.depth, n, deepest.width), int(images), 8,
                         f"The landscape of {deepest.name} over {int(images)} images", "the number of images")
    x, y, split, what = loss_images(dataset, int(images))
    points = int(steps) ** (2 if two_d else 1)
    parts = [(a, b) for a in range(0, points, max(1, points // 8)) for b in [min(points, a + max(1, points // 8))]]
    jobs = {label[n]: [(n, "" if n.startswith("fresh-") else ui.weights_id(n), dataset, two_d, int(steps), len(x),
                        float(span), int(seed), a, b) for a, b in parts] for n in nets}
    tables = ui.run_steps(loss_part, jobs, "Loss at each point")
    skips = {label[n]: m.config.skip for n, m in nets.items()}
    with st.spinner("The Hessian's extreme eigenvalues (Li et al.'s criterion)..."):
        curv = {label[n]: curvature(n, jobs[label[n]][0][1], dataset, two_d, len(x), float(span), int(seed))
                for n in nets}
    if two_d:
        tab1, tab2 = st.tabs(["Contours", "3-D surfaces"])
        with tab1:
            ui.show_chart(lc.contour_pair(tables, skips, split, curv))
        with tab2:
            ui.show_chart(lc.surface_pair(tables, split))
    else:
        ui.show_chart(lc.slice_1d(tables, skips, split, curv))
    st.caption(f"The loss is over {what}; BatchNorm in eval mode (running statistics); directions drawn with seed "
               f"{int(seed)}{' and ' + str(int(seed) + 1) if two_d else ''}.")
    df = pd.concat([t.assign(network=k) for k, t in tables.items()], ignore_index=True)
    with st.expander("The grid behind the chart"):
        st.dataframe(df, hide_index=True, height=240)
        ui.csv_download(df, f"landscape_{'2d' if two_d else '1d'}_{'_'.join(names)}", "Download the grid (CSV)")
