"""One instrumented forward/backward pass -> tidy tables. Never changes the model it is given.

`python -m viz.probe --depth 56 --no-skip --norm batch --batch 32 --seed 0 --format table` prints them.
"""

import argparse
import contextlib
import copy
import json
import math
import sys
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.linalg import vector_norm


@dataclass
class Trace:
    layers: pd.DataFrame  # a row per weight layer, input side to output side
    blocks: pd.DataFrame  # a row per residual block
    loss: float
    name: str = ""  # e.g. "ResNet-56"

    @property
    def finite(self) -> bool:
        """False when float32 overflowed somewhere: the loss, a block output or a main-path gradient."""
        main = self.layers[self.layers.path != "shortcut"]
        values = [self.loss, *self.blocks.out_norm, *main.grad_norm]
        return all(math.isfinite(v) for v in values)


@contextlib.contextmanager
def hooks(model, capture, norms=True):
    """Forward hooks that record, per block i, capture[("block", i)] = (input, output) and
    capture[("branch", i)] = its residual F(x) (a dropped block never runs its branch: no entry), and with
    `norms` the response of every norm layer (what each conv produces after its normalization).
    Handles are removed in `finally`."""
    handles = []

    def put(key, value):  # a forward hook must return None, or it would replace the module's output
        capture[key] = value

    try:
        for i, b in enumerate(model.blocks):
            handles.append(b.register_forward_hook(lambda m, a, out, i=i: put(("block", i), (a[0], out))))
            handles.append(b.branch.register_forward_hook(lambda m, a, out, i=i: put(("branch", i), out)))
        for name, m in _conv_norms(model) if norms else []:
            handles.append(m.register_forward_hook(lambda mod, a, out, name=name: put(("norm", name), out)))
        yield capture
    finally:
        for h in handles:
            h.remove()


def _conv_norms(model):
    """(conv name, the module right after it that gives its normalized response)."""
    mods = dict(model.named_modules())
    out = [("conv", mods["bn"])]
    for i, b in enumerate(model.blocks):
        kids = list(b.branch.named_children())  # a conv's response is the norm right after it, else its own output
        for (n, m), (_, nxt) in zip(kids, kids[1:] + [(None, None)]):
            if isinstance(m, nn.Conv2d):
                out.append((f"blocks.{i}.branch.{n}", nxt if isinstance(nxt, (nn.BatchNorm2d, nn.Identity)) else m))
    return out


def _weight_layers(model):
    """Weight layers in input-to-output order: (name, module, block, stage, path)."""
    rows = [("conv", model.conv, -1, -1, "stem")]
    for i, b in enumerate(model.blocks):
        for n, m in b.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                path = n.split(".")[0]  # "branch", "shortcut", or a design's own part (a highway "gate")
                rows.append((f"blocks.{i}.{n}", m, i, b.stage, path))
    rows.append(("fc", model.fc, -1, 3, "head"))
    return rows


def private_copy(model):
    """Module objects of our own (mode, hooks, BN running stats) sharing the model's parameters."""
    memo = {id(p): p for p in model.parameters()}
    return copy.deepcopy(model, memo)


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
        `blocks` (block, stage, x_norm, fx_norm, out_norm, residual_ratio, response_std, grad_norm,
        skip_share, skip, dropped) and the loss.
    """
    if bn_mode not in ("train", "eval"):
        raise ValueError(f"bn_mode must be 'train' or 'eval', not {bn_mode!r}.")
    net = private_copy(model)
    net.train(bn_mode == "train")
    skips = net._per_block(skip, "skip")
    skips = [net.config.skip if s is None else bool(s) for s in skips]
    drops = [bool(d) for d in net._per_block(drop, "drop")]
    layers = _weight_layers(net)
    with torch.enable_grad(), hooks(net, {}) as cap:
        logits = net(images, skip=skips, drop=drops)
        loss = F.cross_entropy(logits, labels)
        live = [i for i in range(len(net.blocks)) if ("block", i) in cap]
        outs = [cap[("block", i)][1] for i in live]
        ins = [cap[("block", i)][0] for i in live]
        res = [cap[("branch", i)] for i in live if ("branch", i) in cap]
        params = [m.weight for _, m, *_ in layers]
        grads = torch.autograd.grad(loss, params + ins + outs + res, allow_unused=True)
    g_w, grads = grads[: len(params)], grads[len(params) :]
    g_in, g_out, g_res = grads[: len(ins)], grads[len(ins) : len(ins) + len(outs)], grads[len(ins) + len(outs) :]

    with torch.no_grad():
        layer_rows = []
        for order, ((name, m, blk, stage, path), g) in enumerate(zip(layers, g_w)):
            resp = cap.get(("norm", name))
            layer_rows.append(
                dict(
                    layer=name,
                    kind="fc" if isinstance(m, nn.Linear) else "conv",
                    block=blk,
                    stage=stage,
                    path=path,
                    order=order,
                    grad_norm=_norm(g) if g is not None else float("nan"),
                    weight_norm=_norm(m.weight),
                    response_std=_std(resp) if resp is not None else float("nan"),
                )
            )
        block_rows, r_iter = [], iter(zip(g_res, res))
        for k, i in enumerate(live):
            x, out = ins[k], outs[k]
            row = dict(block=i, stage=net.blocks[i].stage, skip=skips[i], dropped=drops[i], x_norm=_norm(x))
            row["out_norm"] = _norm(out)
            row["grad_norm"] = _norm(g_out[k])
            if drops[i]:
                row.update(fx_norm=0.0, residual_ratio=0.0, response_std=float("nan"), skip_share=1.0)
            else:
                g_r, fx = next(r_iter)
                fx_norm = _norm(fx)
                row.update(fx_norm=fx_norm, residual_ratio=fx_norm / row["x_norm"] if row["x_norm"] else float("nan"), response_std=_std(fx))
                blk = net.blocks[i]
                if not skips[i]:
                    row["skip_share"] = 0.0
                elif hasattr(blk, "skip_vjp"):  # concatenation, gating: the block knows its skip path's share
                    row["skip_share"] = _share(blk.skip_vjp(x, fx, g_out[k]), g_in[k]) if g_out[k] is not None else float("nan")
                else:
                    row["skip_share"] = _skip_share(blk.shortcut, x, g_r, g_in[k])
            block_rows.append(row)
    cols = ["block", "stage", "skip", "dropped", "x_norm", "fx_norm", "out_norm", "residual_ratio", "response_std"]
    blocks = pd.DataFrame(block_rows, columns=cols + ["grad_norm", "skip_share"])
    name = _network_name(net.config.depth, skips)
    return Trace(layers=pd.DataFrame(layer_rows), blocks=blocks, loss=float(loss.detach()), name=name)


def _network_name(depth, skips):
    if all(skips):
        return f"ResNet-{depth}"
    if not any(skips):
        return f"plain-{depth}"
    return f"ResNet-{depth} ({sum(skips)} of {len(skips)} skips)"


def _norm(g):
    return float(vector_norm(g)) if g is not None else 0.0


def _std(t):
    """Sample std, two-pass; many times faster than Tensor.std on CPU for activation-sized tensors."""
    return float(vector_norm(t - t.mean()) / math.sqrt(max(t.numel() - 1, 1)))


def _skip_share(shortcut, x, g_sum, g_x):
    """Share of dL/dx that arrives through the shortcut: ||J_s^T g|| / (||J_s^T g|| + ||J_F^T g||),
    where g = dL/d(F(x) + s(x)) and J_F^T g = dL/dx - J_s^T g."""
    if g_sum is None or g_x is None:
        return float("nan")
    if isinstance(shortcut, nn.Identity):
        g_skip = g_sum
    else:
        with torch.enable_grad():
            xd = x.detach().requires_grad_()
            (g_skip,) = torch.autograd.grad(shortcut(xd), xd, grad_outputs=g_sum)
    return _share(g_skip, g_x)


def _share(g_skip, g_x):
    if g_x is None:
        return float("nan")
    a, b = _norm(g_skip), _norm(g_x - g_skip)
    return a / (a + b) if a + b > 0 else float("nan")


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
        from viz.charts import describe_gradient_ratio, first_last_gradients

        print("\n" + describe_gradient_ratio(t.name, *first_last_gradients(t.layers)))


if __name__ == "__main__":
    main()
