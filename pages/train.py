"""Train: a ResNet and/or its plain twin, live, saved to the user zoo; and the Degradation chart (He et al. Fig. 6)."""

import time

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from models import zoo
from models.data import load_dataset
from models.resnet import ResNetConfig
from models.train import train
from pages import ui

COLORS = {True: "#1f6fb4", False: "#d6392b"}  # residual blue, plain red (as on the other pages)
SHADES = {(False, False): "#f4a582", (False, True): "#b2182b", (True, False): "#92c5de", (True, True): "#2166ac"}


@st.cache_data(max_entries=4, show_spinner="Loading the data set...")
def data(name: str):
    (xtr, ytr), (xte, yte) = load_dataset(name, "train"), load_dataset(name, "test")
    return (xtr.numpy(), ytr.numpy()), (xte.numpy(), yte.numpy())


def curves(steps: pd.DataFrame, epochs: pd.DataFrame, metric: str, title: str, ytitle: str):
    fig = go.Figure()
    for (name, skip), d in steps.groupby(["name", "skip"], sort=False):
        fig.add_scatter(x=d.x, y=d[metric], name=f"{name} train", line=dict(color=COLORS[skip], width=1.5))
    for (name, skip), d in epochs.groupby(["name", "skip"], sort=False):
        fig.add_scatter(x=d.epoch, y=d[f"test_{metric}"], name=f"{name} test", mode="lines+markers",
                        line=dict(color=COLORS[skip], width=3, dash="dot"))
    fig.update_layout(title=title, height=340, template="plotly_white", margin=dict(l=60, r=20, t=50, b=45),
                      legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1, xanchor="right"))
    fig.update_xaxes(title="epoch")
    fig.update_yaxes(title=ytitle, type="log" if metric == "loss" else "linear")
    return fig


def finding(h, final):
    """Our numbers beside He et al.'s, computed from the histories shown."""
    mean = h.groupby("name").train_error.mean()

    def compare(a, b, la, lb):  # b against a
        if a not in final.index or b not in final.index:
            return None
        return (f"{lb} vs {la}: final training error {final.train_error[b]:.2f}% vs {final.train_error[a]:.2f}%, "
                f"mean over the epochs {mean[b]:.2f}% vs {mean[a]:.2f}%, so {lb} trained "
                f"**{'worse' if mean[b] > mean[a] else 'better'}**")

    parts = [compare("shapes-plain20", "shapes-plain56", "plain-20", "plain-56"),
             compare("shapes-resnet20", "shapes-resnet56", "ResNet-20", "ResNet-56")]
    parts += [compare(f"shapes-resnet{d}", f"shapes-plain{d}", f"ResNet-{d}", f"plain-{d}") for d in (20, 56)]
    parts = [p for p in parts if p]
    parts += [f"{n.split('-')[1].replace('plain', 'plain-').replace('resnet', 'ResNet-')} stayed near chance level: "
              f"{final.train_error[n]:.0f}% training error after {int(final.epoch[n])} epochs (chance: 90%)"
              for n in final.index if final.train_error[n] > 80]
    stuck = ("Where they differ: He et al.'s plain-56 does train, only to a higher error; ours barely trained "
             "in this 10x shorter budget, a stronger form of the same degradation. Shapes is easier than CIFAR-10, "
             "so the other nets end with small errors.")
    small = ("Shapes is easier than CIFAR-10 and the budget is 10x shorter, so every error ends small: compare the "
             "curves during training, where the gaps are largest, not only the last epoch.")
    missing = "" if "shapes-plain56" in final.index else " (plain-56 is not shipped yet)"
    if {"shapes-resnet20", "shapes-resnet56"} <= set(final.index) and mean["shapes-resnet56"] > mean["shapes-resnet20"]:
        small = stuck = ("Unlike He et al., our ResNet-56 did not beat ResNet-20 within this 10x shorter budget. " +
                         (stuck if final.train_error.get("shapes-plain56", 0) > 80 else small))
    return ("**He et al. (CIFAR-10, 164 epochs):** plain-56 has *higher* training error than plain-20 all through "
            "training (Fig. 6, left), a degradation that is not overfitting; with skips the order flips and "
            "ResNet-56 beats ResNet-20 (test error 6.97% vs 8.75%, Table 6).  \n"
            f"**Ours (built-in shapes, {int(h.epoch.max())} epochs, one recipe for all){missing}:** " + "; ".join(parts) +
            ". " + (stuck if final.train_error.get("shapes-plain56", 0) > 80 else small))


st.title("Train")
st.markdown("Train a small ResNet and/or its **plain twin** (same architecture, no skips) right here, and watch "
            "the curves. Every finished epoch is saved to your zoo and can be picked on the other pages.")

c = st.columns(5)
dataset = c[0].selectbox("Data set", ["shapes", "cifar10", "my folder"], key="tr_dataset")
if dataset == "my folder":
    dataset = st.text_input("Image folder (train/<class>/*, test/<class>/*, or just <class>/*)", key="tr_folder")
depth = c[1].selectbox("Depth", [8, 14, 20, 32, 44, 56, 110], index=2, key="tr_depth")
variant = c[2].radio("Network", ["both", "residual", "plain"], horizontal=True, key="tr_variant")
epochs = c[3].number_input("Epochs", 1, 50, 3, key="tr_epochs")
n_train = c[4].select_slider("Training images", [500, 1000, 2000, 5000, 10000, 50000], value=2000, key="tr_n")
c = st.columns(5)
lr = c[0].select_slider("Peak learning rate", [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], value=0.1, key="tr_lr")
batch = c[1].select_slider("Batch size", [32, 64, 128, 256], value=128, key="tr_batch")
norm = c[2].radio("Normalization", ["batch", "none"], horizontal=True, key="tr_norm",
                  format_func={"batch": "BatchNorm", "none": "none"}.get)
schedule = c[3].radio("Schedule", ["onecycle", "cosine"], horizontal=True, key="tr_schedule")
seed = c[4].number_input("Seed", 0, 10_000, 0, key="tr_seed")
st.caption(f"SGD, momentum 0.9, weight decay 5e-4, pad-4 random crops and flips; test accuracy on up to 2,000 "
           f"test images after each epoch. Saved to the user zoo at {zoo.user_dir()}.")
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
        (xtr, ytr), (xte, yte) = data(dataset)
        sub = torch.randperm(len(xtr), generator=torch.Generator().manual_seed(int(seed)))[: int(n_train)]
        d = ((torch.from_numpy(xtr)[sub], torch.from_numpy(ytr)[sub]), (torch.from_numpy(xte[:2000]), torch.from_numpy(yte[:2000])))
        skips = {"both": [True, False], "residual": [True], "plain": [False]}[variant]
        stamp = time.strftime("%Y%m%d-%H%M%S")
        tag = "cifar10" if dataset == "cifar10" else "shapes" if dataset == "shapes" else "folder"
        st.session_state.tr_last = last = {"status": "running", "runs": []}
        steps, hist, n_draw, ema = [], [], [0], {}
        bar = st.progress(0.0, text="Starting...")
        charts = st.columns(2)
        boxes = [charts[0].empty(), charts[1].empty()]

        def draw():
            s, h = pd.DataFrame(steps, columns=["name", "skip", "x", "loss", "acc"]), pd.DataFrame(hist)
            if h.empty:
                h = pd.DataFrame(columns=["name", "skip", "epoch", "test_loss", "test_acc"])
            n_draw[0] += 1
            boxes[0].plotly_chart(curves(s, h, "loss", "Loss", "cross-entropy (log)"), key=f"tr_l{n_draw[0]}", width="stretch")
            boxes[1].plotly_chart(curves(s, h, "acc", "Accuracy", "accuracy"), key=f"tr_a{n_draw[0]}", width="stretch")

        for i, skip in enumerate(skips):
            name = f"{tag}-{'resnet' if skip else 'plain'}{depth}-{stamp}"
            run = {"name": name, "epochs": 0}
            last["runs"].append(run)
            cfg = ResNetConfig(depth=int(depth), skip=skip, norm=norm)
            label = f"{'ResNet' if skip else 'plain'}-{depth}"

            def on_event(ev, label=label, skip=skip, run=run, i=i):
                frac = (i + (ev["epoch"] - 1 + ev.get("step", ev.get("steps", 1)) / ev.get("steps", 1)) / epochs) / len(skips)
                if ev["event"] == "step":
                    x = ev["epoch"] - 1 + ev["step"] / ev["steps"]
                    old = ema.get(label, (ev["loss"], ev["acc"]))  # smooth the noisy per-batch values
                    ema[label] = tuple(0.8 * o + 0.2 * v for o, v in zip(old, (ev["loss"], ev["acc"]), strict=True))
                    steps.append((label, skip, x, *ema[label]))
                    if ev["step"] % max(1, ev["steps"] // 8) == 0:
                        bar.progress(min(frac, 1.0), text=f"{label}: epoch {ev['epoch']}/{epochs}, step {ev['step']}/{ev['steps']}, loss {ev['loss']:.3f}")
                        draw()
                else:
                    run["epochs"] = ev["epoch"]
                    hist.append({"name": label, "skip": skip, **{k: ev[k] for k in ("epoch", "test_loss", "test_acc")}})
                    draw()

            res = train(cfg, dataset, int(epochs), batch_size=int(batch), lr=float(lr), schedule=schedule,
                        seed=int(seed), data=d, name=name, zoo_dir=zoo.user_dir(), callback=on_event,
                        command=f"Train page: {label} on {n_train} {dataset} images, lr {lr}, batch {batch}")
            if res.status == "diverged":
                st.error(f"{label}: {res.message}" + (f" Saved after epoch {run['epochs']} as {name}." if run["epochs"] else ""))
            else:
                st.success(f"{label}: {res.message} Saved as **{name}**.")
        bar.progress(1.0, text="Done.")
        last["status"] = "done"
        draw()
        table = pd.DataFrame(hist)
        if not table.empty:
            st.caption("Thin lines: training batches (moving average, with augmentation, BatchNorm in training mode); "
                       "dotted: the test images after each epoch. " + "; ".join(
                           f"{n}: test accuracy {g.test_acc.iloc[-1]:.1%} after epoch {g.epoch.iloc[-1]}" for n, g in table.groupby("name", sort=False)) + ".")
            st.dataframe(table, hide_index=True)
            ui.csv_download(table, f"train_history_{stamp}")

st.header("Degradation: deeper plain nets train worse (He et al. 2015, Fig. 6)")
with ui.guard("draw the degradation chart"):
    h = zoo.histories("shapes", (20, 56))
    if h.empty:
        st.info("No shipped plain-20/56 and ResNet-20/56 histories yet.")
    else:
        fig = go.Figure()
        for (name, depth_, skip), g in h.groupby(["name", "depth", "skip"], sort=False):
            label, color = f"{'ResNet' if skip else 'plain'}-{depth_}", SHADES[(skip, depth_ > 20)]
            fig.add_scatter(x=g.epoch, y=g.train_error, name=f"{label} train", line=dict(color=color, dash="dash", width=1.5))
            fig.add_scatter(x=g.epoch, y=g.test_error, name=f"{label} test", line=dict(color=color, width=3.5))
        fig.update_layout(height=440, template="plotly_white", margin=dict(l=60, r=20, t=50, b=45),
                          title="shapes: error during training (dashed: train, bold: test, as in He et al.)")
        fig.update_xaxes(title="epoch")
        ticks = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
        fig.update_yaxes(title="error (%), log scale", type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])
        st.plotly_chart(fig, key="tr_degradation", width="stretch")
        final = h.sort_values("epoch").groupby("name").last()
        st.markdown(finding(h, final))
        st.dataframe(final.reset_index(), hide_index=True)
        ui.csv_download(h, "degradation_shapes")

with st.expander("The zoo: shipped and your trained models"), ui.guard("read the zoo"):
    catalog = zoo.list()
    st.dataframe(catalog.drop(columns="path"), hide_index=True)
    ui.csv_download(catalog, "zoo")
