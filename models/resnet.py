"""CIFAR-style ResNets (He et al. 2015, Sec. 4.2): depth 6n+2, three stages of n blocks.

A block computes `residual = branch(x)` and `out = act(residual + shortcut(x))`; the plain twin
(skip=False) computes `out = act(residual)` with the very same weights.
"""

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn as nn

from models import normfree
from models.blocks import ACTIVATIONS, BLOCKS, norm_layer

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

NORMS = ("batch", "none")
SHORTCUTS = ("A", "B")
PADS = ("end", "both")  # option A: where the new zero channels go
DOWNSAMPLES = ("subsample", "average")  # option A: how the skip path halves the resolution
INITS = ("kaiming", "xavier", "zero_residual", *normfree.SCHEMES)
MAX_DEPTH = 1202  # the deepest network in He et al. 2015 (Table 6)


@dataclass(frozen=True)
class ResNetConfig:
    depth: int = 20  # 6n + 2 weight layers
    skip: bool = True  # residual (True) or plain (False)
    norm: str = "batch"  # "batch" | "none"
    shortcut: str = "A"  # "A": zero-padded identity, "B": 1x1 projection where the shape changes
    pad: str = "end"  # option A's new zero channels: "end" (after the input's) | "both" (half before, half after)
    downsample: str = "subsample"  # option A's halving: "subsample" (x[::2, ::2]) | "average" (2x2 average pool)
    activation: str = "relu"  # "relu" | "tanh" | "sigmoid"
    init: str = "kaiming"  # "kaiming" | "xavier" | "zero_residual" (Kaiming, last BN gamma of each branch 0)
    # | "fixup" | "skipinit" | "rezero": residual branches that start at zero, to train without BN (models.normfree)
    width: int = 16  # channels of the first stage; stages have width, 2*width, 4*width
    in_channels: int = 3
    num_classes: int = 10
    mean: tuple = CIFAR10_MEAN  # per-channel input statistics of the model's data set
    std: tuple = CIFAR10_STD
    block: str = "basic"  # "basic" or another design of models.blocks.BLOCKS: "preact", "bottleneck", ...

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
        if self.pad not in PADS:
            raise ValueError(f"pad must be 'end' or 'both' (where option A puts its zero channels), not {self.pad!r}.")
        if self.downsample not in DOWNSAMPLES:
            raise ValueError(f"downsample must be 'subsample' or 'average' (option A's halving), not {self.downsample!r}.")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, not {self.activation!r}.")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}, not {self.init!r}.")
        if self.block not in BLOCKS:
            raise ValueError(f"block must be one of {', '.join(BLOCKS)}, not {self.block!r}.")
        normfree.check(self)
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
        Block, blocks, cin = BLOCKS[cfg.block], [], w
        for stage, cout in enumerate((w, 2 * w, 4 * w)):
            for i in range(cfg.n):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(Block(cin, cout, stride, cfg, stage))
                normfree.adapt(blocks[-1], cfg.init)
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
        normfree.reset(self)

    def overrides(self, skip=None, drop=None):
        """The per-call switches as two lists of bools, one per block: (skip, drop). skip[i] None (or skip None) is
        the config's skip; drop None keeps every branch. ValueError when a list has the wrong length."""
        n = len(self.blocks)
        for values, name in ((skip, "skip"), (drop, "drop")):
            if values is not None and len(values) != n:
                raise ValueError(f"{name} needs one value per block ({n}), got {len(values)}.")
        skips = [self.config.skip if s is None else bool(s) for s in (skip if skip is not None else [None] * n)]
        return skips, [bool(d) for d in (drop if drop is not None else [False] * n)]

    def features(self, x):
        """Stem: (B, C, 32, 32) in [0, 1] -> (B, width, 32, 32)."""
        return self.act(self.bn(self.conv((x - self.mean) / self.std)))

    def head(self, h):  # (B, 4w, 8, 8) -> (B, classes)
        return self.fc(torch.flatten(self.pool(h), 1))

    def run_blocks(self, h, skip=None, drop=None, start=0, residuals=True):
        """The block runner (as timm's forward_intermediates): run blocks start.. on h, the input of block `start`,
        with the per-call overrides, and yield a `Step(block, x, fx, out)` per block: its input x, its residual
        F(x) (None for a dropped block, or when residuals=False) and its output. residuals=False calls each block
        as a module (its forward hooks fire, as Captum needs); the output is the same."""
        skips, drops = self.overrides(skip, drop)
        for i in range(start, len(self.blocks)):
            b = self.blocks[i]
            fx, out = b.parts(h, skips[i], drops[i]) if residuals else (None, b(h, skips[i], drops[i]))
            yield Step(i, h, fx, out)
            h = out

    def forward(self, x, skip=None, drop=None):
        h = self.features(x)  # (B, w, 32, 32)
        for step in self.run_blocks(h, skip, drop, residuals=False):
            h = step.out
        return self.head(h)


class Step(NamedTuple):
    """One block of a pass: x (B, Cin, H, W), F(x) (B, C', h, w) or None, out (B, Cout, h, w)."""

    block: int
    x: torch.Tensor
    fx: torch.Tensor | None
    out: torch.Tensor


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())
