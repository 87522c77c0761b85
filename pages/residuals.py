"""Residuals: what trained networks learned (He et al. 2015 Fig. 7), lesions and gradient paths (Veit et al. 2016)."""

import numpy as np
import streamlit as st

from frame import ui
from models import registry
from viz.charts import residuals as rc
from viz.measures import budget
from viz.measures import residuals as R
from viz.words import model_name

ui.require_frame(__file__)

VIEWS = ["Residual sizes", "Lesions", "Gradient paths", "Switches"]  # (their values are what a link holds)
CHUNK = 250


@ui.cache_results(max_entries=4096)
def chunk(kind: str, name: str, sha: str, dataset: str, a: int, b: int, arg=None):
    """One cached unit of work: sums over test images a..b (or one path length k)."""
    m, (x, y) = ui.zoo_model(name), ui.dataset(dataset, "test")
    if kind == "responses":
        return R.response_sums(m, x[a:b])
    if kind == "settings":
        return R.setting_sums(m, x[a:b], y[a:b], arg)
    k, samples, seed = arg
    return R.path_gradient_sums(m, x[a:b], y[a:b], [k], samples, seed=seed)


st.title("Residuals")
ui.intro("What trained networks learned, on test images: how big each residual **F(x)** is, what deleting "
            "blocks does, and along which paths the gradient travels; each chart beside the paper's finding.")
cat = ui.zoo_catalog()
if cat.empty:
    st.warning("No trained model is in the zoo yet: train one on the Train page (this page measures trained networks).")
    st.stop()


def models_of(d):  # (the data set's models, the default choice: shipped, trained, published first, up to depth 56)
    have = cat[cat.dataset == d].sort_values(["depth", "skip"], ascending=[True, False])
    pub = have[(have.origin == "published") & have.default_ok & have.skip.astype(bool)]
    if len(pub):  # one author's series of residual nets (akamaster's ResNet-20 to 56); the others stay choosable
        pub = pub[pub.author == pub.author.value_counts().idxmax()]
    pick = pub if len(pub) else have[have.default_ok & (have.depth <= 56)]
    upto = have.depth <= 56
    return have, list(pick.name) or list(have.name[have.trained & upto]) or list(have.name[upto]) or list(have.name[:1])


with ui.controls(), ui.url_bound({"res_dataset": "data set", "res_models": "list of zoo models", "res_view": "view"}):
    c = st.columns([1, 3, 1])
    datasets = sorted(cat.dataset.dropna().unique())
    first = registry.opening_dataset(d for d in datasets if models_of(d)[1]) or datasets[0]
    dataset = c[0].selectbox("Data set", datasets, index=datasets.index(first), key="res_dataset",
                             bind="query-params", help="The data set the models were trained on.",
                             on_change=lambda: st.session_state.update(
                                 res_models=models_of(st.session_state.res_dataset)[1]))  # a new set: its models
    have, default = models_of(dataset)
    names = c[1].multiselect("Models", list(have.name), default=default, key="res_models", bind="query-params",
                             format_func=model_name,
                             help="The networks to measure and compare (a link holds their names as shown).")
    n_test = ui.number_input(c[2], "Test images", 50, 10_000, 500, step=50, key="res_n", what="number of test images",
                             help="How many test images every measurement averages over.")
    c = st.columns([6, 1], vertical_alignment="bottom")
    view = c[0].radio("Show", VIEWS, horizontal=True, key="res_view", bind="query-params",
                      help="Residual sizes: He et al. 2015 Fig. 7. Lesions: Veit et al. 2016 Fig. 3 and 5. "
                           "Gradient paths: Veit et al. Fig. 6. Switches: skips and branches off, your choice.")
pause = c[1].toggle("Pause", key="res_pause", help="Stops a running computation after its current step; "
                    "finished steps stay cached, so switching it off again continues where it stopped.")
if pause:
    st.info("Paused: nothing is computed. Finished steps are cached; switch Pause off to continue.")
    st.stop()
if not names:
    st.warning("Pick at least one model.")
    st.stop()

with ui.guard("measure these models"):
    sha = {n: ui.weights_id(n) for n in names}
    src = {n: ui.test_set(n)[0] for n in names}  # what models.data.load_dataset takes
    nets = {n: ui.zoo_model(n) for n in names}
    n_img = min([int(n_test)] + [len(ui.dataset(s, "test")[0]) for s in set(src.values())])
    for m in nets.values():  # responses, lesions, switches: forward passes over CHUNK test images at a time
        budget.check(budget.forward_chunk_mb(m.config.depth, CHUNK, m.config.width), f"A forward pass of {CHUNK} "
                     f"test images through {m.config.name}", "the networks' depth: choose shallower models")

    def over_test(kind, arg=lambda n: None):  # {name: [chunk args]} over the first n_img test images
        return {n: [(kind, n, sha[n], src[n], a, b, arg(n)) for a, b in R.chunks(n_img, CHUNK)] for n in names}

    labels = dict(zip(have.name, have.label, strict=True))
    label = {n: labels.get(n, nets[n].config.name) for n in names}
    chance = 1 - 1 / nets[names[0]].config.num_classes
    (st.sidebar if ui.presenting() else st).caption(f"{n_img} test images of `{'`, `'.join(sorted(set(src.values())))}` "
               f"({'; '.join(sorted({ui.test_set(n)[1] for n in names}))}); BatchNorm in eval mode.")
    def jobs_key(jobs):  # what a chart of these jobs' sums depends on (the jobs name models, weights, images)
        return tuple((label[n], tuple(args)) for n, args in jobs.items()), chance

    if view == VIEWS[0]:
        jobs = over_test("responses")
        sums = ui.run_steps(chunk, jobs, "Forward passes")
        blocks = {label[n]: R.residual_table(s[0]) for n, s in sums.items()}
        layers = {label[n]: R.response_table(s[1]) for n, s in sums.items()}
        ui.show_chart(ui.cached_chart(rc.residual_ratios, jobs_key(jobs), blocks))
        ui.tables_expander(blocks, f"residual_ratios_{dataset}")
        ui.show_chart(ui.cached_chart(rc.response_std, jobs_key(jobs), layers))
        ui.tables_expander(layers, f"response_std_{dataset}")
    elif view == VIEWS[1]:
        with ui.controls("Lesion settings"), ui.url_bound({"res_lesion": "lesion"}):
            c = st.columns(3)
            kind = c[0].radio("Delete", ["one block at a time", "k random blocks"], horizontal=True, key="res_lesion",
                              bind="query-params", help="Which blocks lose their residual branch F.")
            one = kind.startswith("one")
            kpts = ui.number_input(c[1], "k values per model", 2, 60, 9, key="res_kpts", what="number of k values",
                                   disabled=one, help="How many different numbers k of deleted blocks to try.")
            draws = ui.number_input(c[2], "Draws per k", 1, 50, 3, key="res_draws", what="number of draws",
                                    disabled=one, help="How many random sets of k blocks to delete for each k.")
        sets = {}
        for n, m in nets.items():
            nb = len(m.blocks)
            ks = sorted({int(round(v)) for v in np.linspace(1, nb, int(kpts))})
            sets[n] = tuple(R.single_lesions(nb) if one else R.random_lesions(nb, ks, int(draws)))
        jobs = over_test("settings", sets.get)
        sums = ui.run_steps(chunk, jobs, "Lesions")
        tables = {label[n]: R.lesion_table(s, nets[n]) for n, s in sums.items()}
        ui.show_chart(ui.cached_chart(rc.single_lesions if one else rc.k_lesions, jobs_key(jobs), tables, chance=chance))
        ui.tables_expander(tables, f"lesions_{dataset}")
    elif view == VIEWS[2]:
        res = [n for n in names if nets[n].config.skip]
        if not res:
            st.warning("Gradient paths need a residual network: pick one of the ResNets.")
            st.stop()
        with ui.controls("Path settings"), ui.url_bound({"res_path_model": "residual network of those chosen"}):
            c = st.columns(4)
            n = c[0].selectbox("Network", res, key="res_path_model", bind="query-params", format_func=label.get,
                               help="The residual network whose gradient paths are measured.")
            samples = ui.number_input(c[1], "Draws per k", 10, 1000, 100, step=10, key="res_samples",
                                      what="number of draws", help="Random paths measured for each path length k.")
            batch = ui.number_input(c[2], "Images per draw", 1, 64, 4, key="res_batch", what="number of images",
                                    help="Test images each path's gradient is averaged over.")
            seed = ui.number_input(c[3], "Seed", 0, 10_000, 0, key="res_seed", what="seed",
                                   help="Draws a different set of random paths.")
        nb, cfg = len(nets[n].blocks), nets[n].config
        budget.check_setting(lambda b: budget.resnet_pass_mb(cfg.depth, b, cfg.width), int(batch), 1,
                             f"Backward passes through {cfg.name} at {int(batch)} images", "the images per draw")
        steps = [("paths", n, sha[n], src[n], 0, int(batch), (k, int(samples), int(seed) + k)) for k in range(nb + 1)]
        s = ui.run_steps(chunk, {n: steps}, f"Backward passes along random paths, on the first {int(batch)} test images")[n]
        table = R.path_table(s, nb)
        ui.show_chart(rc.path_lengths(table, R.path_span(table), label[n]))
        ui.tables_expander({label[n]: table}, f"path_lengths_{n}")
    else:
        n0 = nets[names[0]]
        with ui.controls("Switches"), ui.url_bound({"res_skips_off": "list of blocks", "res_drops": "list of blocks"}):
            c = st.columns(2)
            blocks_of = list(range(len(n0.blocks)))
            skips_off = c[0].multiselect("Custom: skips off at blocks", blocks_of, key="res_skips_off",
                                         bind="query-params", help=f"Block numbers of {label[names[0]]}; applied to "
                                                                   "models with that many blocks.")
            drops = c[1].multiselect("Custom: delete branches of blocks", blocks_of, key="res_drops",
                                     bind="query-params", help="These blocks pass only their shortcut on.")
        same = {n: len(m.blocks) == len(n0.blocks) for n, m in nets.items()}
        sets = {n: tuple(R.switch_settings(m, *((skips_off, drops) if same[n] else ((), ())))) for n, m in nets.items()}
        jobs = over_test("settings", sets.get)
        sums = ui.run_steps(chunk, jobs, "Switches")
        tables = {label[n]: R.setting_table(s) for n, s in sums.items()}
        ui.show_chart(ui.cached_chart(rc.switches, jobs_key(jobs), tables, chance=chance))
        ui.tables_expander(tables, f"switches_{dataset}")
