"""Train: a ResNet and/or its plain twin, live, saved to the user zoo; and the Degradation chart (He et al. Fig. 6)."""

import time

import streamlit as st
import torch

from models import zoo
from models.data import dataset_info, load_dataset, subset
from models.resnet import ResNetConfig
from models.train import train
from pages import ui
from viz import train_charts as tc

TEST_IMAGES = 2000  # evaluated after each epoch: a seeded random subset (models.train.train's test_limit)


@st.cache_data(max_entries=4, show_spinner="Loading the data set...")
def data(name: str):
    (xtr, ytr), (xte, yte) = load_dataset(name, "train"), load_dataset(name, "test")
    return (xtr.numpy(), ytr.numpy()), (xte.numpy(), yte.numpy()), list(dataset_info(name).classes)


st.title("Train")
st.markdown("Train a small ResNet and/or its **plain twin** (same architecture, no skips) right here, and watch "
            "the curves. Every finished epoch is saved to your zoo and can be picked on the other pages.")

with ui.url_bound({"tr_dataset": "data set", "tr_depth": "depth", "tr_variant": "network", "tr_epochs": "number of "
                   "epochs (1 to 50)", "tr_n": "number of images", "tr_lr": "learning rate", "tr_batch": "batch size",
                   "tr_norm": "normalization", "tr_schedule": "schedule", "tr_seed": "seed (0 to 10000)"}):
    c = st.columns(5)
    dataset = c[0].selectbox("Data set", ["shapes", "cifar10", "my folder"], key="tr_dataset", bind="query-params")
    if dataset == "my folder":
        dataset = st.text_input("Image folder (train/<class>/*, test/<class>/*, or just <class>/*)", key="tr_folder",
                                bind="query-params")
    depth = c[1].selectbox("Depth", [8, 14, 20, 32, 44, 56, 110], index=2, key="tr_depth", bind="query-params")
    variant = c[2].radio("Network", ["both", "residual", "plain"], horizontal=True, key="tr_variant", bind="query-params")
    epochs = c[3].number_input("Epochs", 1, 50, 3, key="tr_epochs", bind="query-params")
    n_train = c[4].select_slider("Training images", [500, 1000, 2000, 5000, 10000, 50000], value=2000, key="tr_n",
                                 bind="query-params")
    c = st.columns(5)
    lr = c[0].select_slider("Peak learning rate", [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], value=0.1, key="tr_lr",
                            bind="query-params")
    batch = c[1].select_slider("Batch size", [32, 64, 128, 256], value=128, key="tr_batch", bind="query-params")
    norm = c[2].radio("Normalization", ["batch", "none"], horizontal=True, key="tr_norm", bind="query-params",
                      help="batch: BatchNorm after every convolution. none: no normalization.")
    schedule = c[3].radio("Schedule", ["onecycle", "cosine"], horizontal=True, key="tr_schedule", bind="query-params")
    seed = c[4].number_input("Seed", 0, 10_000, 0, key="tr_seed", bind="query-params")
st.caption(f"SGD, momentum 0.9, weight decay 5e-4, pad-4 random crops and flips; test accuracy after each epoch on "
           f"up to {TEST_IMAGES:,} test images (a random subset drawn across all classes, the same for every epoch and every run). Saved to "
           f"the user zoo at {zoo.user_dir()}.")
start, stop = st.columns([1, 5])
go_ = start.button("Train", type="primary", key="tr_start", disabled=not dataset)
stop.button("Stop", key="tr_stop", help="Stops after the current step; completed epochs stay saved.")

last = st.session_state.get("tr_last")
if last and last["status"] == "running" and not go_:  # the Stop click (or leaving the page) ended that run
    last["status"] = "stopped"
    done = [r for r in last["runs"] if r["epochs"]]
    st.warning("Stopped. " + ("; ".join(f"{r['name']} saved after epoch {r['epochs']}" for r in done) if done
                                else "No epoch had finished, so nothing was saved."))

if go_:
    with ui.guard("train"):
        (xtr, ytr), (xte, yte), classes = data(dataset)
        sub = subset(len(xtr), int(n_train), int(seed))
        d = ((torch.from_numpy(xtr)[sub], torch.from_numpy(ytr)[sub]), (torch.from_numpy(xte), torch.from_numpy(yte)))
        skips = {"both": [True, False], "residual": [True], "plain": [False]}[variant]
        stamp = time.strftime("%Y%m%d-%H%M%S")
        tag = "cifar10" if dataset == "cifar10" else "shapes" if dataset == "shapes" else "folder"
        st.session_state.tr_last = last = {"status": "running", "runs": []}
        rec, n_draw = tc.Recorder(), [0]
        bar = st.progress(0.0, text="Starting...")
        boxes = [col.empty() for col in st.columns(2)]

        def draw():  # live: redrawn in place, each time under a new key
            s, h = rec.tables()
            n_draw[0] += 1
            boxes[0].plotly_chart(tc.curves(s, h, "loss", "Loss", "cross-entropy (log)"), key=f"tr_l{n_draw[0]}", width="stretch")
            boxes[1].plotly_chart(tc.curves(s, h, "acc", "Accuracy", "accuracy"), key=f"tr_a{n_draw[0]}", width="stretch")

        for i, skip in enumerate(skips):
            name = f"{tag}-{'resnet' if skip else 'plain'}{depth}-{stamp}"
            run = {"name": name, "epochs": 0}
            last["runs"].append(run)
            cfg = ResNetConfig(depth=int(depth), skip=skip, norm=norm)
            label = f"{'ResNet' if skip else 'plain'}-{depth}"

            def on_event(ev, label=label, skip=skip, run=run, i=i):
                if ev["event"] == "step":
                    rec.step(label, skip, ev)
                    if ev["step"] % max(1, ev["steps"] // 8) == 0:
                        bar.progress(tc.progress(i, len(skips), epochs, ev), text=f"{label}: epoch {ev['epoch']}/{epochs}, "
                                     f"step {ev['step']}/{ev['steps']}, loss {ev['loss']:.3f}")
                        draw()
                else:
                    run["epochs"] = ev["epoch"]
                    rec.epoch(label, skip, ev)
                    draw()

            res = train(cfg, dataset, int(epochs), batch_size=int(batch), lr=float(lr), schedule=schedule,
                        seed=int(seed), data=d, name=name, zoo_dir=zoo.user_dir(), callback=on_event,
                        test_limit=TEST_IMAGES, classes=classes,
                        command=f"Train page: {label} on {n_train} {dataset} images, lr {lr}, batch {batch}")
            if res.status == "diverged":
                st.error(f"{label}: {res.message}" + (f" Saved after epoch {run['epochs']} as {name}." if run["epochs"] else ""))
            else:
                st.success(f"{label}: {res.message} Saved as **{name}**.")
        bar.progress(1.0, text="Done.")
        last["status"] = "done"
        steps_df, table = rec.tables()
        for box, chart in zip(boxes, tc.run_charts(steps_df, table), strict=True):  # the final charts, for the report
            with box.container():
                ui.show_chart(chart)
        if not table.empty:
            st.dataframe(table, hide_index=True)
            ui.csv_download(table, f"train_history_{stamp}")

st.header("Degradation: deeper plain nets train worse (He et al. 2015, Fig. 6)")
with ui.guard("draw the degradation chart"):
    sets, default = tc.degradation_sets(zoo.list())
    if not sets:
        st.info("No shipped plain-20/56 and ResNet-20/56 histories yet.")
    else:
        with ui.url_bound({"tr_deg_dataset": "data set of the shipped models"}):
            deg = st.radio("Shipped models trained on", sets, index=sets.index(default), horizontal=True,
                           key="tr_deg_dataset", bind="query-params", help="The data sets with shipped plain-20/56 or "
                           "ResNet-20/56 models; CIFAR-10 is shown first once all four of its models are shipped.")
        h = zoo.histories(deg, (20, 56))
        ui.show_chart(tc.degradation(h, deg))
        st.markdown(tc.finding(h, deg))
        st.dataframe(tc.finals(h).sort_values("name"), hide_index=True)
        ui.csv_download(h, f"degradation_{deg}")

with st.expander("The zoo: shipped and your trained models"), ui.guard("read the zoo"):
    catalog = zoo.list()
    st.dataframe(catalog.drop(columns="path"), hide_index=True)
    ui.csv_download(catalog, "zoo")
