"""One instrumented forward/backward pass -> tidy tables. Never changes the model it is given.

`python -m viz.probe --depth 56 --no-skip --norm batch --batch 32 --seed 0 --format table` prints them.
"""

import argparse
import json
import math
import sys
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

from viz.measure import borrowed, forward_hooks, ratio, share
from viz.measure import norm as _norm
from viz.measure import std as _std

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
    out = [("conv", mods["bn"])]
    for i, b in enumerate(model.blocks):
        kids = list(b.branch.named_children())
        for (n, m), (_, nxt) in zip(kids, [*kids[1:], (None, None)], strict=True):
            if isinstance(m, nn.Conv2d):
                out.append((f"blocks.{i}.branch.{n}", nxt if isinstance(nxt, (nn.BatchNorm2d, nn.Identity)) else m))
    return out


def weight_layers(model):
    """Weight layers in input-to-output order: (name, module, block, stage, path)."""
    rows = [("conv", model.conv, -1, -1, "stem")]
    for i, b in enumerate(model.blocks):
        for n, m in b.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                path = n.split(".")[0]  # "branch", "shortcut", or a design's own part (a highway "gate")
                rows.append((f"blocks.{i}.{n}", m, i, b.stage, path))
    rows.append(("fc", model.fc, -1, 3, "head"))
    return rows


def _once(measure):
    """measure(t), computed once per tensor object of this pass (the pass keeps every tensor alive, so ids are
    stable): a block's input is the previous block's output, its F(x) the last conv's response."""
    seen = {}

    def once(t):
        if t is None:
            return measure(t)
        if id(t) not in seen:
            seen[id(t)] = measure(t)
        return seen[id(t)]

    return once


def network_name(depth, skips):
    """("ResNet-56", "ResNet") with every skip on, ("plain-56", "plain") with none, else a mixed name."""
    if all(skips):
        return f"ResNet-{depth}", "ResNet"
    if not any(skips):
        return f"plain-{depth}", "plain"
    return f"ResNet-{depth} ({sum(skips)} of {len(skips)} skips)", "mixed"


def probe(model, images, labels, skip=None, drop=None, bn_mode="train"):
    """One forward and backward pass with every gradient norm measured.

    Args:
        model: a `models.resnet.ResNet` (never modified: no .grad, no BN stats, no hooks, same mode).
        images: (B, C, 32, 32) float in [0, 1].
        labels: (B,) int64 class indices.
        skip, drop: optional per-block overrides, as for `model(x, skip=, drop=)`.
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


def _probe(net, images, labels, skips, drops):
    layers, resp = weight_layers(net), {}
    hooked = [(m, lambda mod, a, out, name=name: resp.__setitem__(name, out)) for name, m in conv_responses(net)]
    with torch.enable_grad(), forward_hooks(hooked):
        h0 = net.features(images)  # (B, w, 32, 32)
        steps = list(net.run_blocks(h0, skips, drops))
        loss = F.cross_entropy(net.head(steps[-1].out), labels)
        live = [s for s in steps if s.fx is not None]
        params = [m.weight for _, m, *_ in layers]
        grads = torch.autograd.grad(loss, params + [h0] + [s.out for s in steps] + [s.fx for s in live],
                                    allow_unused=True)
    g_w, g_h0 = grads[: len(params)], grads[len(params)]
    g_out = grads[len(params) + 1 : len(params) + 1 + len(steps)]
    g_fx = dict(zip((s.block for s in live), grads[len(params) + 1 + len(steps) :], strict=True))
    norm, std = _once(_norm), _once(_std)  # a block's x is the previous block's output: each tensor measured once
    with torch.no_grad():
        layer_rows = [dict(layer=name, kind="fc" if isinstance(m, nn.Linear) else "conv", block=blk, stage=stage,
                           path=path, order=order, grad_norm=norm(g) if g is not None else float("nan"),
                           weight_norm=norm(m.weight), response_std=std(resp[name]) if name in resp else float("nan"))
                      for order, ((name, m, blk, stage, path), g) in enumerate(zip(layers, g_w, strict=True))]
        block_rows = []
        for k, st in enumerate(steps):
            i, b = st.block, net.blocks[st.block]
            g_in = g_h0 if k == 0 else g_out[k - 1]  # a block's input is the previous block's output
            row = dict(block=i, stage=b.stage, skip=skips[i], dropped=drops[i], x_norm=norm(st.x),
                       out_norm=norm(st.out), grad_norm=norm(g_out[k]), grad_in_norm=norm(g_in))
            if drops[i]:  # the block is its shortcut: all of the gradient takes the skip path
                row.update(fx_norm=0.0, residual_ratio=0.0, response_std=float("nan"), grad_skip_norm=row["grad_in_norm"],
                           grad_branch_norm=0.0, skip_share=1.0)
            else:
                row.update(fx_norm=norm(st.fx), response_std=std(st.fx))
                row["residual_ratio"] = ratio(row["fx_norm"], row["x_norm"])
                if not skips[i]:
                    a, c = 0.0, row["grad_in_norm"]
                elif g_in is None or g_out[k] is None:
                    a = c = float("nan")
                else:
                    g_skip = b.skip_vjp(st.x, st.fx, g_out[k], g_fx.get(i))
                    a, c = _norm(g_skip), _norm(g_in - g_skip)  # temporaries: never memoized by id
                row.update(grad_skip_norm=a, grad_branch_norm=c, skip_share=0.0 if not skips[i] else share(a, c))
            block_rows.append(row)
    name, kind = network_name(net.config.depth, skips)
    return Trace(layers=pd.DataFrame(layer_rows), blocks=pd.DataFrame(block_rows, columns=BLOCK_COLUMNS),
                 loss=float(loss.detach()), name=name, depth=net.config.depth, kind=kind)


def main(argv=None):
    from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
    from models.resnet import ResNet, ResNetConfig

    p = argparse.ArgumentParser(prog="python -m viz.probe", description="Probe a ResNet at init on shapes data.")
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--no-skip", dest="skip", action="store_false")
    p.add_argument("--norm", default="batch", choices=["batch", "none"])
    p.add_argument("--activation", default="relu", choices=["relu", "tanh", "sigmoid"])
    p.add_argument("--init", default="kaiming", choices=["kaiming", "xavier", "zero_residual"])
    p.add_argument("--shortcut", default="A", choices=["A", "B"])
    p.add_argument("--bn-mode", default="train", choices=["train", "eval"])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    a = p.parse_args(argv)
    try:
        cfg = ResNetConfig(depth=a.depth, skip=a.skip, norm=a.norm, activation=a.activation, init=a.init,
                           shortcut=a.shortcut, mean=SHAPES_MEAN, std=SHAPES_STD)
    except ValueError as e:
        p.error(str(e))
    model = ResNet(cfg, seed=a.seed)  # the weights the Gradient-flow page shows for this seed
    x, y = make_shapes("test", n=a.batch, seed=a.seed)
    t = probe(model, x.float() / 255, y, bn_mode=a.bn_mode)
    if a.format == "json":
        json.dump({"name": t.name, "loss": t.loss, "layers": t.layers.to_dict("records"),
                   "blocks": t.blocks.to_dict("records")}, sys.stdout, indent=1)
        print()
    elif a.format == "csv":
        print(t.layers.to_csv(index=False))
        print(t.blocks.to_csv(index=False))
    else:
        with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200, "display.float_format", "{:.4g}".format):
            print(f"{t.name}  loss {t.loss:.4f}\n\nlayers\n{t.layers}\n\nblocks\n{t.blocks}")
        from viz.gradient_flow_charts import describe_gradient_ratio, first_last_gradients

        print("\n" + describe_gradient_ratio(t.name, *first_last_gradients(t.layers)))


if __name__ == "__main__":
    main()
