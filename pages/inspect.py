"""Inspect: one image through a trained network, block by block, and why it says what it says (Captum)."""

import streamlit as st

from frame import ui
from models import registry
from models.data import SHAPES_CLASSES
from models.resnet import ResNetConfig
from models.uploads import ALLOWED, MAX_PIXELS, Upload, decode_image
from viz.charts import inspect as ch
from viz.charts import network_overview
from viz.measures import budget
from viz.measures import inspect as I
from viz.measures.attribution import attribute_all
from viz.words import model_name

ui.require_frame(__file__)


@st.cache_resource(max_entries=8, show_spinner=False)
def model_and_classes(name, sha256):  # the model, its class names, its gallery; sha256 keys the cache on the weights
    if name == I.UNTRAINED:
        return ui.init_model(ResNetConfig(depth=20, **ui.SHAPES_STATS), 0), SHAPES_CLASSES, I.gallery_for(registry.dataset(registry.SHAPES))
    model, record = ui.zoo_model(name), registry.model(name)
    return model, I.class_names(record, model.config.num_classes), I.gallery_for(record.dataset)


gallery = st.cache_data(max_entries=4, show_spinner=False)(I.gallery)
decode = st.cache_data(max_entries=32, show_spinner=False)(decode_image)


IG_STEPS = [8, 16, 32, 64, 128]


def within_budget(cfg, steps: int, noise: bool):
    """Refuse (budget.OverBudget: ui.guard shows its sentence) attributions over the memory budget, before Captum
    allocates anything, naming the most IG steps that fit."""
    fits = [s for s in IG_STEPS if budget.attribution_mb(cfg.depth, s, noise, cfg.width) <= budget.request_budget_mb()]
    lower = f"the IG steps to {fits[-1]}" if fits else "the network's depth: choose a shallower model"
    budget.check(budget.attribution_mb(cfg.depth, steps, noise, cfg.width), f"Attributions of {cfg.name} at "
                 f"{steps} IG steps{' with the NoiseTunnel' if noise else ''}", lower)


@st.cache_data(max_entries=64, show_spinner=False)
def look(name, sha256, pixels, skip, drop):  # (inspection, trace, twin's trace, twin's inspection): I.look_inside
    model, classes, _ = model_and_classes(name, sha256)
    return I.look_inside(model, Upload.from_pixels(pixels).tensor(), classes, skip, drop)


@ui.cache_results(max_entries=64)
def look_gallery(name, sha256, gset, i, skip, drop):  # look() at a gallery image: also kept on disk (frame/store.py)
    return look(name, sha256, gallery(gset)[0][i], skip, drop)


def drawn(build, key, *args, **kw):
    """A gallery image's chart (key: what it depends on) built once for every session, also on disk
    (ui.cached_chart); an upload's (key None) built for this run only: a visitor's image never goes to the disk."""
    return build(*args, **kw) if key is None else ui.cached_chart(build, key, *args, **kw)


@st.cache_data(max_entries=64, show_spinner=False)
def explain(name, sha256, pixels, *args):  # args: target, block, steps, noise, layer_ig, skip, drop
    return attribute_all(model_and_classes(name, sha256)[0], Upload.from_pixels(pixels).tensor(), *args)


def switches_on():  # Reset, and a new model: every skip and branch on (set, not deleted: a link would seed it again)
    st.session_state.ins_noskip, st.session_state.ins_drop = [], []


def open_block():  # a block clicked in the picture opens it: the chart under the picture becomes its detail
    if ((st.session_state.get("ins_pick") or {}).get("selection") or {}).get("points"):
        st.session_state["ins_show"] = ch.VIEWS[0]


def chart_settings(n, classes, ins):  # the chart under the picture, its block, every chart's settings (links: all)
    left, mid, right = st.columns([5, 1, 1.4], vertical_alignment="bottom")
    show = left.segmented_control("Show", ch.VIEWS, default=ui.initial("ins_show", ch.VIEWS[0]), key="ins_show",
                                  bind="query-params",
                                  help="Which chart is drawn under the picture; clicking a block opens it.")
    blk = mid.selectbox("Block", range(n), index=ui.initial("ins_chan", n - 1), key="ins_chan", bind="query-params",
                        help="The block opened below (clicking its tile in the picture sets it).")
    with right.popover("Chart settings", icon=":material/tune:", width="stretch"):
        shared = st.toggle("Every block: one colour scale for all blocks", key="ins_shared", bind="query-params",
                           help="Compare sizes across blocks, or (off) each block's three maps on their own scale.")
        ui.follow_new("ins_class", classes[int(ins.top.cls[0])], (name, hash(up.pixels.tobytes())), classes)
        label = st.selectbox("Class to explain", classes, key="ins_class", bind="query-params",
                             help="The class whose score the attributions explain.")
        st.caption(f"The model gives it {ch.confidence(ins.probs[classes.index(label)])}.")
        cam = st.selectbox("GradCAM at block", range(n), index=n - 1, key="ins_cam", bind="query-params",
                           help="The block whose output GradCAM weighs.")
        steps = st.select_slider("IG steps", IG_STEPS, value=32, key="ins_steps", bind="query-params",
                                 help="More steps: more exact Integrated Gradients, slower.")
        noise = 0.1 if st.toggle("NoiseTunnel (smoothed IG)", key="ins_noise", bind="query-params",
                                 help="Averages IG over noisy copies of the image.") else 0.0
        layer_ig = st.toggle("Per-block via LayerIG (slower)", key="ins_layerig", bind="query-params",
                             help="Per-block importance from LayerIntegratedGradients instead of branch gates.")
    return show, blk, shared, (classes.index(label), cam, steps, noise, layer_ig)


LABELS = {"ins_model": "model", "ins_src": "image source", "ins_noskip": "list of blocks", "ins_drop": "list of blocks",
          "ins_chan": "block", "ins_class": "class", "ins_cam": "block", "ins_steps": "number of steps (8 to 128)",
          "ins_image": f"test image (0 to {I.GALLERY - 1})", "ins_show": "chart"}

st.title("Inspect: look inside every block")
ui.intro("A test image (or yours) through a trained network: open any block, switch skips off, ask Captum why.")
cat = ui.zoo_catalog()
names, default, acc = I.model_choices(cat, I.UNTRAINED)
if cat.empty:
    st.warning("No trained model is in the zoo yet: an untrained ResNet-20 (its predictions mean nothing). Train one.")
with ui.controls(), ui.url_bound(LABELS):
    c_model, c_src = st.columns([2, 3])
    name = c_model.selectbox("Model", names, index=default, key="ins_model", bind="query-params", on_change=switches_on,
                             format_func=model_name, help="The trained network to look inside (a link holds its "
                                                          "name as shown).")
    if note := I.accuracy_note(cat, acc, name):
        c_model.caption(note)
    src = c_src.segmented_control("Image from", ["Gallery", "Upload", "Camera"], default="Gallery", key="ins_src",
                                  bind="query-params", help="The model's own test images, a file, or a photo.") or "Gallery"
    if src == "Gallery":
        i = st.slider("Test image", 0, I.GALLERY - 1, 3, key="ins_image", bind="query-params",
                      help="One of 30 test images of the model's own data set.")
model = up = ins = show = pairs = tables = image = None  # image: (gallery, index), None for an upload
with ui.guard(f"load the model {name}"):
    sha256 = "" if name == I.UNTRAINED else ui.weights_id(name)
    model, classes, (gset, gnote) = model_and_classes(name, sha256)
if model is None:
    st.stop()
if src == "Gallery" and gset is None:
    st.info(gnote)
elif src == "Gallery":
    with ui.guard(f"load the {gset} test images"):
        gx, gy, gcls = gallery(gset)
        up = Upload.from_pixels(gx[i], source=f"{gset} test #{i} (true class: {gcls[gy[i]]})")
        image = (gset, i)
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
    skip, drop = I.switches(n, no_skip, dropped)

with ui.guard("run the model on this image"):
    with ui.heavy(f"Running {name} and its twin on this image, block by block"):
        ins, here, twin, twin_ins = (look(name, sha256, up.pixels, skip, drop) if image is None
                                     else look_gallery(name, sha256, *image, skip, drop))
    key = None if image is None else (name, sha256, image, tuple(skip), tuple(drop))
    for col, pair in zip(st.columns([1, 1, 1.3]), (drawn(ch.original, key, up), drawn(ch.seen, key, up),
                                                   drawn(ch.top, key, ins)), strict=True):
        with col:
            ui.show_chart(pair)
    ui.csv_download(ins.top, "inspect-top5", "Predictions (CSV)")

    st.subheader("The network: click a block to open it")
    ui.follow_pick("ins_pick", "ins_chan", n)
    with ui.url_bound(LABELS):
        show, blk, shared, (target, cam, steps, noise, layer_ig) = chart_settings(n, classes, ins)
    arch = dict(norm=model.config.norm, activation=model.config.activation, shortcut=model.config.shortcut)
    ui.show_chart(drawn(network_overview.network, key and (*key, blk), here, "residual_ratio", selected=blk, **arch),
                  key="ins_pick", on_select=open_block)
    pairs, tables = drawn(ch.view, key and (*key, show, blk, shared), show, ins, here, twin, twin_ins, blk, shared, arch)
if ins is not None and show == ch.VIEWS[3]:
    with ui.guard("compute the attributions"):
        within_budget(model.config, steps, noise > 0)
        with ui.heavy(f"Attributions: saliency, integrated gradients ({steps} steps), GradCAM"):
            att = explain(name, sha256, up.pixels, target, cam, steps, noise, layer_ig, skip, drop)
        pairs, tables = ch.explained(up.pixels, att, classes, steps, noise, layer_ig)
for pair in pairs or ():
    ui.show_chart(pair)
for table in tables or ():
    ui.csv_download(*table)
