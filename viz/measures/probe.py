"""One instrumented forward/backward pass -> tidy tables. Never changes the model it is given.

It measures any network built as a stem, a run of residual blocks and a head: `features(x)`, `run_blocks(h, skips,
drops)` yielding `models.resnet.Step`s, `head(h)`, `overrides(skip, drop)`, `blocks` (each with `branch`, `shortcut`,
`stage`, `parts`, `skip_vjp`, as `models.blocks.Additive`) and `config.depth`: a `models.resnet.ResNet` and a
`models.transformer.Transformer` (whose blocks are its attention and MLP sublayers). A network names its input-side
and output-side weight layers in `STEM` and `HEAD` (a ResNet's are `conv` and `fc`).

`python -m viz.probe` (viz/probe.py) prints them from the command line.
"""

import math
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.linalg import vector_norm

from models.blocks import Additive
from viz.measures.common import borrowed, forward_hooks, moment_std, ratio, share
from viz.measures.common import norm as _norm

BLOCK_COLUMNS = ["block", "stage", "skip", "dropped", "x_norm", "fx_norm", "out_norm", "residual_ratio", "response_std",
                 "grad_norm", "grad_in_norm", "grad_skip_norm", "grad_branch_norm", "skip_share"]


@dataclass
class Trace:
    layers: pd.DataFrame  # a row per weight layer, input side to output side
    blocks: pd.DataFrame  # a row per residual block
    loss: float
    name: str = ""  # e.g. "ResNet-56"
    depth: int = 0
    kind: str = ""  # "ResNet" (every skip on), "plain" (none) or "mixed"

    @property
    def finite(self) -> bool:
        """False when float32 overflowed somewhere: the loss, a block output or a main-path gradient."""
        main = self.layers[self.layers.path != "shortcut"]
        values = [self.loss, *self.blocks.out_norm, *main.grad_norm]
        return all(math.isfinite(v) for v in values)


def conv_responses(model):
    """[(conv name, the module right after it whose output is that conv's normalized response)]: the stem's BN, and in
    each branch the norm after each conv (the conv itself where no norm follows)."""
    mods = dict(model.named_modules())
    out = [("conv", mods["bn"])] if isinstance(mods.get("conv"), nn.Conv2d) else []  # a conv stem's response
    for i, b in enumerate(model.blocks):
        kids = list(b.branch.named_children())
        for (n, m), (_, nxt) in zip(kids, [*kids[1:], (None, None)], strict=True):
            if isinstance(m, nn.Conv2d):
                out.append((f"blocks.{i}.branch.{n}", nxt if isinstance(nxt, (nn.BatchNorm2d, nn.Identity)) else m))
    return out


LAYER_KINDS = {nn.Conv2d: "conv", nn.Linear: "fc", nn.Embedding: "embedding"}


def layer_kind(m):
    return next(k for t, k in LAYER_KINDS.items() if isinstance(m, t))


def weight_layers(model):
    """Weight layers in input-to-output order: (name, module, block, stage, path). The head's stage is one past the
    last block's (3 in a CIFAR ResNet)."""
    rows = [(n, getattr(model, n), -1, -1, "stem") for n in getattr(model, "STEM", ("conv",))]
    for i, b in enumerate(model.blocks):
        for n, m in b.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                path = n.split(".")[0]  # "branch", "shortcut", or a design's own part (a highway "gate")
                rows.append((f"blocks.{i}.{n}", m, i, b.stage, path))
    last = model.blocks[-1].stage + 1
    rows += [(n, getattr(model, n), -1, last, "head") for n in getattr(model, "HEAD", ("fc",))]
    return rows


def network_name(depth, skips, family="ResNet"):
    """("ResNet-56", "ResNet") with every skip on, ("plain-56", "plain") with none, else a mixed name. Another
    family (a transformer's "Pre-LN") keeps its name without skips: ("Pre-LN-12, no skips", "plain")."""
    if all(skips):
        return f"{family}-{depth}", "ResNet"
    if not any(skips):
        return (f"plain-{depth}" if family == "ResNet" else f"{family}-{depth}, no skips"), "plain"
    return f"{family}-{depth} ({sum(skips)} of {len(skips)} skips)", "mixed"


def _family(net):
    """How the network's name begins: "ResNet" for a ResNet, "Pre-LN" or "Post-LN" for a transformer."""
    ln = getattr(net.config, "ln", None)
    return "ResNet" if ln is None else f"{ln.capitalize()}-LN"


def probe(model, images, labels, skip=None, drop=None, bn_mode="train"):
    """One forward and backward pass with every gradient norm measured.

    Args:
        model: a `models.resnet.ResNet` or a `models.transformer.Transformer` (never modified: no .grad, no BN stats,
            no hooks, same mode).
        images: a ResNet's (B, C, 32, 32) float in [0, 1]; a transformer's (B, T) int64 character ids.
        labels: (B,) int64 class indices; a transformer's (B, T) next characters.
        skip, drop: optional per-block overrides, as for `model(x, skip=, drop=)` (a transformer's: per layer or
            per sublayer; its trace has a block row per sublayer, `stage` its layer).
        bn_mode: "train" (batch statistics, as in training) or "eval" (running statistics).
    Returns:
        Trace: `layers` (layer, kind, block, stage, path, order, grad_norm, weight_norm, response_std),
        `blocks` (block, stage, skip, dropped, x_norm, fx_norm, out_norm, residual_ratio, response_std, grad_norm at
        the output, grad_in_norm at the input and its parts through the skip (grad_skip_norm) and the branch
        (grad_branch_norm), skip_share), the loss, the network's name, depth and kind.
    """
    if bn_mode not in ("train", "eval"):
        raise ValueError(f"bn_mode must be 'train' or 'eval', not {bn_mode!r}.")
    with borrowed(model, train=bn_mode == "train") as net:
        return _probe(net, images, labels, *net.overrides(skip, drop))


def _direct(b):
    """True for a block whose input feeds only its branch and its shortcut (`Additive.parts`) and whose skip VJP needs
    only dL/dF(x) (`Additive.skip_vjp`): its gradient parts are measured as the backward pass reaches them, so nothing
    of the pass outlives the pass itself. Other designs (dense, highway) keep F(x) and their gradients whole."""
    return type(b).parts is Additive.parts and type(b).skip_vjp is Additive.skip_vjp


def _rows(net, layers, g_w, resp_std, acts, gn, whole, kept, skips, drops):
    """The layers' and blocks' rows of a Trace from what `_probe` measured during its pass."""
    def grad(key):  # a gradient norm, 0 where the gradient never came (as measure.norm of None)
        return float(gn[key]) if key in gn else 0.0

    with torch.no_grad():
        layer_rows = [dict(layer=name, kind=layer_kind(m), block=blk, stage=stage,
                           path=path, order=order, grad_norm=_norm(g) if g is not None else float("nan"),
                           weight_norm=_norm(m.weight), response_std=resp_std.get(name, float("nan")))
                      for order, ((name, m, blk, stage, path), g) in enumerate(zip(layers, g_w, strict=True))]
        block_rows = []
        for i in sorted(acts):
            b, (x_norm, out_norm, fx_norm, fx_std) = net.blocks[i], acts[i]
            row = dict(block=i, stage=b.stage, skip=skips[i], dropped=drops[i], x_norm=float(x_norm),
                       out_norm=float(out_norm), grad_norm=grad(("out", i)), grad_in_norm=grad(("out", i - 1)))
            if drops[i]:  # the block is its shortcut: all of the gradient takes the skip path
                row.update(fx_norm=0.0, residual_ratio=0.0, response_std=float("nan"), grad_skip_norm=row["grad_in_norm"],
                           grad_branch_norm=0.0, skip_share=1.0)
            else:
                row.update(fx_norm=float(fx_norm), response_std=fx_std)
                row["residual_ratio"] = ratio(row["fx_norm"], row["x_norm"])
                if not skips[i]:
                    a, c = 0.0, row["grad_in_norm"]
                elif ("out", i - 1) not in gn or ("out", i) not in gn:
                    a = c = float("nan")
                elif _direct(b):
                    a, c = (float(gn[k]) if k in gn else float("nan") for k in (("skip", i), ("branch", i)))
                else:
                    st, g_in = kept[i], whole[("out", i - 1)]
                    g_skip = b.skip_vjp(st.x, st.fx, whole[("out", i)], whole.get(("fx", i)))
                    a, c = _norm(g_skip), _norm(g_in - g_skip)
                row.update(grad_skip_norm=a, grad_branch_norm=c, skip_share=0.0 if not skips[i] else share(a, c))
            block_rows.append(row)
    return layer_rows, block_rows


class _Recorder:
    """What a probe pass keeps: conv responses until their block is done (then their std), gradient norms (0-d
    tensors) by key, and the whole gradients a generic block needs; the hooks that fill them."""

    def __init__(self):
        self.pending, self.resp_std, self.gn, self.whole = {}, {}, {}, {}

    def on_grad(self, t, key, keep=False):
        def hook(g):
            self.gn[key] = vector_norm(g)
            if keep:
                self.whole[key] = g

        t.register_hook(hook)

    def branch_alias(self, i):  # the branch reads x through a view of its own: dL/d(view) is the part of dL/dx through F
        def pre(mod, args):
            xa = args[0].view_as(args[0])
            self.on_grad(xa, ("branch", i))
            return (xa, *args[1:])

        return pre

    def skip_part(self, i, b, x):  # dL/dF(x) = dL/d(F(x) + s(x)), carried back through the shortcut alone
        def hook(g_fx):
            self.gn[("skip", i)] = vector_norm(b.skip_vjp(x, None, None, g_fx))

        return hook

    def responses(self, fx=None):  # the std of each response of the block just run; F(x)'s, where F(x) is one of them
        fx_std = None
        for name, t in self.pending.items():
            self.resp_std[name] = moment_std(t)
            if t is fx:
                fx_std = self.resp_std[name]
        self.pending.clear()
        return fx_std


def _probe(net, images, labels, skips, drops):
    # Every number is a reduction of a tensor the pass computes anyway, taken while the tensor is fresh: activations
    # as each block finishes, gradients in tensor hooks as the backward pass reaches them. Nothing else is kept
    # (keeping them costs fresh allocations: about 8% of the pass at ResNet-56), so the pass runs at the pace of a
    # bare forward and backward.
    n, layers = len(net.blocks), weight_layers(net)
    direct = [_direct(b) for b in net.blocks]
    rec = _Recorder()
    on_grad, responses = rec.on_grad, rec.responses
    hooked = [(m, lambda mod, a, out, name=name: rec.pending.__setitem__(name, out)) for name, m in conv_responses(net)]
    aliased = [(b.branch, rec.branch_alias(i)) for i, b in enumerate(net.blocks) if direct[i] and skips[i] and not drops[i]]
    acts, kept = {}, {}  # per block: (x_norm, out_norm, fx_norm, fx_std); a generic block's Step
    with torch.enable_grad():
        with forward_hooks(hooked), forward_hooks(aliased, pre=True):
            h = net.features(images)  # (B, w, 32, 32)
            on_grad(h, ("out", -1), keep=not direct[0])  # the input of block 0
            with torch.no_grad():
                responses()
                h_norm = vector_norm(h)
            for st in net.run_blocks(h, skips, drops):
                i, b = st.block, net.blocks[st.block]
                on_grad(st.out, ("out", i), keep=not direct[i] or (i + 1 < n and not direct[i + 1]))
                if st.fx is not None and skips[i]:
                    if direct[i]:
                        st.fx.register_hook(rec.skip_part(i, b, st.x))
                    else:
                        on_grad(st.fx, ("fx", i), keep=True)
                        kept[i] = st
                with torch.no_grad():
                    x_norm = h_norm if st.x is h else vector_norm(st.x)  # a block's input is the previous output
                    fx_norm = fx_std = None
                    if st.fx is not None:
                        fx_norm, fx_std = vector_norm(st.fx), responses(st.fx)
                        fx_std = moment_std(st.fx) if fx_std is None else fx_std
                    responses()
                    h, h_norm = st.out, vector_norm(st.out)
                acts[i] = (x_norm, h_norm, fx_norm, fx_std)
            del st  # F(x) of the last block: not kept through the backward pass
            logits = net.head(h)  # (B, classes); a transformer's (B, T, vocab)
            loss = F.cross_entropy(logits.flatten(0, -2), labels.flatten())
        params = [m.weight for _, m, *_ in layers]
        g_w = torch.autograd.grad(loss, params, allow_unused=True)

    layer_rows, block_rows = _rows(net, layers, g_w, rec.resp_std, acts, rec.gn, rec.whole, kept, skips, drops)
    name, kind = network_name(net.config.depth, skips, _family(net))
    return Trace(layers=pd.DataFrame(layer_rows), blocks=pd.DataFrame(block_rows, columns=BLOCK_COLUMNS),
                 loss=float(loss.detach()), name=name, depth=net.config.depth, kind=kind)
