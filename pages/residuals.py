"""Residuals: what trained networks learned (He et al. 2015 Fig. 7), lesions and gradient paths (Veit et al. 2016)."""

import numpy as np
import pandas as pd
import streamlit as st

from models import zoo
from pages import ui
from viz import residual_charts as rc
from viz import residuals as R

WANTED = ["resnet20", "plain20", "resnet56", "plain56", "resnet110", "plain110"]  # He et al.'s Fig. 7 set
VIEWS = ["Residual sizes", "Lesions", "Gradient paths", "Switches"]  # (their values are what a link holds)
CHUNK = 250


@st.cache_data(max_entries=4096, show_spinner=False)
def chunk(kind: str, name: str, sha: str, dataset: str, a: int, b: int, arg=None):
    """One cached unit of work: sums over test images a..b (or one path length k)."""
    m, (x, y) = ui.zoo_model(name), ui.dataset(dataset, "test")
    if kind == "responses":
        return R.response_sums(m, x[a:b])
    if kind == "settings":
        return R.setting_sums(m, x[a:b], y[a:b], arg)
    k, samples, seed = arg
    return R.path_gradient_sums(m, x[a:b], y[a:b], [k], samples, seed=seed)


def run(jobs, what):
    """jobs: {name: [chunk args]} -> {name: concatenated sums}; a progress bar, stoppable between chunks."""
    total, done, out = sum(map(len, jobs.values())), 0, {}
    bar = st.progress(0.0, text=what)
    for name, args in jobs.items():
        parts = []
        for arg in args:
            parts.append(chunk(*arg))
            done += 1
            bar.progress(done / total, text=f"{what}: {name}, step {done} of {total} (Pause stops after this step)")
        out[name] = R.concat(parts)
    bar.empty()
    return out


def show_tables(tables, file):
    df = pd.concat([t.assign(network=k) for k, t in tables.items()], ignore_index=True)
    with st.expander("The numbers behind the chart"):
        st.dataframe(df, hide_index=True, height=220)
        ui.csv_download(df, file, "Download (CSV)")


st.title("Residuals")
st.markdown("What trained networks learned, on their own test images: how big each residual **F(x)** is, "
            "what happens when blocks are deleted, and along which paths the gradient travels. Each chart puts "
            "the paper's finding beside ours.")
cat = zoo.list()  # a folder listing: cheap, and always current
if cat.empty:
    st.warning("No trained model is in the zoo yet (models/weights/ or ~/.cache/skiplab/zoo). Train one on the "
               "Train page or with `python -m models.train`; this page measures trained networks only.")
    st.stop()
with ui.url_bound({"res_dataset": "data set", "res_models": "list of zoo models", "res_n": "number of test images "
                   "(50 to 10000)", "res_view": "view"}):
    c = st.columns([1, 3, 1])
    datasets = sorted(cat.dataset.dropna().unique())  # opens on the built-in shapes: it needs no download

    def models_of(d):  # (the data set's models, the default choice: those up to depth 56)
        have = cat[cat.dataset == d].drop_duplicates("name").sort_values(["depth", "skip"], ascending=[True, False])
        return have, list(have.name[have.depth <= 56]) or list(have.name[:1])

    dataset = c[0].selectbox("Data set", datasets, index=datasets.index("shapes") if "shapes" in datasets else 0,
                             key="res_dataset", bind="query-params", on_change=lambda: st.session_state.update(
                                 res_models=models_of(st.session_state.res_dataset)[1]))  # a new set: its models
    have, default = models_of(dataset)
    names = c[1].multiselect("Models", list(have.name), default=default, key="res_models", bind="query-params")
    n_test = c[2].number_input("Test images", 50, 10_000, 500, step=50, key="res_n", bind="query-params")
    c = st.columns([6, 1], vertical_alignment="bottom")
    view = c[0].radio("Show", VIEWS, horizontal=True, key="res_view", bind="query-params",
                      help="Residual sizes: He et al. 2015 Fig. 7. Lesions: Veit et al. 2016 Fig. 3 and 5. "
                           "Gradient paths: Veit et al. Fig. 6. Switches: skips and branches off, your choice.")
missing = [f"{dataset}-{w}" for w in WANTED if f"{dataset}-{w}" not in set(have.name)]
if missing and dataset in ("shapes", "cifar10"):  # the shipped set; a folder's models are the user's own
    st.info(f"Not in the zoo yet: {', '.join(missing)}. The charts use the models that exist.")
pause = c[1].toggle("Pause", key="res_pause", help="Stops a running computation after its current step; "
                    "finished steps stay cached, so switching it off again continues where it stopped.")
if pause:
    st.info("Paused: nothing is computed. Finished steps are cached; switch Pause off to continue.")
    st.stop()
if not names:
    st.warning("Pick at least one model.")
    st.stop()

with ui.guard("measure these models"):
    cards = {n: zoo.card(n) for n in names}
    sha = {n: c.get("sha256", "") for n, c in cards.items()}
    src = {n: zoo.data_source(c) for n, c in cards.items()}  # "shapes", "cifar10" or a folder's path
    nets = {n: ui.zoo_model(n) for n in names}

    def over_test(kind, arg=lambda n: None):  # {name: [chunk args]} over the first n_img test images
        return {n: [(kind, n, sha[n], src[n], a, b, arg(n)) for a, b in R.chunks(n_img, CHUNK)] for n in names}

    n_img = min([int(n_test)] + [len(ui.dataset(s, "test")[0]) for s in set(src.values())])
    label = {n: m.config.name for n, m in nets.items()}
    chance = 1 - 1 / nets[names[0]].config.num_classes
    st.caption(f"{n_img} test images of `{'`, `'.join(sorted(set(src.values())))}`; BatchNorm in eval mode "
               "(running statistics).")
    if view == VIEWS[0]:
        sums = run(over_test("responses"), "Forward passes")
        blocks = {label[n]: R.residual_table(s[0]) for n, s in sums.items()}
        layers = {label[n]: R.response_table(s[1]) for n, s in sums.items()}
        ui.show_chart(rc.residual_ratios(blocks))
        show_tables(blocks, f"residual_ratios_{dataset}")
        ui.show_chart(rc.response_std(layers))
        show_tables(layers, f"response_std_{dataset}")
    elif view == VIEWS[1]:
        with ui.url_bound({"res_lesion": "lesion", "res_kpts": "number of k values (2 to 60)",
                           "res_draws": "number of draws (1 to 50)"}):
            c = st.columns(3)
            kind = c[0].radio("Delete", ["one block at a time", "k random blocks"], horizontal=True, key="res_lesion",
                              bind="query-params")
            kpts = c[1].number_input("k values per model", 2, 60, 9, key="res_kpts", disabled=kind.startswith("one"),
                                     bind="query-params")
            draws = c[2].number_input("Draws per k", 1, 50, 3, key="res_draws", disabled=kind.startswith("one"),
                                      bind="query-params")
        sets = {}
        for n, m in nets.items():
            nb = len(m.blocks)
            ks = sorted({int(round(v)) for v in np.linspace(1, nb, int(kpts))})
            sets[n] = tuple(R.single_lesions(nb) if kind.startswith("one") else R.random_lesions(nb, ks, int(draws)))
        sums = run(over_test("settings", sets.get), "Lesions")
        tables = {label[n]: R.lesion_table(s, nets[n]) for n, s in sums.items()}
        ui.show_chart((rc.single_lesions if kind.startswith("one") else rc.k_lesions)(tables, chance=chance))
        show_tables(tables, f"lesions_{dataset}")
    elif view == VIEWS[2]:
        res = [n for n in names if nets[n].config.skip]
        if not res:
            st.warning("Gradient paths need a residual network: pick one of the ResNets.")
            st.stop()
        with ui.url_bound({"res_path_model": "residual network of those chosen", "res_samples": "number of draws "
                           "(10 to 1000)", "res_batch": "number of images (1 to 64)", "res_seed": "seed (0 to 10000)"}):
            c = st.columns(4)
            n = c[0].selectbox("Network", res, key="res_path_model", bind="query-params")
            samples = c[1].number_input("Draws per k", 10, 1000, 100, step=10, key="res_samples", bind="query-params")
            batch = c[2].number_input("Images per draw", 1, 64, 4, key="res_batch", bind="query-params")
            seed = c[3].number_input("Seed", 0, 10_000, 0, key="res_seed", bind="query-params")
        nb = len(nets[n].blocks)
        steps = [("paths", n, sha[n], src[n], 0, int(batch), (k, int(samples), int(seed) + k)) for k in range(nb + 1)]
        s = run({n: steps}, f"Backward passes along random paths, on the first {int(batch)} test images")[n]
        table = R.path_table(s, nb)
        ui.show_chart(rc.path_lengths(table, R.path_span(table), label[n]))
        show_tables({label[n]: table}, f"path_lengths_{n}")
    else:
        n0 = nets[names[0]]
        with ui.url_bound({"res_skips_off": "list of blocks", "res_drops": "list of blocks"}):
            c = st.columns(2)
            skips_off = c[0].multiselect("Custom: skips off at blocks", list(range(len(n0.blocks))), key="res_skips_off",
                                         bind="query-params", help=f"Block numbers of {label[names[0]]}; applied to "
                                                                   "models with that many blocks.")
            drops = c[1].multiselect("Custom: delete branches of blocks", list(range(len(n0.blocks))), key="res_drops",
                                     bind="query-params")
        same = {n: len(m.blocks) == len(n0.blocks) for n, m in nets.items()}
        sets = {n: tuple(R.switch_settings(m, *((skips_off, drops) if same[n] else ((), ())))) for n, m in nets.items()}
        sums = run(over_test("settings", sets.get), "Switches")
        tables = {label[n]: R.setting_table(s) for n, s in sums.items()}
        ui.show_chart(rc.switches(tables, chance=chance))
        show_tables(tables, f"switches_{dataset}")
