"""CIFAR-style ResNets (He et al. 2015, Sec. 4.2): depth 6n+2, three stages of n blocks.

A block computes `residual = branch(x)` and `out = act(residual + shortcut(x))`; the plain twin
(skip=False) computes `out = act(residual)` with the very same weights.
"""

from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

NORMS = ("batch", "none")
SHORTCUTS = ("A", "B")
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
INITS = ("kaiming", "xavier", "zero_residual")
MAX_DEPTH = 1202  # the deepest network in He et al. 2015 (Table 6)


@dataclass(frozen=True)
class ResNetConfig:
    depth: int = 20  # 6n + 2 weight layers
    skip: bool = True  # residual (True) or plain (False)
    norm: str = "batch"  # "batch" | "none"
    shortcut: str = "A"  # "A": zero-padded identity, "B": 1x1 projection where the shape changes
    activation: str = "relu"  # "relu" | "tanh" | "sigmoid"
    init: str = "kaiming"  # "kaiming" | "xavier" | "zero_residual" (Kaiming, last BN gamma of each branch 0)
    width: int = 16  # channels of the first stage; stages have width, 2*width, 4*width
    in_channels: int = 3
    num_classes: int = 10
    mean: tuple = CIFAR10_MEAN  # per-channel input statistics of the model's data set
    std: tuple = CIFAR10_STD
    block: str = "basic"  # "basic" (below) or a design of models.designs: "preact", "bottleneck", ...

    def __post_init__(self):
        d = self.depth
        if isinstance(d, bool) or not isinstance(d, int):
            raise ValueError(f"depth must be a whole number like 20 or 56, not {d!r}.")
        if d < 8 or (d - 2) % 6:
            raise ValueError(
                f"depth {d} is not a CIFAR ResNet depth: it must be 6n+2 with n >= 1 "
                "(8, 14, 20, 26, 32, 44, 56, 110, ...), since each of the 3 stages has n blocks "
                "of 2 layers, plus the first conv and the classifier."
            )
        if d > MAX_DEPTH:
            raise ValueError(f"depth {d} is deeper than skiplab builds; the deepest is {MAX_DEPTH} (He et al.'s ResNet-1202).")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be 'batch' (BatchNorm) or 'none', not {self.norm!r}.")
        if self.shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut must be 'A' (zero-padded identity) or 'B' (1x1 projection), not {self.shortcut!r}.")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, not {self.activation!r}.")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}, not {self.init!r}.")
        if self.block not in block_names():
            raise ValueError(f"block must be one of {', '.join(block_names())}, not {self.block!r}.")
        for name in ("width", "in_channels", "num_classes"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive whole number, not {v!r}.")
        if len(self.mean) != self.in_channels or len(self.std) != self.in_channels:
            raise ValueError(f"mean and std need one value per input channel ({self.in_channels}).")
        if any(s <= 0 for s in self.std):
            raise ValueError("every std must be positive: the model divides its input by it.")

    @property
    def n(self):
        return (self.depth - 2) // 6

    @property
    def name(self):
        return f"{'ResNet' if self.skip else 'plain'}-{self.depth}"


def block_names():
    """The block designs a ResNet can be built from (registry in models.designs, looked up lazily)."""
    from models.designs import BLOCKS

    return tuple(BLOCKS)


def norm_layer(cfg, c):
    return nn.BatchNorm2d(c) if cfg.norm == "batch" else nn.Identity()


class ShortcutA(nn.Module):
    """Option A: subsample by the stride, zero-pad the new channels (parameter-free)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride, self.pad = stride, cout - cin

    def forward(self, x):  # (B, Cin, H, W) -> (B, Cout, H/s, W/s)
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.pad))


class ShortcutB(nn.Module):
    """Option B: a strided 1x1 projection (with BN) where the shape changes."""

    def __init__(self, cin, cout, stride, cfg):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, stride=stride, bias=cfg.norm == "none")
        self.bn = norm_layer(cfg, cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class Additive(nn.Module):
    """out = act(branch(x) + shortcut(x)), or act(branch(x)) without the skip; subclasses build branch, shortcut
    and act (designs.py's pre-activation, bottleneck and inverted-residual blocks are Additive too)."""

    def forward(self, x, skip=None, drop=False):
        if drop:  # lesion: the block passes its shortcut on
            return self.shortcut(x)
        residual = self.branch(x)
        out = residual + self.shortcut(x) if (self.skip if skip is None else skip) else residual
        return self.act(out)


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
        if stride == 1 and cin == cout:
            self.shortcut = nn.Identity()
        elif cfg.shortcut == "A":
            self.shortcut = ShortcutA(cin, cout, stride)
        else:
            self.shortcut = ShortcutB(cin, cout, stride, cfg)

    def last_norm(self):
        """The module whose zero weight makes the branch output zero."""
        b = self.branch
        return b.bn2 if isinstance(b.bn2, nn.BatchNorm2d) else b.conv2



class ResNet(nn.Module):
    """x: (B, C, 32, 32) RGB in [0, 1] -> logits (B, num_classes). Normalizes its input itself.

    seed: an int makes the initial weights a function of (config, seed) alone, drawn from a generator of the
    model's own, so models built in many threads at once (Streamlit sessions) never mix their draws; None draws
    from torch's global generator as usual."""

    def __init__(self, config: ResNetConfig, seed: int | None = None):
        super().__init__()
        cfg = self.config = config
        w = cfg.width
        self.register_buffer("mean", torch.tensor(cfg.mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(cfg.std, dtype=torch.float32).view(1, -1, 1, 1))
        self.conv = nn.Conv2d(cfg.in_channels, w, 3, padding=1, bias=cfg.norm == "none")
        self.bn = norm_layer(cfg, w)
        self.act = ACTIVATIONS[cfg.activation]()
        from models.designs import BLOCKS  # lazily: designs build on this module's BasicBlock

        Block, blocks, cin = BLOCKS[cfg.block], [], w
        for stage, cout in enumerate((w, 2 * w, 4 * w)):
            for i in range(cfg.n):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(Block(cin, cout, stride, cfg, stage))
                cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, cfg.num_classes)
        self.reset_parameters(None if seed is None else torch.Generator().manual_seed(seed))

    def reset_parameters(self, generator=None):
        cfg = self.config
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                if cfg.init == "xavier":
                    nn.init.xavier_normal_(m.weight, generator=generator)
                else:
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu", generator=generator)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if cfg.init == "zero_residual":
            for b in self.blocks:
                nn.init.zeros_(b.last_norm().weight)

    def _per_block(self, values, name):
        if values is None:
            return [None] * len(self.blocks)
        values = list(values)
        if len(values) != len(self.blocks):
            raise ValueError(f"{name} needs one value per block ({len(self.blocks)}), got {len(values)}.")
        return values

    def features(self, x):
        """Stem: (B, C, 32, 32) in [0, 1] -> (B, width, 32, 32)."""
        return self.act(self.bn(self.conv((x - self.mean) / self.std)))

    def head(self, h):  # (B, 4w, 8, 8) -> (B, classes)
        return self.fc(torch.flatten(self.pool(h), 1))

    def forward(self, x, skip=None, drop=None):
        skip, drop = self._per_block(skip, "skip"), self._per_block(drop, "drop")
        h = self.features(x)  # (B, w, 32, 32)
        for block, s, d in zip(self.blocks, skip, drop):
            h = block(h, skip=s, drop=bool(d))
        return self.head(h)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())
