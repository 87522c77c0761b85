"""Look inside every block for one image: x, F(x) and the output act(F(x) + shortcut(x)), top-5 predictions.

The blocks run through the model's block runner (`ResNet.run_blocks`) on a private copy in eval mode
(`viz.measures.common.borrowed`), so a cached model is never touched.
"""

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from models import registry
from models.data import SHAPES_CLASSES, dataset_info, load_dataset, make_shapes, on_disk
from viz.measures.common import borrowed, norm, ratio


@dataclass
class Inspection:
    """One image seen by one model. Maps are channel means: x_maps[i] (H_in, W_in), f_maps[i] and
    out_maps[i] (H_out, W_out) (a dropped block's F(x) map is all zeros); outs[i] the block output
    (C, H, W); blocks a row per block; top the five most probable classes."""

    probs: np.ndarray  # (classes,)
    logits: np.ndarray  # (classes,)
    top: pd.DataFrame  # rank, cls, label, prob
    blocks: pd.DataFrame  # block, stage, skip, dropped, x_norm, fx_norm, out_norm, residual_ratio, x_shape, out_shape
    x_maps: list
    f_maps: list
    out_maps: list
    outs: list
    classes: tuple


def inspect(model, image, classes=None, skip=None, drop=None, k=5) -> Inspection:
    """Forward one image and record every block.

    Args:
        model: a `models.resnet.ResNet` (never modified).
        image: (1, C, 32, 32) or (C, 32, 32) float in [0, 1].
        classes: class names (default "0", "1", ...).
        skip, drop: per-block overrides as for `model(x, skip=, drop=)`.
        k: how many top predictions to list.
    Returns:
        Inspection: top-k probabilities, a row per block with ||x||, ||F(x)||, ||out|| and
        residual_ratio = ||F(x)|| / ||x|| (x = the block's input, as in viz.probe), and channel-mean maps.
    """
    x = image if image.dim() == 4 else image.unsqueeze(0)
    if x.shape[0] != 1:
        raise ValueError(f"inspect looks at one image at a time, got a batch of {x.shape[0]}.")
    with borrowed(model) as net, torch.no_grad():
        skips, drops = net.overrides(skip, drop)
        steps = list(net.run_blocks(net.features(x.float()), skips, drops))
        logits = net.head(steps[-1].out)[0]
        stages = [b.stage for b in net.blocks]
    probs = torch.softmax(logits, 0)
    n = len(probs)
    classes = tuple(classes) if classes is not None else tuple(str(i) for i in range(n))
    if len(classes) != n:
        raise ValueError(f"the model has {n} classes but {len(classes)} class names were given.")
    order = torch.argsort(probs, descending=True)[: min(k, n)]
    top = pd.DataFrame({"rank": range(1, len(order) + 1), "cls": order.tolist(),
                        "label": [classes[i] for i in order.tolist()], "prob": probs[order].tolist()})
    rows, xm, fm, om, outs = [], [], [], [], []
    for st in steps:
        xi, out = st.x[0], st.out[0]  # (Cin, H, W), (Cout, H', W')
        f = st.fx[0] if st.fx is not None else torch.zeros_like(out)
        i, xn, fn = st.block, norm(xi), norm(f)
        rows.append(dict(block=i, stage=stages[i], skip=skips[i], dropped=drops[i], x_norm=xn, fx_norm=fn,
                         out_norm=norm(out), residual_ratio=ratio(fn, xn),
                         x_shape="x".join(map(str, xi.shape)), out_shape="x".join(map(str, out.shape))))
        xm.append(xi.mean(0).numpy())
        fm.append(f.mean(0).numpy())
        om.append(out.mean(0).numpy())
        outs.append(out.numpy())
    return Inspection(probs.numpy(), logits.numpy(), top, pd.DataFrame(rows), xm, fm, om, outs, classes)


def look_inside(model, image, classes=None, skip=None, drop=None):
    """One image through the network as switched and through its twin (every skip flipped), for the Inspect page.

    Args:
        model: a `models.resnet.ResNet` (never modified); image: (1, C, 32, 32) float in [0, 1].
        classes, skip, drop: as for `inspect`.
    Returns:
        (Inspection, its probe Trace, the twin's Trace, the twin's Inspection); the traces' loss is the cross-entropy
        of the image's own top class, so their gradients say what the network's answer depends on.
    """
    from viz.measures.probe import probe

    ins = inspect(model, image, classes, skip=skip, drop=drop)
    y, twin = torch.as_tensor(ins.top.cls[:1].to_numpy()), [not model.config.skip] * len(model.blocks)
    drop = list(drop) if drop is not None else None
    return (ins, probe(model, image, y, skip=list(skip) if skip is not None else None, drop=drop, bn_mode="eval"),
            probe(model, image, y, skip=twin, drop=drop, bn_mode="eval"), inspect(model, image, classes, twin, drop))


def strongest_channels(out, k=8):
    """The k channels of a block output with the largest mean activation.

    Args:
        out: (C, H, W) array, a block's output.
    Returns:
        DataFrame (rank, channel, mean, max) and maps (k, H, W), strongest first.
    """
    out = np.asarray(out)
    means = out.mean((1, 2))
    idx = np.argsort(-means, kind="stable")[: min(k, len(means))]
    table = pd.DataFrame({"rank": range(1, len(idx) + 1), "channel": idx, "mean": means[idx],
                          "max": out[idx].max((1, 2))})
    return table, out[idx]


# --- the page's data: models, galleries, class names, tables -------------------------------------------------

GALLERY = 30  # test images per gallery
UNTRAINED = "untrained-resnet20"  # the model Inspect shows while the zoo has no trained one


def model_choices(catalog: pd.DataFrame, fallback: str):
    """The zoo catalog as a model menu: (names, default index, {name: (test accuracy, on which images)}); just
    [fallback] when the zoo is empty. The default is a published CIFAR-10 ResNet (real photos' classes: what a student's upload needs), else our
    own trained CIFAR-10 ResNet, else the first residual net; only models a page may open on (`default_ok`, where the
    catalog has it: shipped and trained)."""
    if catalog.empty:
        return [fallback], 0, {}
    sample = catalog.sample_acc if "sample_acc" in catalog else pd.Series(float("nan"), index=catalog.index)
    acc = {}  # {name: (accuracy, on which images)}: the exact sample where measured (what the gallery shows)
    for n, a, sa in zip(catalog.name, catalog.test_acc, sample, strict=True):
        if isinstance(sa, (int, float)) and not math.isnan(sa):
            acc[n] = (float(sa), "on the shipped exact CIFAR-10 test images")
        elif isinstance(a, (int, float)) and not math.isnan(a):
            acc[n] = (float(a), "on its test images")
    ok = catalog.default_ok if "default_ok" in catalog else pd.Series(True, index=catalog.index)
    origin = catalog.origin if "origin" in catalog else pd.Series("", index=catalog.index)
    res = catalog.skip.astype(bool).to_numpy() & ok.to_numpy()
    cifar = np.array([isinstance(d, str) and registry.dataset(d).cifar for d in catalog.dataset], dtype=bool)
    order = [res & cifar & (origin == "published").to_numpy(), res & cifar, res, catalog.skip.astype(bool).to_numpy()]
    default = next((int(np.flatnonzero(m)[0]) for m in order if m.any()), 0)
    return catalog.name.tolist(), default, acc


def gallery_for(data: registry.DatasetRecord) -> tuple[str | None, str]:
    """The gallery a model of the data set `data` is shown (a model only ever sees images of its own data set) and a
    note: shapes for a shapes model; the shipped exact CIFAR-10 test sample for a CIFAR-10 model (on every machine; the
    published networks were trained on exact pixels); a folder model's own folder while it is on this machine, else
    (None, why)."""
    if data.generated:
        return data.name, ""
    if data.cifar:
        return registry.SAMPLE, ""
    if data.path and on_disk(data.path):
        return str(data.path), ""
    return None, ("This model's own test images are not on this machine, so there is no gallery for it; upload an "
                  "image instead.")


def class_names(model: registry.ModelRecord, num_classes: int) -> tuple:
    """A zoo model's class names: its card's, else its data set's, else "0", "1", ..."""
    return tuple(model.classes) or tuple(str(i) for i in range(num_classes))


def gallery(name: str, n: int = GALLERY):
    """n test images of a gallery (a name `models.data.load_dataset` takes), spread over the split:
    (images (n, 32, 32, 3) uint8, labels (n,), class names)."""
    if registry.dataset(name).generated:
        x, y = make_shapes("test", n=n)
        return x.permute(0, 2, 3, 1).numpy(), y.numpy(), SHAPES_CLASSES
    x, y = load_dataset(name, "test")[:2]
    idx = np.linspace(0, len(y) - 1, min(n, len(y))).astype(int)
    return x[idx].permute(0, 2, 3, 1).numpy(), y[idx].numpy(), dataset_info(name).classes


def pixel_table(att) -> pd.DataFrame:
    """The attribution maps (32, 32) as a row per pixel: y, x, saliency, ig, gradcam."""
    return pd.DataFrame({"y": np.repeat(np.arange(32), 32), "x": np.tile(np.arange(32), 32),
                         "saliency": att.saliency.ravel(), "ig": att.ig.ravel(), "gradcam": att.gradcam.ravel()})



def accuracy_note(catalog: pd.DataFrame, acc: dict, name: str) -> str | None:
    """A model's test accuracy in words, from `model_choices`' accuracies (None where it has none)."""
    label = dict(zip(catalog.name, catalog.label, strict=True)).get(name, name) if len(catalog) else name
    return f"{label}: test accuracy {acc[name][0]:.1%} {acc[name][1]}." if name in acc else None


def switches(n: int, no_skip, dropped) -> tuple[tuple, tuple]:
    """(skip, drop) for a model's call from the blocks chosen: skip[i] = False removes block i's skip (None keeps the
    config's), drop[i] = True removes its branch."""
    return tuple(False if i in no_skip else None for i in range(n)), tuple(i in dropped for i in range(n))
