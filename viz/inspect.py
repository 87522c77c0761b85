"""Look inside every block for one image: x, F(x) and the output act(F(x) + shortcut(x)), top-5 predictions.

The blocks run through the model's block runner (`ResNet.run_blocks`) on a private copy in eval mode
(`viz.measure.borrowed`), so a cached model is never touched.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from viz.measure import borrowed, norm, ratio


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
