"""Train: a ResNet and/or its plain twin, live, saved as yours; He et al.'s degradation chart with a replay of the
shipped training; a checkpoint from elsewhere imported."""

import time

import streamlit as st

from frame import ui
from models import zoo
from models.data import data_root, subset
from models.resnet import ResNetConfig
from models.train import Recipe, as_data, train
from viz.charts import train as tc
from viz.measures import train as vt

ui.require_frame(__file__)

TEST_IMAGES = 2000  # evaluated after each epoch: a seeded random subset (models.train.as_data's test_limit)

st.title("Train")
ui.intro("Train a small ResNet and its **plain twin** (the same layers without skips) here and watch them learn.")
with ui.controls(), ui.url_bound({"tr_dataset": "data set", "tr_depth": "depth", "tr_variant": "network",
                                  "tr_n": "number of images", "tr_lr": "learning rate", "tr_batch": "batch size",
                                  "tr_norm": "normalization", "tr_schedule": "schedule"}):
    c = st.columns(5)
    dataset = c[0].selectbox("Data set", ["shapes", "cifar10", "my folder"], key="tr_dataset", bind="query-params",
                             help="shapes: built in, no download. cifar10: real photos (a download). my folder: yours.")
    if dataset == "my folder":
        dataset = st.text_input("Image folder (train/<class>/*, test/<class>/*, or just <class>/*)", key="tr_folder",
                                bind="query-params", help="A folder on this server with one sub-folder per class.")
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
        rec, n_draw = vt.Recorder(), [0]
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
                    if ev["step"] % max(1, ev["steps"] // 8) == 0:
                        bar.progress(vt.progress(i, len(skips), epochs, ev), text=f"{label}: epoch {ev['epoch']} of "
                                     f"{epochs}, step {ev['step']} of {ev['steps']}, loss {ev['loss']:.3f}")
                        draw()
                else:
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

st.header("Degradation: deeper plain nets train worse (He et al. 2015, Fig. 6)")
with ui.guard("draw the degradation chart"):
    sets, default = tc.degradation_sets(zoo.list())
    if not sets:
        st.info("No shipped plain-20/56 and ResNet-20/56 histories yet.")
    else:
        with ui.controls("Data set"), ui.url_bound({"tr_deg_dataset": "data set of the shipped models"}):
            deg = st.radio("Shipped models trained on", sets, index=sets.index(default), horizontal=True,
                           key="tr_deg_dataset", bind="query-params", help="What the shipped plain-20/56 and "
                           "ResNet-20/56 were trained on (for longer than a class has: replayed here).")
        h = zoo.histories(deg, (20, 56))
        ui.show_chart(tc.degradation(h, deg))
        with st.expander("Ours beside He et al.'s numbers"):
            st.markdown(tc.finding(h, deg))
            st.dataframe(tc.finals(h).sort_values("name"), hide_index=True)
            ui.csv_download(h, f"degradation_{deg}")

st.header("Bring a trained network")
up = st.file_uploader("A checkpoint of a CIFAR ResNet (.safetensors, .th, .pt, .pth)", vt.CHECKPOINTS, key="tr_upload",
                       help="Measured on 932 CIFAR-10 test images, then saved to the user zoo for "
                      "every visitor (e.g. akamaster's resnet20.th).")
done = st.session_state.setdefault("tr_imports", {})  # upload id -> (ok, message): a rerun does not import again
if up is not None and up.file_id not in done:
    try:
        from models.imports import import_bytes  # written alongside: the page says so if it is absent

        with st.spinner(f"Importing {up.name}..."):
            done[up.file_id] = True, vt.imported(import_bytes(up.getvalue(), up.name, full_test=False))
    except ImportError:
        done[up.file_id] = False, "Importing checkpoints is not available in this version of skiplab."
    except ValueError as e:  # models.imports refuses with one sentence, and writes nothing
        done[up.file_id] = False, str(e)
if up is not None:
    ok, message = done[up.file_id]
    (st.success if ok else st.error)(message)

with st.expander("The zoo: shipped models and yours"), ui.guard("read the zoo"):
    catalog = ui.zoo_catalog()
    st.dataframe(catalog.drop(columns=["path"], errors="ignore"), hide_index=True)
    ui.csv_download(catalog, "zoo")
