"""Inspect: one image through a trained network, block by block, and why it says what it says (Captum)."""

import streamlit as st

from models import zoo
from models.data import SHAPES_CLASSES, SHAPES_MEAN, SHAPES_STD
from models.resnet import ResNetConfig
from models.uploads import ALLOWED, MAX_PIXELS, Upload, decode_image
from pages import ui
from pages.ui import csv_download, guard, init_model
from viz import inspect_views as iv
from viz.attribution import DESCRIPTIONS, attribute_all
from viz.inspect import inspect, strongest_channels

UNTRAINED = "untrained-resnet20"  # (no trained model yet)
PLOT = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 3}}


@st.cache_resource(max_entries=8, show_spinner=False)
def model_and_classes(name, sha256):
    """The model and its class names; sha256 (ui.weights_id) keys the cache on the weights, not just the name."""
    if name == UNTRAINED:
        return init_model(ResNetConfig(depth=20, mean=SHAPES_MEAN, std=SHAPES_STD), 0), SHAPES_CLASSES
    model = ui.zoo_model(name)
    return model, iv.class_names(zoo.card(name), model.config.num_classes)


@st.cache_data(max_entries=4, show_spinner=False)
def gallery(name):
    return iv.gallery(name)


@st.cache_data(max_entries=32, show_spinner=False)
def decode(data: bytes, name: str) -> Upload:
    return decode_image(data, name)


@st.cache_data(max_entries=64, show_spinner=False)
def look(name, sha256, pixels, skip, drop):
    model, classes = model_and_classes(name, sha256)
    return inspect(model, Upload.from_pixels(pixels).tensor(), classes, skip=skip, drop=drop)


@st.cache_data(max_entries=64, show_spinner=False)
def explain(name, sha256, pixels, target, block, steps, noise, layer_ig, skip, drop):
    model, _ = model_and_classes(name, sha256)
    return attribute_all(model, Upload.from_pixels(pixels).tensor(), target, block, steps, noise, layer_ig, skip, drop)


def chart(pair):
    ui.show_chart(pair, config=PLOT)


def switches_on():
    """Reset, and a new model: every skip and branch back on (a link's values are set, not deleted, since a
    deleted bound widget is seeded from the link again)."""
    st.session_state.ins_noskip, st.session_state.ins_drop = [], []


LABELS = {"ins_model": "model", "ins_src": "image source", "ins_gallery": "gallery", "ins_image": "test image (0 to 29)",
          "ins_noskip": "list of blocks", "ins_drop": "list of blocks", "ins_shared": "switch (true or false)",
          "ins_chan": "block", "ins_class": "class", "ins_cam": "block", "ins_steps": "number of steps (8 to 128)",
          "ins_noise": "switch (true or false)", "ins_layerig": "switch (true or false)"}


st.title("Inspect: look inside every block")
st.caption("Upload an image, take a photo or pick one from the gallery; see what each block adds to its input, "
           "flip skips and branches off, and ask Captum why the network answers as it does.")
cat = ui.zoo_catalog()
names, default, acc = iv.model_choices(cat, UNTRAINED)
if cat.empty:
    st.warning("No trained model is in the zoo yet (models/weights/ or ~/.cache/skiplab/zoo): showing an untrained "
               "ResNet-20, whose predictions mean nothing. Train one on the Train page or with "
               "`python -m models.train --dataset shapes --depth 20 --out runs/r20`.")
with ui.url_bound(LABELS):
    c_model, c_src = st.columns([2, 3])
    name = c_model.selectbox("Model", names, index=default, key="ins_model", bind="query-params", on_change=switches_on)
    if name in acc:
        c_model.caption(f"Test accuracy {acc[name]:.1%}.")
    src = c_src.segmented_control("Image from", ["Upload", "Camera", "Gallery"], default="Upload", key="ins_src",
                                  bind="query-params") or "Upload"
    if src == "Gallery":
        sets, note = iv.gallery_sets(next(iter(cat[cat.name == name].dataset), None))
        if note:
            st.caption(note)
        gset = st.radio("Gallery", sets, horizontal=True, key="ins_gallery", bind="query-params") if len(sets) > 1 else sets[0]
        i = st.slider("Test image", 0, iv.GALLERY - 1, 3, key="ins_image", bind="query-params")
model = up = ins = None
with guard(f"load the model {name}"):
    sha256 = "" if name == UNTRAINED else ui.weights_id(name)
    model, classes = model_and_classes(name, sha256)
if model is None:
    st.stop()
if src == "Gallery":
    with guard(f"load the {gset} test images"):
        gx, gy, gcls = gallery(gset)
        up = Upload.from_pixels(gx[i], source=f"{gset} test #{i} (true class: {gcls[gy[i]]})")
else:  # (an upload or a photo cannot be put in a link)
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
with ui.url_bound(LABELS):
    c1, c2, c3 = st.columns([4, 4, 1], vertical_alignment="bottom")
    no_skip = c1.multiselect("Blocks without their skip (out = act(F(x)))", range(n), key="ins_noskip", bind="query-params")
    dropped = c2.multiselect("Blocks with their branch removed (out = shortcut(x))", range(n), key="ins_drop",
                             bind="query-params")
    c3.button("Reset", on_click=switches_on, width="stretch", help="Every skip and branch back on.")
    skip = tuple(False if i in no_skip else None for i in range(n))
    drop = tuple(i in dropped for i in range(n))

    with guard("run the model on this image"):
        ins = look(name, sha256, up.pixels, skip, drop)
        for col, pair in zip(st.columns([1, 1, 1.3]), (iv.original(up), iv.seen(up), iv.top(ins)), strict=True):
            with col:
                chart(pair)
        csv_download(ins.top, "inspect-top5", "Predictions (CSV)")

        st.subheader("Every block: x, F(x) and the output")
        shared = st.toggle("One colour scale for all blocks (else each block's three maps share one)", key="ins_shared",
                           bind="query-params")
        chart(iv.block_maps(ins, shared))
        chart(iv.ratios(ins))
        csv_download(ins.blocks, "inspect-blocks", "Per-block numbers (CSV)")

        blk = st.selectbox("Strongest channels of block", range(n), index=n - 1, key="ins_chan", bind="query-params")
        table, maps = strongest_channels(ins.outs[blk], k=8)
        chart(iv.channels(table, maps, blk))
        csv_download(table, "inspect-channels", "Channels (CSV)")

if ins is None:
    st.stop()
st.subheader("Attributions (Captum)")
# A new image (or model) explains its own top class: a keyed selectbox would keep the last image's choice. The first
# image of a session keeps what a link asked for.
seen = (name, hash(up.pixels.tobytes()))
if st.session_state.get("_ins_seen") not in (None, seen) and "ins_class" in st.session_state:
    st.session_state["ins_class"] = classes[int(ins.top.cls[0])]
st.session_state["_ins_seen"] = seen
with ui.url_bound(LABELS):
    a1, a2, a3, a4 = st.columns(4)
    label = a1.selectbox("Class to explain", classes, index=int(ins.top.cls[0]), key="ins_class", bind="query-params")
    target = classes.index(label)
    a1.caption(f"The model gives it {ins.probs[target]:.1%}.")
    cam = a2.selectbox("GradCAM at block", range(n), index=n - 1, key="ins_cam", bind="query-params")
    steps = a3.select_slider("IG steps", [8, 16, 32, 64, 128], value=32, key="ins_steps", bind="query-params")
    noise = 0.1 if a4.toggle("NoiseTunnel (smoothed IG)", key="ins_noise", bind="query-params") else 0.0
    layer_ig = a4.toggle("Per-block via LayerIG (slower)", key="ins_layerig", bind="query-params")
with guard("compute the attributions"):
    att = explain(name, sha256, up.pixels, target, cam, steps, noise, layer_ig, skip, drop)
    chart(iv.attributions(up.pixels, att, classes, steps, noise))
    st.markdown("\n".join(f"- {DESCRIPTIONS[k]}" for k in ("saliency", "ig") + (("ig_nt",) if noise else ()) + ("gradcam",)))
    chart(iv.importance(att, layer_ig))
    csv_download(att.blocks, "inspect-block-importance", "Per-block importance (CSV)")
    csv_download(iv.pixel_table(att), "inspect-attribution-maps", "Attribution maps, per pixel (CSV)")
