"""The residual blocks a CIFAR ResNet is built from: the shortcuts, `Additive` and He et al.'s `BasicBlock`, and the
designs the idea grew into, in one registry (`BLOCKS`) that `models.resnet` imports (as akamaster's and timm's
resnet.py keep their blocks beside the network).

Every block: `__init__(cin, cout, stride, cfg, stage)` (cfg: the fields activation, norm, shortcut, skip of a
`ResNetConfig`), a `branch` submodule (F), a `shortcut` submodule (the skip path), `stage`, `skip`, `last_norm()`
(zeroed by init="zero_residual"), `forward(x, skip=None, drop=False)` and `parts(x, skip=None, drop=False) -> (F(x) or
None, out)`, the block runner's unit: `skip=False` removes the skip path, `drop=True` removes F (Veit et al.'s lesion).
`skip_vjp(x, fx, g_out)`: the part of dL/dx that arrives through the skip path, which the probe uses.

    basic       He et al. 2015, post-activation: act(F(x) + x), F = conv-BN-act-conv-BN
    preact      He et al. 2016, pre-activation: F(x) + x, F = BN-act-conv-BN-act-conv, nothing after the sum
    bottleneck  He et al. 2015: 1x1 (to cout/4) - 3x3 - 1x1 (back to cout), act after the sum
    inverted    Sandler et al. 2018 (MobileNetV2): 1x1 expand x6 - 3x3 depthwise - 1x1 linear projection, no act after the sum
    dense       Huang et al. 2017 (DenseNet-BC style): the output concatenates the input with k = cout/4 new channels
    highway     Srivastava et al. 2015 / He et al. 2016 "exclusive gating": act(T(x) F(x) + (1 - T(x)) x)

Where these differ from the papers (so that every design fits the same CIFAR frame of fixed stage widths):
the stem is conv-BN-act for all; the pre-activation net has no final BN-act before pooling; where the shape
changes every design uses the config's shortcut (A: zero-padded identity, B: 1x1 projection), though
MobileNetV2 has no skip there; the dense block keeps the width fixed, so each block's k new channels replace
the oldest k (a feature stays for cout/k = 4 blocks, where DenseNet keeps every feature of its dense block).
"""

from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def norm_layer(cfg, c):
    return nn.BatchNorm2d(c) if cfg.norm == "batch" else nn.Identity()


class ShortcutA(nn.Module):
    """Option A (parameter-free): halve the resolution by the stride, zero-pad the new channels.

    pad="end": the input's channels first, the zeros after them (He et al.'s description); "both": half the zeros
    before, half after (akamaster's `F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))`).
    downsample="subsample": x[:, :, ::s, ::s]; "average": the mean of each s x s patch (`F.avg_pool2d(x, s, s)`)."""

    def __init__(self, cin, cout, stride, pad="end", downsample="subsample"):
        super().__init__()
        self.stride, self.downsample = stride, downsample
        before = (cout - cin) // 2 if pad == "both" else 0
        self.pads = (before, cout - cin - before)  # zero channels before and after the input's

    def forward(self, x):  # (B, Cin, H, W) -> (B, Cout, H/s, W/s)
        s = self.stride
        if s > 1:
            x = F.avg_pool2d(x, s, s) if self.downsample == "average" else x[:, :, ::s, ::s]
        return F.pad(x, (0, 0, 0, 0, *self.pads))


class ShortcutB(nn.Module):
    """Option B: a strided 1x1 projection (with BN) where the shape changes."""

    def __init__(self, cin, cout, stride, cfg):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, stride=stride, bias=cfg.norm == "none")
        self.bn = norm_layer(cfg, cout)

    def forward(self, x):
        return self.bn(self.conv(x))


def make_shortcut(cin, cout, stride, cfg):
    """The skip path: identity where the shape is kept, else option A or B."""
    if stride == 1 and cin == cout:
        return nn.Identity()
    if cfg.shortcut == "B":
        return ShortcutB(cin, cout, stride, cfg)
    return ShortcutA(cin, cout, stride, cfg.pad, cfg.downsample)


def shortcut_vjp(shortcut, x, g):
    """J_s^T g: the gradient g at a shortcut's output (B, Cout, h, w) carried back to its input x (B, Cin, H, W)."""
    if isinstance(shortcut, nn.Identity):
        return g
    if isinstance(shortcut, ShortcutA) and shortcut.pads[0] == 0 and shortcut.downsample == "subsample":
        out = torch.zeros_like(x)  # the adjoint of subsample-and-pad: drop the padded channels, scatter back
        out[:, :, :: shortcut.stride, :: shortcut.stride] = g[:, : x.shape[1]]
        return out
    with torch.enable_grad():
        xd = x.detach().requires_grad_()
        (gx,) = torch.autograd.grad(shortcut(xd), xd, grad_outputs=g)
    return gx


class Additive(nn.Module):
    """out = act(branch(x) + shortcut(x)), or act(branch(x)) without the skip; subclasses build branch, shortcut
    and act (the pre-activation, bottleneck and inverted-residual blocks below are Additive too)."""

    def parts(self, x, skip=None, drop=False):
        """(F(x), out); (None, shortcut(x)) for a dropped block (the lesion passes its shortcut on)."""
        if drop:
            return None, self.shortcut(x)
        residual = self.branch(x)
        out = residual + self.shortcut(x) if (self.skip if skip is None else skip) else residual
        return residual, self.act(out)

    def forward(self, x, skip=None, drop=False):
        return self.parts(x, skip, drop)[1]

    def skip_vjp(self, x, fx, g_out, g_fx=None):
        """dL/dx through the skip path alone: J_s^T dL/d(F(x) + s(x)). g_fx = dL/dF(x), which equals
        dL/d(F(x) + s(x)), saves the pass back through the activation when the caller has it."""
        if g_fx is None:
            with torch.enable_grad():
                pre = (fx.detach() + self.shortcut(x.detach())).requires_grad_()
                (g_fx,) = torch.autograd.grad(self.act(pre), pre, grad_outputs=g_out)
        return shortcut_vjp(self.shortcut, x, g_fx)


class BasicBlock(Additive):
    """Two 3x3 convs; out = act(branch(x) + shortcut(x)), or act(branch(x)) without the skip."""

    def __init__(self, cin, cout, stride, cfg, stage):
        super().__init__()
        bias = cfg.norm == "none"
        self.stage, self.skip = stage, cfg.skip
        # the residual branch F: conv-norm-act-conv-norm, (B, Cin, H, W) -> (B, Cout, H/s, W/s)
        self.branch = nn.Sequential(
            OrderedDict(
                conv1=nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=bias),
                bn1=norm_layer(cfg, cout),
                act1=ACTIVATIONS[cfg.activation](),
                conv2=nn.Conv2d(cout, cout, 3, padding=1, bias=bias),
                bn2=norm_layer(cfg, cout),
            )
        )
        self.act = ACTIVATIONS[cfg.activation]()  # after the addition
        self.shortcut = make_shortcut(cin, cout, stride, cfg)

    def last_norm(self):
        """The module whose zero weight makes the branch output zero."""
        b = self.branch
        return b.bn2 if isinstance(b.bn2, nn.BatchNorm2d) else b.conv2


GATE_BIAS = -2.0  # highway carry bias: the gate starts mostly closed (Srivastava et al. suggest -1 to -3)


def _conv(cin, cout, k, cfg, stride=1, groups=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=cfg.norm == "none")


def _last(branch, norm, conv):
    b = dict(branch.named_children())
    return b[norm] if isinstance(b[norm], nn.BatchNorm2d) else b[conv]


class PreActBlock(Additive):
    """He et al. 2016: x + F(x) with F = BN-act-conv-BN-act-conv; the sum is passed on untouched."""

    def __init__(self, cin, cout, stride, cfg, stage):
        super().__init__()
        A = ACTIVATIONS[cfg.activation]
        self.stage, self.skip = stage, cfg.skip
        # F: (B, Cin, H, W) -> (B, Cout, H/s, W/s)
        self.branch = nn.Sequential(OrderedDict(
            bn1=norm_layer(cfg, cin), act1=A(), conv1=_conv(cin, cout, 3, cfg, stride),
            bn2=norm_layer(cfg, cout), act2=A(), conv2=_conv(cout, cout, 3, cfg),
        ))
        self.act = nn.Identity()  # no activation after the addition: a clean identity path
        self.shortcut = make_shortcut(cin, cout, stride, cfg)

    def last_norm(self):
        return self.branch.conv2


class BottleneckBlock(Additive):
    """He et al. 2015 (ResNet-50+): 1x1 down to cout/4, 3x3, 1x1 back up; act(F(x) + x)."""

    def __init__(self, cin, cout, stride, cfg, stage):
        super().__init__()
        A, m = ACTIVATIONS[cfg.activation], max(cout // 4, 1)
        self.stage, self.skip = stage, cfg.skip
        self.branch = nn.Sequential(OrderedDict(
            conv1=_conv(cin, m, 1, cfg), bn1=norm_layer(cfg, m), act1=A(),  # (B, m, H, W)
            conv2=_conv(m, m, 3, cfg, stride), bn2=norm_layer(cfg, m), act2=A(),  # (B, m, H/s, W/s)
            conv3=_conv(m, cout, 1, cfg), bn3=norm_layer(cfg, cout),  # (B, Cout, H/s, W/s)
        ))
        self.act = A()
        self.shortcut = make_shortcut(cin, cout, stride, cfg)

    def last_norm(self):
        return _last(self.branch, "bn3", "conv3")


class InvertedResidual(Additive):
    """Sandler et al. 2018 (MobileNetV2): expand x6, depthwise 3x3, linear 1x1 projection; F(x) + x, no act after."""

    expansion = 6

    def __init__(self, cin, cout, stride, cfg, stage):
        super().__init__()
        A = nn.ReLU6 if cfg.activation == "relu" else ACTIVATIONS[cfg.activation]
        h = cin * self.expansion
        self.stage, self.skip = stage, cfg.skip
        self.branch = nn.Sequential(OrderedDict(
            conv1=_conv(cin, h, 1, cfg), bn1=norm_layer(cfg, h), act1=A(),  # expand: (B, 6 Cin, H, W)
            conv2=_conv(h, h, 3, cfg, stride, groups=h), bn2=norm_layer(cfg, h), act2=A(),  # depthwise
            conv3=_conv(h, cout, 1, cfg), bn3=norm_layer(cfg, cout),  # linear bottleneck: no activation
        ))
        self.act = nn.Identity()
        self.shortcut = make_shortcut(cin, cout, stride, cfg)

    def last_norm(self):
        return _last(self.branch, "bn3", "conv3")


class DenseBlock(nn.Module):
    """DenseNet-BC style: out = concat(shortcut(x) without its oldest k channels, F(x)), k = cout/4 new channels,
    F = BN-act-1x1 conv (to 4k) - BN-act-3x3 conv (to k). The carried channels pass through untouched."""

    def __init__(self, cin, cout, stride, cfg, stage):
        super().__init__()
        A, k = ACTIVATIONS[cfg.activation], max(cout // 4, 1)
        self.stage, self.skip, self.k = stage, cfg.skip, k
        self.branch = nn.Sequential(OrderedDict(
            bn1=norm_layer(cfg, cin), act1=A(), conv1=_conv(cin, 4 * k, 1, cfg),
            bn2=norm_layer(cfg, 4 * k), act2=A(), conv2=_conv(4 * k, k, 3, cfg, stride),  # (B, k, H/s, W/s)
        ))
        self.act = nn.Identity()
        self.shortcut = make_shortcut(cin, cout, stride, cfg)

    def last_norm(self):
        return self.branch.conv2

    def merge(self, fx, sx):  # (B, k, h, w), (B, Cout, h, w) -> (B, Cout, h, w)
        return torch.cat([sx[:, self.k :], fx], 1)

    def parts(self, x, skip=None, drop=False):
        """(F(x) (B, k, h, w), out (B, Cout, h, w)); (None, carried channels and k zeros) for a dropped block."""
        sx = self.shortcut(x)
        if drop:
            return None, self.merge(torch.zeros_like(sx[:, : self.k]), sx)
        fx = self.branch(x)
        if not (self.skip if skip is None else skip):  # no concatenation: only the k new channels are live
            sx = torch.zeros_like(sx)
        return fx, self.merge(fx, sx)

    def forward(self, x, skip=None, drop=False):
        return self.parts(x, skip, drop)[1]

    def skip_vjp(self, x, fx, g_out, g_fx=None):
        """dL/dx through the concatenated skip alone: J_s^T of the carried slice of g_out. x: block input."""
        with torch.enable_grad():
            xd = x.detach().requires_grad_()
            (g,) = torch.autograd.grad(self.merge(fx.detach(), self.shortcut(xd)), xd, grad_outputs=g_out)
        return g


class HighwayBlock(nn.Module):
    """Highway-style gated skip (He et al. 2016's "exclusive gating"): out = act(T F(x) + (1 - T) x),
    T = sigmoid(1x1 conv(x) + b) per channel and pixel, b = GATE_BIAS at init; F as in BasicBlock."""

    def __init__(self, cin, cout, stride, cfg, stage):
        super().__init__()
        self.stage, self.skip = stage, cfg.skip
        self.branch = BasicBlock(cin, cout, stride, cfg, stage).branch
        self.gate = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)  # (B, Cout, H/s, W/s) before the bias
        self.gate_bias = nn.Parameter(torch.full((cout,), GATE_BIAS))  # kept out of the conv: ResNet init zeros conv biases
        self.act = ACTIVATIONS[cfg.activation]()
        self.shortcut = make_shortcut(cin, cout, stride, cfg)

    def last_norm(self):
        return _last(self.branch, "bn2", "conv2")

    def transform_gate(self, x):  # (B, Cin, H, W) -> T in (0, 1), (B, Cout, H/s, W/s)
        return torch.sigmoid(self.gate(x) + self.gate_bias.view(1, -1, 1, 1))

    def parts(self, x, skip=None, drop=False):
        """(F(x), out); (None, (1 - T) shortcut(x)) for a dropped block."""
        t = self.transform_gate(x)
        if drop:
            return None, (1 - t) * self.shortcut(x)
        fx = self.branch(x)
        out = t * fx + (1 - t) * self.shortcut(x) if (self.skip if skip is None else skip) else t * fx
        return fx, self.act(out)

    def forward(self, x, skip=None, drop=False):
        return self.parts(x, skip, drop)[1]

    def skip_vjp(self, x, fx, g_out, g_fx=None):
        """dL/dx through the carry path (1 - T) shortcut(x) alone, with T and F(x) held at their values."""
        with torch.enable_grad():
            t = self.transform_gate(x.detach()).detach()
            xd = x.detach().requires_grad_()
            out = self.act(t * fx.detach() + (1 - t) * self.shortcut(xd))
            (g,) = torch.autograd.grad(out, xd, grad_outputs=g_out)
        return g


BLOCKS = {
    "basic": BasicBlock,
    "preact": PreActBlock,
    "bottleneck": BottleneckBlock,
    "inverted": InvertedResidual,
    "dense": DenseBlock,
    "highway": HighwayBlock,
}

# The designs compared at init: label -> (block, skip). "plain" is He et al.'s plain net: basic blocks, no skip.
DESIGNS = {
    "post-activation (He 2015)": ("basic", True),
    "pre-activation (He 2016)": ("preact", True),
    "bottleneck": ("bottleneck", True),
    "inverted residual (MobileNetV2)": ("inverted", True),
    "dense concatenation": ("dense", True),
    "highway gate": ("highway", True),
    "plain (no skip)": ("basic", False),
}


class BlockConfig:
    """The fields a block reads from a `ResNetConfig` (defaults of a basic residual block)."""

    def __init__(self, activation="relu", norm="batch", shortcut="A", skip=True, pad="end", downsample="subsample"):
        self.activation, self.norm, self.shortcut, self.skip = activation, norm, shortcut, skip
        self.pad, self.downsample = pad, downsample


def convs_per_block(block):
    """Weight layers on a block's main path (its branch), e.g. 2 for basic, 3 for bottleneck."""
    return sum(isinstance(m, nn.Conv2d) for m in BLOCKS[block](16, 16, 1, BlockConfig(), 0).branch.modules())
