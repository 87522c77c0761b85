"""Inspect: one image through a trained network, block by block, and why it says what it says (Captum)."""

import math

import numpy as np
import pandas as pd
import streamlit as st

from models import zoo
from models.data import SHAPES_CLASSES, SHAPES_MEAN, SHAPES_STD, dataset_info, load_dataset
from models.resnet import ResNetConfig
from models.uploads import ALLOWED, MAX_PIXELS, Upload, decode_image
from pages import ui
from pages.ui import csv_download, guard, init_model
from viz import inspect_charts as ch
from viz.attribution import DESCRIPTIONS, attribute_all
from viz.inspect import inspect, strongest_channels

UNTRAINED = "untrained ResNet-20 (no trained model yet)"
PLOT = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 3}}


@st.cache_resource(max_entries=8, show_spinner=False)
def model_and_classes(name):
    if name == UNTRAINED:
        return init_model(ResNetConfig(depth=20, mean=SHAPES_MEAN, std=SHAPES_STD), 0), SHAPES_CLASSES
    card, model = zoo.card(name), ui.zoo_model(name)
    classes = card.get("classes") or (dataset_info(card["dataset"]).classes if card.get("dataset") in ("shapes", "cifar10")
                                      else [str(i) for i in range(model.config.num_classes)])
    return model, tuple(classes)


@st.cache_data(max_entries=4, show_spinner=False)
def gallery(name, n=30):
    if name == "shapes":
        from models.data import make_shapes
        x, y = make_shapes("test", n=n)
        return x.permute(0, 2, 3, 1).numpy(), y.numpy(), SHAPES_CLASSES
    x, y = load_dataset(name, "test")[:2]  # only when the data is already here: no download from a page
    idx = np.linspace(0, len(y) - 1, n).astype(int)
    return x[idx].permute(0, 2, 3, 1).numpy(), y[idx].numpy(), dataset_info(name).classes


@st.cache_data(max_entries=32, show_spinner=False)
def decode(data: bytes, name: str) -> Upload:
    return decode_image(data, name)


@st.cache_data(max_entries=64, show_spinner=False)
def look(name, pixels, skip, drop):
    model, classes = model_and_classes(name)
    return inspect(model, Upload.from_pixels(pixels).tensor(), classes, skip=skip, drop=drop)


@st.cache_data(max_entries=64, show_spinner=False)
def explain(name, pixels, target, block, steps, noise, layer_ig, skip, drop):
    model, _ = model_and_classes(name)
    return attribute_all(model, Upload.from_pixels(pixels).tensor(), target, block, steps, noise, layer_ig, skip, drop)


def plot(where, fig):
    where.plotly_chart(fig, width="stretch", config=PLOT)


def reset():
    for k in list(st.session_state):
        if k.startswith(("noskip-", "drop-", "chan-", "cam-", "target-")):
            del st.session_state[k]


st.title("Inspect: look inside every block")
st.caption("Upload an image, take a photo or pick one from the gallery; see what each block adds to its input, "
           "flip skips and branches off, and ask Captum why the network answers as it does.")
cat = ui.zoo_catalog()
names = cat.name.tolist() or [UNTRAINED]
if cat.empty:
    st.warning("No trained model is in the zoo yet (models/weights/ or ~/.cache/skiplab/zoo): showing an untrained "
               "ResNet-20, whose predictions mean nothing. Train one on the Train page or with "
               "`python -m models.train --dataset shapes --depth 20 --out runs/r20`.")
c_model, c_src = st.columns([2, 3])
default = next((i for i, s in enumerate(cat.skip) if s), 0) if not cat.empty else 0
acc = {} if cat.empty else {n: a for n, a in zip(cat.name, cat.test_acc) if isinstance(a, (int, float)) and not math.isnan(a)}
name = c_model.selectbox("Model", names, index=default,
                         format_func=lambda n: f"{n} (test accuracy {acc[n]:.1%})" if n in acc else n)
src = c_src.segmented_control("Image from", ["Upload", "Camera", "Gallery"], default="Upload", key="src") or "Upload"
model = up = ins = None
with guard(f"load the model {name}"):
    model, classes = model_and_classes(name)
if model is None:
    st.stop()
if src == "Gallery":
    sets = ["shapes"] + (["cifar10"] if zoo.card(name).get("dataset") == "cifar10" else []) if not cat.empty else ["shapes"]
    gset = st.radio("Gallery", sets, horizontal=True) if len(sets) > 1 else sets[0]
    with guard(f"load the {gset} test images"):
        gx, gy, gcls = gallery(gset)
        i = st.select_slider("Test image", range(len(gy)), format_func=lambda i: f"#{i} {gcls[gy[i]]}", value=3)
        up = Upload.from_pixels(gx[i], source=f"{gset} test #{i} (true class: {gcls[gy[i]]})")
else:
    f = (st.file_uploader(f"An image: {ALLOWED} (at most {MAX_PIXELS // 10**6} megapixels)", key="file")
         if src == "Upload" else st.camera_input("Take a photo", key="camera"))
    if f is not None:
        with guard(f"read {f.name}"):
            up = decode(f.getvalue(), f.name)
if up is None:
    st.info("Choose an image to inspect.")
    st.stop()  # (a refused file has its st.error above)
if up.notes:
    st.info("\n".join(f"- {n}" for n in up.notes))

n = len(model.blocks)
c1, c2, c3 = st.columns([4, 4, 1], vertical_alignment="bottom")
no_skip = c1.multiselect("Blocks without their skip (out = act(F(x)))", range(n), key=f"noskip-{name}")
dropped = c2.multiselect("Blocks with their branch removed (out = shortcut(x))", range(n), key=f"drop-{name}")
c3.button("Reset", on_click=reset, width="stretch")
skip = tuple(False if i in no_skip else None for i in range(n))
drop = tuple(i in dropped for i in range(n))

with guard("run the model on this image"):
    ins = look(name, up.pixels, skip, drop)
    a, b, c = st.columns([1, 1, 1.3])
    plot(a, ch.image_fig(up.preview, f"{up.format} {up.size[0]} x {up.size[1]}", up.crop_box))
    plot(b, ch.image_fig(up.pixels, "What the model sees: 32 x 32"))
    plot(c, ch.top_fig(ins.top))
    st.caption("The model sees the centred square (yellow box) resized to 32 x 32 (Lanczos). A centre crop, not "
               "padding: the networks learned from full-frame 32 x 32 images with no borders, so bars would be new "
               "to them and would shrink the object. " + f"Top class: {ins.top.label[0]} ({ins.top.prob[0]:.1%}).")
    csv_download(ins.top, "inspect-top5", "Predictions (CSV)")

    st.subheader("Every block: x, F(x) and the output")
    shared = st.toggle("One colour scale for all blocks (else each block's three maps share one)")
    fig, m = ch.block_maps_fig(ins.blocks, ins.x_maps, ins.f_maps, ins.out_maps, "all" if shared else "block")
    plot(st, fig)
    r = ins.blocks[~ins.blocks.dropped]
    lo, hi = (r.loc[r.residual_ratio.idxmin()], r.loc[r.residual_ratio.idxmax()]) if len(r) else (None, None)
    st.caption("Maps are channel means: red above 0, blue below. "
               + (f"Median ‖F(x)‖/‖x‖ = {r.residual_ratio.median():.2f}: from {lo.residual_ratio:.2f} (block "
                  f"{lo.block}) to {hi.residual_ratio:.2f} (block {hi.block}). " if len(r) else "Every branch is removed. ")
               + "In the first block of stages 2 and 3 the shortcut subsamples x and pads it with zero channels.")
    plot(st, ch.ratio_fig(ins.blocks))
    csv_download(ins.blocks, "inspect-blocks", "Per-block numbers (CSV)")

    blk = st.selectbox("Strongest channels of block", range(n), index=n - 1, key=f"chan-{name}")
    table, maps = strongest_channels(ins.outs[blk], k=8)
    plot(st, ch.channels_fig(maps, table, blk))
    csv_download(table, "inspect-channels", "Channels (CSV)")

if ins is None:
    st.stop()
st.subheader("Attributions (Captum)")
a1, a2, a3, a4 = st.columns(4)
target = a1.selectbox("Class to explain", range(len(classes)), index=int(ins.top.cls[0]),
                      format_func=lambda i: f"{classes[i]} ({ins.probs[i]:.1%})", key=f"target-{name}")
cam = a2.selectbox("GradCAM at block", range(n), index=n - 1, key=f"cam-{name}")
steps = a3.select_slider("IG steps", [8, 16, 32, 64, 128], value=32)
noise = 0.1 if a4.toggle("NoiseTunnel (smoothed IG)") else 0.0
layer_ig = a4.toggle("Per-block via LayerIG (slower)")
with guard("compute the attributions"):
    att = explain(name, up.pixels, target, cam, steps, noise, layer_ig, skip, drop)
    plot(st, ch.attribution_fig(up.pixels, att, classes))
    gap = float(att.ig.sum()) - att.ig_delta
    err = abs(att.ig_delta) / max(abs(gap), 1e-12)
    st.markdown("\n".join(f"- {DESCRIPTIONS[k]}" for k in ("saliency", "ig") + (("ig_nt",) if noise else ()) + ("gradcam",)))
    st.caption(f"Integrated Gradients, {steps} steps: the attributions add up to {att.ig.sum():.4g}; "
               f"score(image) - score(black) = {gap:.4g} (error {err:.1%}"
               + ("; more steps bring them closer). " if err > 0.05 else "). ")
               + (f"NoiseTunnel: 4 noisy copies (noise std {noise} of the pixel range), {max(4, steps // 4)} steps each. "
                  if noise else "") + f"Computed in {sum(att.seconds.values()):.2f} s.")
    plot(st, ch.importance_fig(att.blocks))
    st.caption(DESCRIPTIONS["blocks_layer_ig" if layer_ig else "blocks"] + (
        "" if layer_ig else f" Here: score gap {att.blocks.attrs['score_gap']:.4g}, bars sum to "
        f"{att.blocks.importance.sum():.4g}."))
    pix = pd.DataFrame({"y": np.repeat(np.arange(32), 32), "x": np.tile(np.arange(32), 32),
                        "saliency": att.saliency.ravel(), "ig": att.ig.ravel(), "gradcam": att.gradcam.ravel()})
    csv_download(att.blocks, "inspect-block-importance", "Per-block importance (CSV)")
    csv_download(pix, "inspect-attribution-maps", "Attribution maps, per pixel (CSV)")
