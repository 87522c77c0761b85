"""Residual networks without normalisation: three ways to start every residual branch at (near) zero.

    fixup     Zhang et al. 2019 (Fixup): a scalar bias (init 0) before each conv and activation of the branch and one
              after it, a scalar multiplier (init 1) at its end; the branch's convs He-initialised and all but the
              last scaled by L^(-1/(2m-2)) (L branches of m layers: L^(-1/2) for the basic block), the last conv of
              each branch and the classifier (weight and bias) zero. Convs carry no bias of their own.
    skipinit  De & Smith 2020 (SkipInit): batch norm removed, a learnable scalar alpha (init 0) multiplies the branch.
    rezero    Bachlechner et al. 2020 (ReZero): out = x + alpha F(x), alpha learnable, init 0 (with or without BN).

Each is applied to the blocks `models.blocks` builds, keeping the block contract `residual = branch(x)`, `out =
act(residual + shortcut(x))`: the scalars are modules inside `branch`, so the probe, the per-call skip/drop switches
and Captum see an ordinary block. Where this differs from the papers:
- the activation after the sum stays (the basic block is post-activation, act(x + alpha F(x)); ReZero and SkipInit
  as published add without one). With ReLU a block's input is already >= 0, so the block is still the identity at
  init; `block="preact"` gives the published form x + alpha F(x) with nothing after the sum.
- Fixup's shortcut reads x, not x + bias1a (the two differ only in the stage's first block, and not at init); the
  stem and the classifier keep their own per-channel biases in place of Fixup's scalar ones.
- SkipInit and ReZero are the same formula here; they differ only in what ResNetConfig allows (SkipInit is defined
  without batch norm, ReZero is not).
"""

from collections import OrderedDict

import torch
import torch.nn as nn

SCHEMES = ("fixup", "skipinit", "rezero")
NAMES = {"fixup": "Fixup (Zhang et al. 2019)", "skipinit": "SkipInit (De & Smith 2020)",
         "rezero": "ReZero (Bachlechner et al. 2020)"}
FIXUP_BLOCKS = ("basic",)
ALPHA_BLOCKS = ("basic", "preact", "bottleneck", "inverted")  # the additive blocks: out = act(F(x) + s(x))


class Bias(nn.Module):
    """x + b, one learnable number b (init 0)."""

    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(()))

    def reset_parameters(self):
        nn.init.zeros_(self.bias)

    def forward(self, x):
        return x + self.bias


class Scale(nn.Module):
    """alpha x, one learnable number alpha (init `start`)."""

    def __init__(self, start: float):
        super().__init__()
        self.start = float(start)
        self.scale = nn.Parameter(torch.full((), self.start))

    def reset_parameters(self):
        nn.init.constant_(self.scale, self.start)

    def forward(self, x):
        return x * self.scale


def check(cfg):
    """A sentence (ValueError) for a config a scheme does not fit; nothing for the others."""
    if cfg.init not in SCHEMES:
        return
    name = NAMES[cfg.init]
    if not cfg.skip:
        raise ValueError(f"init={cfg.init!r} ({name}) starts every residual branch at zero, so without the skip path "
                         "the network would output zero for every image: use skip=True (the plain twin can still be "
                         "measured with the per-call skip switch).")
    if cfg.init in ("fixup", "skipinit") and cfg.norm != "none":
        raise ValueError(f"init={cfg.init!r} ({name}) is a way to train without batch norm: use norm='none' "
                         "(ReZero, init='rezero', also works with norm='batch').")
    allowed = FIXUP_BLOCKS if cfg.init == "fixup" else ALPHA_BLOCKS
    if cfg.block not in allowed:
        raise ValueError(f"init={cfg.init!r} is built here for the {' / '.join(allowed)} block"
                         f"{'s' * (len(allowed) > 1)}, not {cfg.block!r}.")


def adapt(block, init):
    """Give one block's branch the scheme's scalars (in place). block: a models.blocks block."""
    if init == "fixup":
        b = block.branch  # conv1, bn1 (Identity), act1, conv2, bn2 (Identity)
        b.conv1.bias = b.conv2.bias = None  # Fixup's convs have no bias: its scalar biases stand in
        block.branch = nn.Sequential(OrderedDict(
            bias1a=Bias(), conv1=b.conv1, bn1=b.bn1, bias1b=Bias(), act1=b.act1,
            bias2a=Bias(), conv2=b.conv2, bn2=b.bn2, scale=Scale(1.0), bias2b=Bias(),
        ))
    elif init in ("skipinit", "rezero"):
        block.branch.add_module("alpha", Scale(0.0))  # F(x) -> alpha F(x), the branch's last step


def reset(model):
    """The scheme's initial values, after the model's Kaiming init (ResNet.reset_parameters calls it)."""
    init = model.config.init
    for m in model.modules():
        if isinstance(m, (Bias, Scale)):
            m.reset_parameters()
    if init != "fixup":
        return
    L = len(model.blocks)
    with torch.no_grad():
        for blk in model.blocks:
            convs = [m for m in blk.branch if isinstance(m, nn.Conv2d)]
            m = len(convs)
            for c in convs[:-1]:
                c.weight.mul_(L ** (-1.0 / (2 * m - 2)))
            nn.init.zeros_(convs[-1].weight)
        nn.init.zeros_(model.fc.weight)
        nn.init.zeros_(model.fc.bias)


def scalars(model):
    """{name: value} of every scheme scalar (Fixup's biases and multipliers, the alphas) of a model."""
    return {n: float(p) for n, p in model.named_parameters() if p.ndim == 0}
