"""The Inspect page's charts as (figure, caption) pairs, captions computed from the numbers drawn; its data."""

import math

import numpy as np
import pandas as pd

from models.data import SHAPES_CLASSES, dataset_info, load_dataset, make_shapes, on_disk
from viz import inspect_charts as ch
from viz.attribution import DESCRIPTIONS

GALLERY = 30  # test images per gallery


def model_choices(catalog: pd.DataFrame, fallback: str):
    """The zoo catalog as a model menu: (names, default index, {name: test accuracy}); just [fallback] when the
    zoo is empty. The default is the first residual net of CIFAR-10 (real photos' classes: what a student's upload
    needs, and an upload needs no data set on disk), else the first residual net."""
    if catalog.empty:
        return [fallback], 0, {}
    acc = {n: float(a) for n, a in zip(catalog.name, catalog.test_acc, strict=True)
           if isinstance(a, (int, float)) and not math.isnan(a)}
    residual = [i for i, s in enumerate(catalog.skip) if s]
    photo = [i for i in residual if catalog.dataset.iloc[i] == "cifar10"]
    return catalog.name.tolist(), (photo or residual or [0])[0], acc


def gallery_sets(model_dataset) -> tuple[list, str]:
    """The galleries to offer for a model: its own data set first when its test images are on this machine, and
    the built-in shapes; and a note when its own are not here ("" otherwise)."""
    if model_dataset != "cifar10":
        return ["shapes"], ""
    if on_disk("cifar10"):
        return ["cifar10", "shapes"], ""
    return ["shapes"], "CIFAR-10's test images are not on this machine, so the gallery shows shapes (see the README to get them); uploads work."


def class_names(card: dict, num_classes: int) -> tuple:
    """A zoo model's class names: its card's, else its data set's, else "0", "1", ..."""
    if card.get("classes"):
        return tuple(card["classes"])
    if card.get("dataset") in ("shapes", "cifar10"):
        return tuple(dataset_info(card["dataset"]).classes)
    return tuple(str(i) for i in range(num_classes))


def gallery(name: str, n: int = GALLERY):
    """n test images of "shapes" or "cifar10" (only when already on disk: no download):
    (images (n, 32, 32, 3) uint8, labels (n,), class names)."""
    if name == "shapes":
        x, y = make_shapes("test", n=n)
        return x.permute(0, 2, 3, 1).numpy(), y.numpy(), SHAPES_CLASSES
    x, y = load_dataset(name, "test")[:2]
    idx = np.linspace(0, len(y) - 1, n).astype(int)
    return x[idx].permute(0, 2, 3, 1).numpy(), y[idx].numpy(), dataset_info(name).classes


def original(up):
    """The image as given, with the kept centre square (yellow box) where part of it is cut away. The title is
    short (the chart is a third of the page wide): the source's name without its parenthesis; the caption has it all."""
    w, h = up.size
    whole = tuple(up.crop_box) == (0, 0, up.preview.shape[1], up.preview.shape[0])
    return (ch.image_fig(up.preview, f"{up.format.split(' (')[0]}, {w} x {h}", up.crop_box),
            f"The image: {up.format}, {w} x {h} pixels"
            + ("." if whole else "; the yellow box is the centred square the model sees."))


def seen(up):
    why = ("The centred square resized to 32 x 32 (Lanczos). A centre crop, not padding: the networks learned from "
           "full-frame 32 x 32 images with no borders, so bars would be new to them and would shrink the object.")
    return ch.image_fig(up.pixels, "What the model sees: 32 x 32"), why


def top(ins):
    t = ins.top
    rest = ", ".join(f"{lab} {p:.1%}" for lab, p in zip(t.label[1:3], t.prob[1:3], strict=True))
    return ch.top_fig(t), f"Top class: {t.label[0]} ({t.prob[0]:.1%})" + (f"; then {rest}." if rest else ".")


def block_maps(ins, shared: bool):
    fig, _ = ch.block_maps_fig(ins.blocks, ins.x_maps, ins.f_maps, ins.out_maps, "all" if shared else "block")
    scale = "one colour scale for every map" if shared else "each block's three maps on one colour scale"
    return fig, (f"Channel means of x, F(x) and the output of all {len(ins.blocks)} blocks, {scale}: red above 0, "
                 "blue below. In the first block of stages 2 and 3 the shortcut subsamples x and pads it with zero "
                 "channels.")


def ratios(ins):
    r = ins.blocks[~ins.blocks.dropped]
    if not len(r):
        return ch.ratio_fig(ins.blocks), "Every branch is removed: no block adds anything to its input."
    lo, hi = r.loc[r.residual_ratio.idxmin()], r.loc[r.residual_ratio.idxmax()]
    return ch.ratio_fig(ins.blocks), (
        f"Median ‖F(x)‖/‖x‖ = {r.residual_ratio.median():.2f}: from {lo.residual_ratio:.2f} (block {lo.block}) to "
        f"{hi.residual_ratio:.2f} (block {hi.block}); a removed branch counts as 0.")


def channels(table, maps, block):
    best = table.iloc[0]
    return ch.channels_fig(maps, table, block), (
        f"Block {block}'s output channels with the largest mean activation, on one colour range; the strongest, "
        f"channel {int(best.channel)}, has mean {best['mean']:.3g} and maximum {best['max']:.3g}.")


def attributions(pixels, att, classes, steps: int, noise: float):
    """Saliency, IG (and NoiseTunnel), GradCAM maps; the caption checks IG's completeness (its sum against
    score(image) - score(black))."""
    gap = float(att.ig.sum()) - att.ig_delta
    err = abs(att.ig_delta) / max(abs(gap), 1e-12)
    return ch.attribution_fig(pixels, att, classes), (
        f"Integrated Gradients, {steps} steps: the attributions sum to {att.ig.sum():.4g}; "
        f"score(image) - score(black) = {gap:.4g} (error {err:.1%}"
        + ("; more steps bring them closer). " if err > 0.05 else "). ")
        + (f"NoiseTunnel: 4 noisy copies (noise std {noise} of the pixel range), {max(4, steps // 4)} steps each. "
           if noise else "") + f"Computed in {sum(att.seconds.values()):.2f} s.")


def importance(att, layer_ig: bool):
    """The per-block bars; the caption gives their sum beside score(network) - score(every branch removed) and
    says how far apart they are (only the gate method's sum tends to that gap, as IG steps grow)."""
    b = att.blocks
    total, gap, steps = float(b.importance.sum()), float(b.attrs["score_gap"]), b.attrs.get("steps")
    if layer_ig:
        return ch.importance_fig(b, yaxis="score change (that block alone)"), DESCRIPTIONS["blocks_layer_ig"] + (
            f" Here, {steps} steps per block: the bars sum to {total:.4g}; score(network) - score(every branch "
            f"removed) = {gap:.4g}.")
    diff = total - gap
    rel = abs(diff) / abs(gap) if gap else float("inf")
    said = (f" (difference {diff:.2g}, {rel:.1%} of the gap)." if rel <= 0.05 else
            f"; they differ by {diff:.2g}" + (f" ({rel:.0%} of the gap)" if gap else "") +
            ": at this many steps the bars are no reliable split of the gap; more IG steps bring the sum closer.")
    return ch.importance_fig(b), (DESCRIPTIONS["blocks"] + f" Here, {steps} steps: the bars sum to {total:.4g}, "
                                  f"score gap {gap:.4g}" + said)


def pixel_table(att) -> pd.DataFrame:
    """The attribution maps (32, 32) as a row per pixel: y, x, saliency, ig, gradcam."""
    return pd.DataFrame({"y": np.repeat(np.arange(32), 32), "x": np.tile(np.arange(32), 32),
                         "saliency": att.saliency.ravel(), "ig": att.ig.ravel(), "gradcam": att.gradcam.ravel()})
