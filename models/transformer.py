"""A tiny decoder-only character transformer in nanoGPT style, with Post-LN or Pre-LN residual sublayers.

Every sublayer (attention, then MLP, in each layer) is a residual block in the sense of `models.blocks.Additive`:
`branch` (F), `shortcut` (the identity), `act` (what follows the sum), `parts(x, skip, drop) -> (F(x), out)`, so the
one probe (`viz.probe.probe`) and the one block runner measure it as they measure a ResNet's blocks:

    pre   x = x + F(ln(x))     branch = ln then F, nothing after the sum (the stream is never normalised)
    post  x = ln(x + F(x))     branch = F, act = LayerNorm after the sum (the original 2017 transformer)

`model(idx, targets=None, skip=None, drop=None)`: skip has one bool per layer (both of its sublayers) or one per
sublayer, for this call only; `skip[i] = False` gives that sublayer x = F(ln(x)) (pre) or x = ln(F(x)) (post).
"""

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.blocks import Additive
from models.resnet import ResNet

LNS = ("post", "pre")
MAX_LAYERS = 24


@dataclass(frozen=True)
class TransformerConfig:
    vocab_size: int = 65  # characters of the corpus
    n_layer: int = 6  # each layer: an attention sublayer and an MLP sublayer
    d_model: int = 64
    n_head: int = 4
    block_size: int = 64  # the longest context
    ln: str = "pre"  # "pre" | "post": where LayerNorm sits
    skip: bool = True  # the residual connections (per-call overrides in `forward`)

    def __post_init__(self):
        for name in ("vocab_size", "n_layer", "d_model", "n_head", "block_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive whole number, not {v!r}.")
        if self.n_layer > MAX_LAYERS:
            raise ValueError(f"n_layer {self.n_layer} is deeper than skiplab builds a transformer; at most {MAX_LAYERS}.")
        if self.d_model % self.n_head:
            raise ValueError(f"d_model ({self.d_model}) must split evenly into n_head ({self.n_head}) heads.")
        if self.ln not in LNS:
            raise ValueError(f"ln must be 'post' (LayerNorm after the sum) or 'pre' (before the branch), not {self.ln!r}.")

    @property
    def depth(self):
        return self.n_layer

    @property
    def name(self):
        return f"{'Pre' if self.ln == 'pre' else 'Post'}-LN-{self.n_layer}"


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(self, x):  # (B, T, d) -> (B, T, d)
        B, T, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (t.view(B, T, self.n_head, d // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, h, T, d/h)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, d))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.fc = nn.Linear(cfg.d_model, 4 * cfg.d_model)
        self.act = nn.GELU()
        self.proj = nn.Linear(4 * cfg.d_model, cfg.d_model)

    def forward(self, x):  # (B, T, d) -> (B, T, d)
        return self.proj(self.act(self.fc(x)))


class Sublayer(Additive):
    """One residual sublayer: `act(branch(x) + x)`; `kind` is "attn" or "mlp", `stage` its layer's index."""

    def __init__(self, cfg, layer, kind):
        super().__init__()
        f = CausalSelfAttention(cfg) if kind == "attn" else MLP(cfg)
        self.stage, self.kind, self.skip = layer, kind, cfg.skip
        if cfg.ln == "pre":
            self.branch = nn.Sequential(OrderedDict(ln=nn.LayerNorm(cfg.d_model), f=f))
            self.act = nn.Identity()
        else:
            self.branch = nn.Sequential(OrderedDict(f=f))
            self.act = nn.LayerNorm(cfg.d_model)
        self.shortcut = nn.Identity()


class Transformer(nn.Module):
    """idx: (B, T) int64 character ids, T <= block_size -> logits (B, T, vocab); with targets (B, T), also the mean
    cross-entropy. seed: an int draws the initial weights from a generator of the model's own (see ResNet)."""

    STEM = ("wte", "wpe")  # the probe's input-side weight layers; the head is `lm_head`
    HEAD = ("lm_head",)

    def __init__(self, config: TransformerConfig, seed: int | None = None):
        super().__init__()
        cfg = self.config = config
        self.wte = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.wpe = nn.Embedding(cfg.block_size, cfg.d_model)
        self.blocks = nn.ModuleList(Sublayer(cfg, i, kind) for i in range(cfg.n_layer) for kind in ("attn", "mlp"))
        self.ln_f = nn.LayerNorm(cfg.d_model) if cfg.ln == "pre" else nn.Identity()  # Post-LN's stream is normalised
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.reset_parameters(None if seed is None else torch.Generator().manual_seed(seed))

    def reset_parameters(self, generator=None):
        """Xavier-uniform weights and zero biases (as Xiong et al. 2020 initialise), N(0, 1) embeddings (the original
        transformer's embeddings times sqrt(d))."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight, generator=generator)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=1.0, generator=generator)

    def overrides(self, skip=None, drop=None):
        """(skip, drop): one bool per sublayer each. Either list may have one value per layer (both sublayers of
        the layer) or one per sublayer; None entries are the config's. ValueError for any other length."""
        n, L = len(self.blocks), self.config.n_layer

        def per_sublayer(values, name, default):
            if values is None:
                return [default] * n
            if len(values) == L:
                values = [v for v in values for _ in range(2)]
            elif len(values) != n:
                raise ValueError(f"{name} needs one value per layer ({L}) or per sublayer ({n}), got {len(values)}.")
            return [default if v is None else bool(v) for v in values]

        return per_sublayer(skip, "skip", self.config.skip), per_sublayer(drop, "drop", False)

    def features(self, idx):
        """Embedding: (B, T) ids -> (B, T, d), the residual stream's start."""
        T = idx.shape[1]
        if T > self.config.block_size:
            raise ValueError(f"the sequence has {T} characters; this model reads at most {self.config.block_size}.")
        return self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))

    def head(self, h):  # (B, T, d) -> (B, T, vocab)
        return self.lm_head(self.ln_f(h))

    run_blocks = ResNet.run_blocks  # the one block runner: sublayers as ResNet's blocks (self.blocks, self.overrides)

    def forward(self, idx, targets=None, skip=None, drop=None):
        h = self.features(idx)  # (B, T, d)
        for step in self.run_blocks(h, skip, drop, residuals=False):
            h = step.out
        logits = self.head(h)  # (B, T, vocab)
        if targets is None:
            return logits
        return logits, F.cross_entropy(logits.flatten(0, 1), targets.flatten())


def chance_loss(vocab_size: int) -> float:
    """The cross-entropy of a uniform guess over the characters: ln(vocab)."""
    return math.log(vocab_size)
