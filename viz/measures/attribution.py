"""Captum (0.9) attributions for one image and one target class, through the model's per-call skip/drop.

Captum calls `forward(inputs)` only, so `Switched` wraps a private copy of the model (parameters shared,
modules and hooks our own) and passes skip/drop on. The target score is the class's logit. The baseline
is a black image (all zeros), Captum's default.
"""

import contextlib
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from captum.attr import (
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    LayerIntegratedGradients,
    NoiseTunnel,
    Saliency,
)
from torch import nn

from viz.measures.common import measuring, private_copy

DESCRIPTIONS = {
    "saliency": "Saliency: the largest absolute gradient of the class score over the three colour channels of each "
    "pixel: the pixels that would change the score most if nudged a little.",
    "ig": "Integrated Gradients: the gradient averaged along the straight path from a black image to this one, "
    "times (image - black), summed over colour channels; red raises the class score, blue lowers it, and "
    "as the steps grow all of it adds up to score(image) - score(black) (the caption gives both numbers).",
    "ig_nt": "Integrated Gradients with NoiseTunnel (SmoothGrad): the average of the Integrated Gradients maps of "
    "noisy copies of the image (Gaussian noise), which removes speckle that a tiny change of the image would move.",
    "gradcam": "LayerGradCam: the chosen block's output channels, each weighted by the mean gradient of the class "
    "score over that channel, summed and clipped at 0, then upsampled to 32 x 32: where that block's "
    "evidence for the class lies.",
    "blocks": "Per-block importance (Integrated Gradients over a gate on each residual branch, "
    "out = act(g * F(x) + x), or act(g * F(x)) without the skip, every g going from 0 to 1 together): each block's share of "
    "score(network) - score(every branch removed); the shares add up to that difference only in the limit of many "
    "IG steps, and at a few steps they can miss it by more than the difference itself.",
    "blocks_layer_ig": "Per-block importance (LayerIntegratedGradients on each residual branch F, one Captum call per "
    "block): how much the class score changes when that block's F(x) goes from its value for a black image "
    "to its value for this image, everything else as for this image; each bar is complete for its own block only "
    "(the blocks' changes interact), so the bars need not add up to any one score difference.",
}


class Switched(nn.Module):
    """forward(x) = model(x, skip=skip, drop=drop): the one-argument forward Captum expects."""

    def __init__(self, model, skip, drop):
        super().__init__()
        self.model, self.skip, self.drop = model, skip, drop

    def forward(self, x):
        return self.model(x, skip=self.skip, drop=self.drop)


def _wrap(model, skip, drop):
    """(the one-argument forward on a private eval copy, the copy, drops). A model that is such a copy already (from
    `attribute_all`, one copy for all five methods) is used as it is."""
    net = model if getattr(model, "_attribution_copy", False) else private_copy(model).eval()
    net._attribution_copy = True
    skips, drops = net.overrides(skip, drop)
    return Switched(net, skips, drops), net, drops


def _one(x):
    x = x if x.dim() == 4 else x.unsqueeze(0)
    if x.shape[0] != 1:
        raise ValueError(f"attributions are computed for one image at a time, got {x.shape[0]}.")
    return x.float().detach()


@measuring()  # each method holds a measurement slot (viz.measures.common.measuring), as the probe does
def saliency(model, x, target, skip=None, drop=None):
    """Saliency map. x: (1, C, 32, 32) in [0, 1]; target: class index. Returns (32, 32): max |d score / d pixel|."""
    fwd, _, _ = _wrap(model, skip, drop)
    a = Saliency(fwd).attribute(_one(x).requires_grad_(), target=int(target), abs=True)  # (1, C, 32, 32)
    return a[0].amax(0).numpy()


@measuring()
def integrated_gradients(model, x, target, steps=32, skip=None, drop=None, noise=0.0, samples=4, seed=0):
    """Integrated Gradients from a black baseline.

    Args:
        x: (1, C, 32, 32) in [0, 1]; target: class index; steps: Gauss-Legendre points on the path.
        noise: >0 wraps IG in Captum's NoiseTunnel (smoothgrad) with this noise std (in [0, 1] pixel units)
            over `samples` noisy copies.
    Returns:
        attr (C, 32, 32) and delta = sum(attr) - (score(x) - score(black)) (only without noise; else nan).
    """
    fwd, _, _ = _wrap(model, skip, drop)
    x = _one(x)
    ig = IntegratedGradients(fwd)
    base = torch.zeros_like(x)
    if noise > 0:
        with torch.random.fork_rng(devices=[]):  # NoiseTunnel draws from torch's global generator: seed, then restore
            torch.manual_seed(seed)
            a = NoiseTunnel(ig).attribute(x, nt_type="smoothgrad", nt_samples=int(samples), stdevs=float(noise),
                                          baselines=base, target=int(target), n_steps=int(steps))
        return a[0].detach().numpy(), float("nan")
    a, delta = ig.attribute(x, baselines=base, target=int(target), n_steps=int(steps), return_convergence_delta=True)
    return a[0].detach().numpy(), float(delta[0])


@measuring()
def gradcam(model, x, target, block, skip=None, drop=None):
    """LayerGradCam at a block's output. x: (1, C, 32, 32); block: index into model.blocks.

    Returns:
        (32, 32) upsampled map (bilinear) and the raw (H, W) map at the block's resolution.
    """
    fwd, net, _ = _wrap(model, skip, drop)
    if not 0 <= int(block) < len(net.blocks):
        raise ValueError(f"block must be 0..{len(net.blocks) - 1}, not {block}.")
    x = _one(x)
    raw = LayerGradCam(fwd, net.blocks[int(block)]).attribute(x, target=int(target), relu_attributions=True)
    up = LayerAttribution.interpolate(raw, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    return up[0, 0].detach().numpy(), raw[0, 0].detach().numpy()


@contextlib.contextmanager
def _gated(net, gates):
    """Forward hooks scaling each block's branch output F by gates[0][:, i] (B, n_blocks); removed in `finally`."""
    handles = []
    try:
        for i, b in enumerate(net.blocks):
            handles.append(b.branch.register_forward_hook(
                lambda m, a, out, i=i: out * gates[0][:, i].view(-1, 1, 1, 1).to(out.dtype)))
        yield
    finally:
        for h in handles:
            h.remove()


@measuring()
def branch_gates(model, x, target, steps=32, skip=None, drop=None):
    """Per-block importance: Captum IntegratedGradients over branch gates g (one per block), from all 0 to all 1.

    Block i computes act(g_i * F_i(x) + shortcut(x)) (or act(g_i * F_i(x)) where its skip is off).
    Args:
        x: (1, C, 32, 32) in [0, 1]; target: class index; steps: IG points.
    Returns:
        DataFrame, a row per block: block, stage, importance (its sum tends to score(g=1) - score(g=0) as
        steps grow; at few steps it can be far off), and the attrs `delta` (Captum's completeness error:
        sum - gap), `score_gap` = score(g=1) - score(g=0) and `steps`.
    """
    fwd, net, drops = _wrap(model, skip, drop)
    x = _one(x)
    n = len(net.blocks)
    holder = [None]

    def f(g):  # g: (B, n_blocks) -> scores (B, classes)
        holder[0] = g
        return fwd(x.expand(g.shape[0], -1, -1, -1))

    one = torch.ones(1, n)
    with _gated(net, holder):
        a, delta = IntegratedGradients(f).attribute(one, baselines=torch.zeros_like(one), target=int(target),
                                                    n_steps=int(steps), return_convergence_delta=True)
    df = pd.DataFrame({"block": range(n), "stage": [b.stage for b in net.blocks], "importance": a[0].detach().numpy()})
    df.loc[drops, "importance"] = 0.0  # a dropped block has no branch: its gate changes nothing
    df.attrs.update(delta=float(delta[0]), score_gap=_all_branches_gap(net, fwd, x, target), steps=int(steps))
    return df


def _all_branches_gap(net, fwd, x, target):
    """score(every gate 1) - score(every gate 0) for one image x (1, C, 32, 32): the network against the same
    network with every residual branch scaled to 0."""
    holder = [torch.ones(1, len(net.blocks))]
    with _gated(net, holder), torch.no_grad():
        full = float(fwd(x)[0, int(target)])
        holder[0] = torch.zeros_like(holder[0])
        return full - float(fwd(x)[0, int(target)])


@measuring()
def block_importance(model, x, target, steps=8, skip=None, drop=None):
    """LayerIntegratedGradients on every block's residual branch F (one call per block: branches feed each other).

    Args:
        x: (1, C, 32, 32) in [0, 1]; target: class index; steps: IG points per block.
    Returns:
        DataFrame, a row per block: block, stage, importance = sum of the branch's attributions
        (~ score(x) - score(x with this F at its black-image value): complete for that block alone, so the
        rows need not add up to any one score difference), abs_importance = sum of |attributions|. Dropped
        blocks (no branch) get 0. attrs: `score_gap` = score(network) - score(every branch scaled to 0) (for
        comparison with the sum) and `steps`. (Captum's convergence delta is not used: for a layer it compares
        the sum with score(x) - score(black), which a branch with a skip beside it does not carry alone.)
    """
    fwd, net, drops = _wrap(model, skip, drop)
    x = _one(x)
    base = torch.zeros_like(x)
    rows = []
    for i, b in enumerate(net.blocks):
        if drops[i]:
            rows.append(dict(block=i, stage=b.stage, importance=0.0, abs_importance=0.0))
            continue
        a = LayerIntegratedGradients(fwd, b.branch).attribute(x, baselines=base, target=int(target), n_steps=int(steps))
        rows.append(dict(block=i, stage=b.stage, importance=float(a.sum()), abs_importance=float(a.abs().sum())))
    df = pd.DataFrame(rows)
    df.attrs.update(score_gap=_all_branches_gap(net, fwd, x, target), steps=int(steps))
    return df


@dataclass
class Attributions:
    """Everything the Inspect page draws for one target: maps (32, 32) and the per-block table."""

    target: int
    saliency: np.ndarray
    ig: np.ndarray  # (32, 32): IG summed over colour channels
    ig_delta: float
    ig_nt: np.ndarray | None
    gradcam: np.ndarray
    gradcam_block: int
    blocks: pd.DataFrame
    seconds: dict = field(default_factory=dict)


@measuring()
def attribute_all(model, x, target, block, steps=32, noise=0.0, layer_ig=False, skip=None, drop=None):
    """All five methods for one image: saliency, IG, IG + NoiseTunnel (if noise > 0; 4 noisy copies of steps/4
    points each), LayerGradCam at `block`, per-block importance (branch gates, `steps` points; or, with
    layer_ig, LayerIntegratedGradients per branch at steps/4 points). x: (1, C, 32, 32).
    Returns Attributions (with each method's seconds)."""
    t, sec = time.perf_counter(), {}
    model = _wrap(model, skip, drop)[1]  # one copy for all five methods

    def tick(name):
        nonlocal t
        now = time.perf_counter()
        sec[name], t = now - t, now

    sal = saliency(model, x, target, skip, drop)
    tick("saliency")
    ig, delta = integrated_gradients(model, x, target, steps, skip, drop)
    tick("ig")
    nt = integrated_gradients(model, x, target, max(4, steps // 4), skip, drop, noise=noise)[0].sum(0) if noise > 0 else None
    tick("ig_nt")
    cam, _ = gradcam(model, x, target, block, skip, drop)
    tick("gradcam")
    if layer_ig:
        blocks = block_importance(model, x, target, max(4, steps // 4), skip, drop)
    else:
        blocks = branch_gates(model, x, target, steps, skip, drop)
    tick("blocks")
    return Attributions(int(target), sal, ig.sum(0), delta, nt, cam, int(block), blocks, sec)
