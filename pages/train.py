"""Train: a ResNet and/or its plain twin, live, saved as yours; He et al.'s degradation chart with a replay of the
shipped training; a checkpoint from elsewhere imported."""

import time

import streamlit as st

from frame import ui
from models import imports, registry, twins, zoo
from models.data import data_root, offered_folders, subset
from models.readings import NORMALISATIONS
from models.resnet import ResNetConfig
from models.train import Recipe, as_data, train
from viz.charts import degradation as dg
from viz.charts import train as tc
from viz.measures import degradation as dm
from viz.measures import train as vt

ui.require_frame(__file__)

TEST_IMAGES = 2000  # evaluated after each epoch: a seeded random subset (models.train.as_data's test_limit)
TWINS_BUTTON = "Train both twins live (about a minute)"
TWINS_HELP = "Trains both twins now on this server's CPU, in alternating steps (bench/degradation.py times the gap)."


def train_the_twins():
    """The class demo (models.twins.DEMO), live: both training-error curves redrawn in place as the twins learn."""
    demo, log, box = twins.DEMO, dm.TwinLog(), st.empty()
    x, y = ui.dataset(demo.dataset, "train")
    keep = subset(len(x), demo.images, demo.recipe.seed)
    data = as_data(demo.dataset, (x[keep], y[keep]), ui.dataset(demo.dataset, "test"), test_limit=256)

    def twin_chart():
        curves = dm.error_curves(log.table())
        return dg.twins_chart(curves, dm.first_visible_gap(curves), demo.config.depth, dm.GAP_POINTS, dm.WINDOW)

    draws = iter(range(1_000_000))

    def redraw():  # live: redrawn in place, each time under a new key
        fig = twin_chart()[0]
        box.plotly_chart(ui.projected(fig) if ui.presenting() else fig, width="stretch", key=f"tr_twins{next(draws)}")

    twins.train_twins(demo.config, demo.recipe, data, on_step=log.record, poll=redraw)
    with box.container():
        ui.show_chart(twin_chart())


present = ui.presenting()
if present:  # the class's button beside the title: its live chart comes first on the screen, above the shipped one
    title, settings, button = st.columns([2, 1, 2], vertical_alignment="bottom")
    title.title("Train")
    twins_clicked = button.button(TWINS_BUTTON, type="primary", key="tr_twins", help=TWINS_HELP)
    ui.intro(dg.demo_words(twins.DEMO.dataset, twins.DEMO.images, twins.DEMO.config, twins.DEMO.recipe))
else:
    st.title("Train")
    settings = st.container()
ui.intro("Train a small ResNet and its **plain twin** (the same layers without skips) here and watch them learn.")
folders = offered_folders()  # chosen by the server's operator (SKIPLAB_FOLDERS); a link names one, never a path
with settings, ui.controls(), ui.url_bound({"tr_dataset": "data set", "tr_folder": "image folder", "tr_depth": "depth",
                                  "tr_variant": "network",
                                  "tr_n": "number of images", "tr_lr": "learning rate", "tr_batch": "batch size",
                                  "tr_norm": "normalization", "tr_schedule": "schedule"}):
    c = st.columns(5)
    dataset = c[0].selectbox("Data set", [registry.SHAPES, registry.CIFAR10] + ["my folder"] * bool(folders), key="tr_dataset",
                             bind="query-params", help="shapes: built in. cifar10: real photos (a download). my "
                             "folder: an image folder this server offers (SKIPLAB_FOLDERS).")
    if dataset == "my folder":
        dataset = str(folders[st.selectbox("Image folder", list(folders), key="tr_folder", bind="query-params",
                                           help="One of the folders this server offers, each with one sub-folder "
                                           "per class (train/<class>/*, test/<class>/*, or just <class>/*).")])
    depth = c[1].selectbox("Depth", [8, 14, 20, 32, 44, 56, 110], index=0, key="tr_depth", bind="query-params",
                           help="Layers with weights (6n+2, so 3n blocks); deeper is slower.")
    variant = c[2].radio("Network", ["both", "residual", "plain"], index=1, horizontal=True, key="tr_variant",
                         bind="query-params", help="both: the ResNet, then its plain twin, one after the other.")
    epochs = ui.number_input(c[3], "Epochs", 1, 50, 2, key="tr_epochs", what="number of epochs",
                             help="Passes over the training images.")
    n_train = c[4].select_slider("Training images", [500, 1000, 2000, 5000, 10000, 50000], value=10000, key="tr_n",
                                 bind="query-params", help="How many, drawn at random with the seed; fewer is faster.")
    c = st.columns(5)
    lr = c[0].select_slider("Peak learning rate", [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], value=0.1, key="tr_lr",
                            bind="query-params", help="The schedule's largest step; too large and a net diverges.")
    batch = c[1].select_slider("Batch size", [32, 64, 128, 256], value=128, key="tr_batch", bind="query-params",
                               help="Images per step: smaller means more steps per epoch.")
    norm = c[2].radio("Normalization", ["batch", "none"], horizontal=True, key="tr_norm", bind="query-params",
                      help="batch: BatchNorm after every convolution. none: no normalization.")
    schedule = c[3].radio("Schedule", ["onecycle", "cosine"], horizontal=True, key="tr_schedule", bind="query-params",
                          help="onecycle: warm up, then cosine to 0. cosine: start at the peak, cosine to 0.")
    seed = ui.number_input(c[4], "Seed", 0, 10_000, 0, key="tr_seed", what="seed",
                           help="Other initial weights, image order and augmentation.")
    start, stop = st.columns([1, 5])  # (inside the controls: folded away with them when presenting)
    go_ = start.button("Train", type="primary", key="tr_start", disabled=not dataset,
                       help="Train with these settings; every finished epoch is kept in your zoo.")
    stop.button("Stop", key="tr_stop", help="Stops after the current step; completed epochs stay saved.")
    st.caption(ui.WHO_SEES)
st.expander("How the page trains").caption(vt.METHOD.format(test=TEST_IMAGES, zoo=zoo.user_dir()))
last = st.session_state.get("tr_last")
if last and last["status"] == "running" and not go_:  # the Stop click (or leaving the page) ended that run
    last["status"] = "stopped"
    st.warning(vt.stopped(last["runs"]))

if go_:
    with ui.guard("train"):
        try:
            x, y = ui.dataset(dataset, "train")  # the shared split, never mutated: n_train of it, drawn with the seed
            x, y = x[keep := subset(len(x), int(n_train), int(seed))], y[keep]
            data = as_data(dataset, (x, y), ui.dataset(dataset, "test"), test_limit=TEST_IMAGES)
        except FileNotFoundError:  # a data set that is not on this machine: what to do, no traceback
            data = None
            st.error(vt.missing_data(dataset, data_root()), icon=":material/folder_off:")
        skips = {"both": [True, False], "residual": [True], "plain": [False]}[variant] if data else []
        stamp, clock = time.strftime("%Y%m%d-%H%M%S"), time.strftime("%H:%M")
        st.session_state.tr_last = last = {"status": "running", "runs": []}
        rec, n_draw, eta = vt.Recorder(), [0], vt.TimeLeft()
        bar = st.progress(0.0, text="Starting...") if skips else None
        boxes = [col.empty() for col in st.columns(2)]

        def draw():  # live: redrawn in place, each time under a new key
            n_draw[0] += 1
            for box, fig in zip(boxes, tc.live(*rec.tables()), strict=True):
                box.plotly_chart(fig, key=f"tr_{fig.layout.title.text}{n_draw[0]}", width="stretch")

        for i, skip in enumerate(skips):
            last["runs"].append(run := vt.run(dataset, skip, depth, stamp, clock))

            def on_event(ev, label=run["label"], skip=skip, run=run, i=i):
                if ev["event"] == "step":
                    rec.step(label, skip, ev)
                    done = vt.progress(i, len(skips), epochs, ev)
                    left = eta.words(done, len(skips) * epochs - i * epochs - ev["epoch"] + 1)  # at every step
                    if ev["step"] % max(1, ev["steps"] // 8) == 0:
                        bar.progress(done, text=f"{label}: epoch {ev['epoch']} of {epochs}, step {ev['step']} of "
                                     f"{ev['steps']}, loss {ev['loss']:.3f}{left}")
                        draw()
                else:
                    eta.evaluated()
                    run["epochs"] = ev["epoch"]
                    ui.remember_mine(run["name"])
                    rec.epoch(label, skip, ev)
                    draw()

            recipe = Recipe(int(epochs), int(batch), float(lr), schedule=schedule, seed=int(seed))
            res = train(ResNetConfig(depth=int(depth), skip=skip, norm=norm), recipe, data, name=run["name"],
                        zoo_dir=zoo.user_dir(), callback=on_event,
                        command=f"Train page: {run['label']} on {n_train} {dataset} images, lr {lr}, batch {batch}")
            (st.error if res.status == "diverged" else st.success)(vt.outcome(run, res.status, res.message))
        last["status"], (steps_df, table) = "done", rec.tables()
        if skips:
            bar.progress(1.0, text="Done.")
            for box, chart in zip(boxes, tc.run_charts(steps_df, table, 1 / len(data.classes)), strict=True):
                with box.container():  # the final charts, for the report
                    ui.show_chart(chart)
        if not table.empty:  # the test numbers after each epoch, with a CSV download
            ui.tables_expander({"this run": table}, f"train_history_{stamp}")

if not present:
    st.header("Degradation live: a ResNet and its plain twin, side by side")
    st.markdown(dg.demo_words(twins.DEMO.dataset, twins.DEMO.images, twins.DEMO.config, twins.DEMO.recipe))
    twins_clicked = st.button(TWINS_BUTTON, key="tr_twins", help=TWINS_HELP)
if twins_clicked:
    with ui.guard("train both twins"):
        train_the_twins()

head, pick = st.columns([5, 1], vertical_alignment="bottom") if present else (st.container(), st.container())
head.header("Degradation: deeper plain nets train worse (He et al. 2015, Fig. 6)")
with ui.guard("draw the degradation chart"):
    sets, default = vt.degradation_sets(ui.zoo_catalog())
    if not sets:
        st.info("No shipped plain-20/56 and ResNet-20/56 histories yet.")
    else:
        with pick, ui.controls("Data set"), ui.url_bound({"tr_deg_dataset": "data set of the shipped models"}):
            deg = st.radio("Shipped models trained on", sets, index=sets.index(default), horizontal=True,
                           key="tr_deg_dataset", bind="query-params", help="What the shipped plain-20/56 and "
                           "ResNet-20/56 were trained on (for longer than a class has: replayed here).")
        h, data = zoo.histories(deg, (20, 56)), registry.dataset(deg)
        ui.show_chart(tc.degradation(h, data), present_height=400)  # a short top (the title row, this header) above it
        with st.expander("Ours beside He et al.'s numbers"):
            st.markdown(tc.finding(h, data))
            st.dataframe(tc.finals(h).sort_values("name"), hide_index=True)
            ui.csv_download(h, f"degradation_{deg}")

st.header("Bring a trained network")
up = st.file_uploader("A checkpoint of a CIFAR ResNet (.safetensors, .th, .pt, .pth)", vt.CHECKPOINTS, key="tr_upload",
                       help="Measured on 932 CIFAR-10 test images, then saved to the user zoo for "
                      "every visitor (e.g. akamaster's resnet20.th).")
MEASURED = "measured"  # an override left to the measurement
with st.expander("Reading: measured, or fixed by you"):
    st.caption("What the tensors cannot tell is measured on the shipped test images; fix any of it here when you "
               "know better (the file is read again).")
    c = st.columns(4)
    fixed = {"skip": c[0].selectbox("Skips", [MEASURED, "residual", "plain"], key="tr_read_skip",
                                help="A residual net or its plain twin: their tensors are the same."),
             "pad": c[1].selectbox("New channels padded", [MEASURED, "end", "both"], key="tr_read_pad",
                                   help="Option A's zero channels: at the end, or on both sides."),
             "downsample": c[2].selectbox("Shortcut halves by", [MEASURED, "subsample", "average"],
                                          key="tr_read_downsample", help="Subsampling, or a 2x2 average."),
             "normalisation": c[3].selectbox("Input normalisation", [MEASURED, *NORMALISATIONS],
                                             key="tr_read_norm", help="The pixel statistics the network was trained on.",
                                             format_func=lambda k: NORMALISATIONS.get(k, (0, 0, k))[2])}
reading = {k: (v == "residual" if k == "skip" else v) for k, v in fixed.items() if v != MEASURED}
found = st.session_state.setdefault("tr_imports", {})  # (upload, overrides) -> what was read: read once each
key = (up.file_id, tuple(sorted(reading.items()))) if up is not None else None
if up is not None and key not in found:
    with st.status(f"Reading {up.name}: its tensors, then every reading of them measured...", expanded=True) as box:
        bar = st.progress(0.0, text="Reading the file")
        try:
            found[key] = {"analysis": imports.analyse(
                up.getvalue(), up.name, progress=lambda words, done: bar.progress(done, text=words), **reading)}
            box.update(label=f"Read {up.name}", state="complete", expanded=False)
        except ValueError as e:  # one sentence, and nothing written
            found[key] = {"error": str(e)}
            box.update(label=f"{up.name} not imported", state="error", expanded=False)
got = found.get(key, {})
if "error" in got:
    st.error(got["error"])
elif "analysis" in got:
    a = got["analysis"]
    st.info(a.sentence)
    c = st.columns([3, 2])
    c[0].dataframe(a.mapping_table(), hide_index=True, height=220)  # which source module went where
    c[1].dataframe(a.trials_table(), hide_index=True, height=220, column_config={
        "accuracy": st.column_config.NumberColumn(format="percent")})
    name = imports.default_name(a.model, a.facts)
    taken = set(zoo.list().name)
    if "saved" not in got and name in taken:
        name = st.text_input(f"{name} is taken: import as", imports.free_name(name, taken), key="tr_import_name")
        go_import = st.button("Import", key="tr_import")
        if go_import and name in taken:
            st.error(f"{name} is taken too: choose another name.")
            go_import = False
    else:
        go_import = "saved" not in got
    if go_import:
        try:
            got["saved"] = vt.imported(imports.save(a, name, full_test=False))
        except ValueError as e:
            st.error(str(e))
    if "saved" in got:
        st.success(got["saved"])

with st.expander("The zoo: shipped models and yours"), ui.guard("read the zoo"):
    catalog = ui.zoo_catalog()
    st.dataframe(catalog.drop(columns=["path"], errors="ignore"), hide_index=True)
    ui.csv_download(catalog, "zoo")
