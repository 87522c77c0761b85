"""Loss landscapes (Li et al. 2018): a residual net and its plain twin, along filter-normalized random directions."""

from collections import OrderedDict

import pandas as pd
import streamlit as st

from models import zoo
from models.data import SHAPES_MEAN, SHAPES_STD, load_dataset, make_shapes, subset
from models.resnet import ResNet, ResNetConfig
from pages import ui
from viz import landscape as ls
from viz import landscape_charts as lc

EXPECTED = ["shapes-resnet20", "shapes-plain20", "shapes-resnet56", "shapes-plain56"]
FRESH = "untrained depth 20"


@st.cache_resource(max_entries=2, show_spinner=False)
def fresh_model(skip: bool):
    return ResNet(ResNetConfig(depth=20, skip=skip, mean=SHAPES_MEAN, std=SHAPES_STD), seed=0).eval()


def load_model(name: str):  # a zoo model is cached by ui.zoo_model under its weights' checksum
    return fresh_model(name.endswith("resnet20")) if name.startswith("fresh-") else ui.zoo_model(name)


@st.cache_resource(max_entries=2, show_spinner=False)
def train_images(dataset: str, n: int):
    """n training images of a data set, (n, 3, 32, 32) float in [0, 1], no augmentation: the first n of shapes
    (every class in turn), a fixed random subset of any other (a folder's images come in class order)."""
    if dataset in ("shapes", "fresh"):
        x, y = make_shapes("train", n=n)
    else:
        x, y = load_dataset(dataset, "train")
        keep = subset(len(x), n, 0)
        x, y = x[keep], y[keep]
    return x.float() / 255, y


@st.cache_resource(show_spinner=False)
def store():  # computed grids, shared by sessions: key -> DataFrame (never mutated)
    return OrderedDict()


st.title("Loss landscapes")
st.markdown(
    "The training loss around a trained network, along random directions in weight space (Li et al. 2018): "
    "each direction is scaled **filter by filter** to the norm of the network's own filters, with BatchNorm and "
    "bias directions set to 0, so networks of different scale can be compared. Residual and plain nets of the same "
    "depth are drawn side by side on one colour scale. The model is never changed: every point is a separate forward pass."
)
catalog = zoo.list()
missing = [n for n in EXPECTED if n not in set(catalog.name)]
if missing:
    st.info(f"Not in the model zoo yet: {', '.join(missing)}. Train them on the Train page or with "
            "`python -m models.train`; until then the pairs that exist (and an untrained pair) are offered.")
options = {**ls.pairs(catalog), FRESH: ["fresh-resnet20", "fresh-plain20"]}
with ui.url_bound({"ls_pair": "pair of networks", "ls_dims": "plot", "ls_steps_1d": "number of points (3 to 51)",
                   "ls_steps_2d": "number of points (3 to 51)", "ls_images": "number of images (8 to 2048)",
                   "ls_span": "span (0.1 to 5)", "ls_seed": "seed (0 to 10000)"}):
    c = st.columns([3, 2, 1, 1, 1, 1])
    labels = list(options)  # opens on the built-in data (no download): shapes depth 20, else the first shapes pair
    shapes = [i for i, k in enumerate(labels) if k.startswith("shapes ")]
    pair = c[0].selectbox("Networks", labels, index=labels.index("shapes depth 20") if "shapes depth 20" in labels
                          else (shapes or [0])[0],
                          key="ls_pair", bind="query-params")
    dims = c[1].radio("Plot", ["1-D slice", "2-D surface"], horizontal=True, key="ls_dims", bind="query-params")
    two_d = dims == "2-D surface"
    steps = c[2].number_input("Grid points per axis", 3, 51, 11 if two_d else 21, step=2, bind="query-params",
                              key="ls_steps_2d" if two_d else "ls_steps_1d")
    images = c[3].number_input("Images", 8, 2048, 32, step=8, key="ls_images", bind="query-params")
    span = c[4].number_input("Span ±", 0.1, 5.0, 1.0, step=0.25, key="ls_span", bind="query-params")
    seed = c[5].number_input("Direction seed", 0, 10_000, 0, key="ls_seed", bind="query-params")
if pair == FRESH:
    st.warning("Untrained networks: their landscape says nothing about training; it only shows the machinery.")

with ui.guard("compute the loss landscape"):
    names = options[pair]
    nets = {n: load_model(n) for n in names}
    label = {n: m.config.name + (" (untrained)" if n.startswith("fresh-") else "") for n, m in nets.items()}
    cards = {n: {} if n.startswith("fresh-") else zoo.card(n) for n in names}
    dataset = "fresh" if pair == FRESH else zoo.data_source(cards[names[0]])  # a folder's path, or FileNotFoundError
    x, y = train_images(dataset, int(images))
    cache, tables = store(), {}
    bar = st.progress(0.0, text="")
    for n, m in nets.items():
        key = (n, cards[n].get("sha256", ""), dataset, two_d, int(steps), len(x), float(span), int(seed))  # retrained: new sha
        if key not in cache:
            fn = ls.surface_2d if two_d else ls.slice_1d
            cache[key] = fn(m, x, y, steps=int(steps), span=float(span), seed=int(seed),
                            progress=lambda d, t, n=n: bar.progress(d / t, text=f"{label[n]}: point {d} of {t}"))
            while len(cache) > 64:
                cache.popitem(last=False)
        tables[label[n]] = cache[key]
    bar.empty()

    if two_d:
        tab1, tab2 = st.tabs(["Contours", "3-D surfaces"])
        with tab1:
            ui.show_chart(lc.contour_pair(tables))
        with tab2:
            ui.show_chart(lc.surface_pair(tables))
    else:
        ui.show_chart(lc.slice_1d(tables))
    st.caption(f"{len(x)} training images of `{dataset if dataset != 'fresh' else 'shapes'}` ("
               f"{'' if dataset in ('shapes', 'fresh') else 'a fixed random subset; '}no augmentation), "
               "BatchNorm in eval mode (running statistics), directions drawn with seed "
               f"{int(seed)}{' and ' + str(int(seed) + 1) if two_d else ''}.")
    df = pd.concat([t.assign(network=k) for k, t in tables.items()], ignore_index=True)
    with st.expander("The grid behind the chart"):
        st.dataframe(df, hide_index=True, height=240)
        ui.csv_download(df, f"landscape_{'2d' if two_d else '1d'}_{'_'.join(names)}", "Download the grid (CSV)")
