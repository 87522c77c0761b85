"""Inspect: one image through a trained network, block by block, and why it says what it says (Captum)."""

import streamlit as st

from models import zoo
from models.data import SHAPES_CLASSES
from models.resnet import ResNetConfig
from models.uploads import ALLOWED, MAX_PIXELS, Upload, decode_image
from pages import ui
from viz import inspect as I
from viz import inspect_charts as ch
from viz import network_charts
from viz.attribution import attribute_all

UNTRAINED = "untrained-resnet20"  # (no trained model yet)


@st.cache_resource(max_entries=8, show_spinner=False)
def model_and_classes(name, sha256):
    """The model, its class names and its gallery; sha256 (ui.weights_id) keys the cache on the weights."""
    if name == UNTRAINED:
        return ui.init_model(ResNetConfig(depth=20, **ui.SHAPES_STATS), 0), SHAPES_CLASSES, ("shapes", "")
    model, card = ui.zoo_model(name), zoo.card(name)
    return model, I.class_names(card, model.config.num_classes), I.gallery_for(card.get("dataset"), card.get("data_path"))


gallery = st.cache_data(max_entries=4, show_spinner=False)(I.gallery)
decode = st.cache_data(max_entries=32, show_spinner=False)(decode_image)


@st.cache_data(max_entries=64, show_spinner=False)
def look(name, sha256, pixels, skip, drop):
    """(inspection, trace, twin's trace, twin's inspection) of one image: `viz.inspect.look_inside`."""
    model, classes, _ = model_and_classes(name, sha256)
    return I.look_inside(model, Upload.from_pixels(pixels).tensor(), classes, skip, drop)


@st.cache_data(max_entries=64, show_spinner=False)
def explain(name, sha256, pixels, target, block, steps, noise, layer_ig, skip, drop):
    model, _, _ = model_and_classes(name, sha256)
    return attribute_all(model, Upload.from_pixels(pixels).tensor(), target, block, steps, noise, layer_ig, skip, drop)


def switches_on():
    """Reset, and a new model: every skip and branch back on (set, not deleted: the link would seed it again)."""
    st.session_state.ins_noskip, st.session_state.ins_drop = [], []


LABELS = {"ins_model": "model", "ins_src": "image source", "ins_noskip": "list of blocks", "ins_drop": "list of blocks",
          "ins_chan": "block", "ins_class": "class", "ins_cam": "block", "ins_steps": "number of steps (8 to 128)",
          "ins_image": f"test image (0 to {I.GALLERY - 1})"}

st.title("Inspect: look inside every block")
st.caption("A test image (or yours) through a trained network: open any block, switch skips off, ask Captum why.")
cat = ui.zoo_catalog()
names, default, acc = I.model_choices(cat, UNTRAINED)
labels = dict(zip(cat.name, cat.label, strict=True)) if len(cat) else {}
if cat.empty:
    st.warning("No trained model is in the zoo yet (models/weights/ or ~/.cache/skiplab/zoo): showing an untrained "
               "ResNet-20, whose predictions mean nothing. Train one on the Train page.")
with ui.controls(), ui.url_bound(LABELS):
    c_model, c_src = st.columns([2, 3])
    name = c_model.selectbox("Model", names, index=default, key="ins_model", bind="query-params", on_change=switches_on,
                             help="The trained network to look inside (zoo names: a link holds them as written).")
    if name in acc:
        c_model.caption(f"{labels.get(name, name)}: test accuracy {acc[name][0]:.1%} {acc[name][1]}.")
    src = c_src.segmented_control("Image from", ["Gallery", "Upload", "Camera"], default="Gallery", key="ins_src",
                                  bind="query-params", help="Test images of the model's own data set, a file of "
                                  "yours, or a photo from your camera.") or "Gallery"
    if src == "Gallery":
        i = st.slider("Test image", 0, I.GALLERY - 1, 3, key="ins_image", bind="query-params",
                      help="One of 30 test images of the model's own data set.")
model = up = ins = None
with ui.guard(f"load the model {name}"):
    sha256 = "" if name == UNTRAINED else ui.weights_id(name)
    model, classes, (gset, gnote) = model_and_classes(name, sha256)
if model is None:
    st.stop()
if src == "Gallery" and gset is None:
    st.info(gnote)
elif src == "Gallery":
    with ui.guard(f"load the {gset} test images"):
        gx, gy, gcls = gallery(gset)
        up = Upload.from_pixels(gx[i], source=f"{gset} test #{i} (true class: {gcls[gy[i]]})")
else:  # (an upload or a photo cannot be put in a link)
    f = (st.file_uploader(f"An image: {ALLOWED} (at most {MAX_PIXELS // 10**6} megapixels)", key="file")
         if src == "Upload" else st.camera_input("Take a photo", key="camera"))
    if f is not None:
        with ui.guard(f"read {f.name}"):
            up = decode(f.getvalue(), f.name)
if up is None:
    st.info("Choose an image to inspect.")
    st.stop()  # (a refused file has its st.error above)
if up.notes:
    st.info("\n".join(f"- {n}" for n in up.notes))

n = len(model.blocks)
with ui.controls("Switches"), ui.url_bound(LABELS):
    c1, c2, c3 = st.columns([4, 4, 1], vertical_alignment="bottom")
    no_skip = c1.multiselect("Blocks without their skip (out = act(F(x)))", range(n), key="ins_noskip",
                             bind="query-params", help="These blocks lose their + x: out = act(F(x)).")
    dropped = c2.multiselect("Blocks with their branch removed (out = shortcut(x))", range(n), key="ins_drop",
                             bind="query-params", help="These blocks lose F: they pass their input on.")
    c3.button("Reset", on_click=switches_on, width="stretch", help="Every skip and branch back on.")
    skip = tuple(False if i in no_skip else None for i in range(n))
    drop = tuple(i in dropped for i in range(n))

with ui.guard("run the model on this image"):
    ins, here, twin, twin_ins = look(name, sha256, up.pixels, skip, drop)
    for col, pair in zip(st.columns([1, 1, 1.3]), (ch.original(up), ch.seen(up), ch.top(ins)), strict=True):
        with col:
            ui.show_chart(pair)
    ui.csv_download(ins.top, "inspect-top5", "Predictions (CSV)")

    st.subheader("The network: click a block to open it")
    ui.follow_pick("ins_pick", "ins_chan", n)
    with ui.controls("Block"), ui.url_bound(LABELS):
        blk = st.selectbox("Block", range(n), index=n - 1, key="ins_chan", bind="query-params",
                           help="The block opened below (clicking its tile in the picture sets it).")
    arch = dict(norm=model.config.norm, activation=model.config.activation, shortcut=model.config.shortcut)
    ui.show_chart(network_charts.network(here, "residual_ratio", selected=blk, **arch), key="ins_pick",
                  on_select="rerun")
    maps = [{"x": a.x_maps[blk], "F(x)": a.f_maps[blk], "out": a.out_maps[blk]} for a in (ins, twin_ins)]
    ui.show_chart(network_charts.block_detail([here, twin], blk, maps=maps, **arch))
    table, chans = I.strongest_channels(ins.outs[blk], k=8)
    ui.show_chart(ch.channels(table, chans, blk))
    ui.csv_download(table, "inspect-channels", "Channels (CSV)")
    st.subheader("Every block at once: x, F(x) and out")
    with ui.url_bound(LABELS):
        shared = st.toggle("One colour scale for all blocks (else each block's three maps share one)",
                           key="ins_shared", bind="query-params", help="Compare sizes across blocks, or each block.")
    ui.show_chart(ch.block_maps(ins, shared))
    ui.show_chart(ch.ratios(ins))
    ui.csv_download(ins.blocks, "inspect-blocks", "Per-block numbers (CSV)")

if ins is None:
    st.stop()
st.subheader("Attributions (Captum)")
with ui.controls("Attribution settings"), ui.url_bound(LABELS):
    ui.follow_new("ins_class", classes[int(ins.top.cls[0])], (name, hash(up.pixels.tobytes())), classes)  # its own top
    a1, a2, a3, a4 = st.columns(4)
    label = a1.selectbox("Class to explain", classes, key="ins_class", bind="query-params",
                         help="The class whose score the attributions explain.")
    target = classes.index(label)
    a1.caption(f"The model gives it {ins.probs[target]:.1%}.")
    cam = a2.selectbox("GradCAM at block", range(n), index=n - 1, key="ins_cam", bind="query-params",
                       help="The block whose output GradCAM weighs.")
    steps = a3.select_slider("IG steps", [8, 16, 32, 64, 128], value=32, key="ins_steps", bind="query-params",
                             help="More steps: more exact Integrated Gradients, slower.")
    noise = 0.1 if a4.toggle("NoiseTunnel (smoothed IG)", key="ins_noise", bind="query-params",
                             help="Averages IG over noisy copies of the image.") else 0.0
    layer_ig = a4.toggle("Per-block via LayerIG (slower)", key="ins_layerig", bind="query-params",
                         help="Per-block importance from LayerIntegratedGradients instead of branch gates.")
with ui.guard("compute the attributions"):
    att = explain(name, sha256, up.pixels, target, cam, steps, noise, layer_ig, skip, drop)
    ui.show_chart(ch.attributions(up.pixels, att, classes, steps, noise))
    ui.show_chart(ch.importance(att, layer_ig))
    ui.csv_download(att.blocks, "inspect-block-importance", "Per-block importance (CSV)")
    ui.csv_download(I.pixel_table(att), "inspect-attribution-maps", "Attribution maps, per pixel (CSV)")
