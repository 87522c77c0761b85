"""What trained residual networks learned: residual sizes, response std (He et al. 2015, Fig. 7), lesions
(Veit et al. 2016, Figs. 3 and 5), gradient path lengths (Veit et al. 2016, Fig. 6), and test metrics with
any skip/branch switches.

Everything works in chunks of test images: a `*_sums` function measures one chunk and returns additive
sums in a DataFrame, a `*_table` function turns the sums of all chunks into the numbers (so a page can cache
chunk by chunk, show progress and stop in between). `in_chunks` does the loop for scripts and tests.
Models are never changed: each function works on a private copy in eval mode (BN running statistics, lent by
`viz.measures.common.borrowed`) that shares the model's parameters; no gradient is written to them. Blocks run through the
model's block runner, `ResNet.run_blocks`.
"""

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.blocks import Additive
from viz.measures.common import as_float, borrowed, chunks, concat, forward_hooks, in_chunks
from viz.measures.probe import conv_responses

__all__ = ["chunks", "concat", "in_chunks"]  # the chunk helpers, re-exported for the pages and scripts

Setting = tuple  # (label, skip: per-block bools or None, drop: per-block bools or None)
SETTING_COLUMNS = ["setting", "n", "errors", "loss_sum", "dropped", "skips_off", "depth", "skip"]


# --- residual sizes and response std ---------------------------------------------------------------


def _three_by_three(net):
    mods = dict(net.named_modules())
    return [(name, norm) for name, norm in conv_responses(net) if getattr(mods[name], "kernel_size", None) == (3, 3)]


def response_sums(model, images, labels=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sums for residual sizes and layer responses over one chunk (as trained: no switches).

    Args:
        model: a `models.resnet.ResNet` (not modified).
        images: (B, C, 32, 32) uint8, or float in [0, 1]; labels: unused (the chunk interface of `in_chunks`).
    Returns:
        blocks: a row per block (block, stage, x_sq = sum of x^2 over the chunk, fx_sq = sum of F(x)^2, and the
        network's depth and skip).
        layers: a row per 3x3 conv (layer, block, stage, n, s, ss): count, sum and sum of squares of its
        response, the conv's output after its BN and before the addition/activation (He et al. Fig. 7).
    """
    resp = {}  # each conv's (count, sum, sum of squares), taken as its response passes: no tensor is kept

    def moments(name, out):
        r = out.double()
        resp[name] = (r.numel(), float(r.sum()), float(r.pow(2).sum()))

    with borrowed(model) as net, torch.inference_mode():
        convs = _three_by_three(net)
        who = dict(depth=net.config.depth, skip=net.config.skip)  # the network, carried as columns
        hooked = [(m, lambda mod, a, out, name=name: moments(name, out)) for name, m in convs]
        with forward_hooks(hooked):  # a block's sums as it runs, so the pass holds a few tensors, not the network's
            brows = [dict(block=st.block, stage=net.blocks[st.block].stage, x_sq=float(st.x.double().pow(2).sum()),
                          fx_sq=float(st.fx.double().pow(2).sum()), **who)
                     for st in net.run_blocks(net.features(as_float(images)))]
        lrows = []
        for order, (name, _) in enumerate(convs):
            blk = int(name.split(".")[1]) if name.startswith("blocks.") else -1
            n, s_, ss = resp[name]
            lrows.append(dict(layer=name, index=order + 1, block=blk, stage=net.blocks[blk].stage if blk >= 0 else -1,
                              n=n, s=s_, ss=ss, **who))
    return pd.DataFrame(brows), pd.DataFrame(lrows)


def residual_table(block_sums: pd.DataFrame) -> pd.DataFrame:
    """Per block: residual_ratio = ||F(x)|| / ||x|| over all images of all chunks (the sums of `response_sums`)."""
    d = block_sums.groupby(["block", "stage", "depth", "skip"], as_index=False)[["x_sq", "fx_sq"]].sum()
    d["residual_ratio"] = np.sqrt(d.fx_sq / d.x_sq)
    d["position"] = (d.block + 0.5) / len(d)  # 0 = input side, 1 = output side: depths can be overlaid
    return d[["block", "stage", "position", "residual_ratio", "depth", "skip"]]


def response_table(layer_sums: pd.DataFrame) -> pd.DataFrame:
    """Per 3x3 conv: response_std over all elements and images, `index` (1 = first layer, He's "original" order)
    and `rank` (1 = largest std, He's "sorted by magnitude")."""
    keys = ["layer", "index", "block", "stage", "depth", "skip"]
    d = layer_sums.groupby(keys, as_index=False)[["n", "s", "ss"]].sum()
    d = d.sort_values("index").reset_index(drop=True)
    d["response_std"] = np.sqrt(np.maximum(d.ss - d.s**2 / d.n, 0) / (d.n - 1))
    d["rank"] = d.response_std.rank(ascending=False, method="first").astype(int)
    return d[["layer", "index", "block", "stage", "response_std", "rank", "depth", "skip"]]


# --- test metrics with switches and lesions --------------------------------------------------------


def setting_sums(model, images, labels, settings: Sequence[Setting]) -> pd.DataFrame:
    """Test metrics of one chunk under several skip/drop settings, sharing the unchanged prefix of the network.

    Args:
        model: a `models.resnet.ResNet` (not modified).
        images: (B, C, 32, 32) uint8, or float in [0, 1]; labels: (B,) int64.
        settings: [(label, skip, drop), ...] with per-block sequences (or None) as for `model(x, skip=, drop=)`;
            `drop[i] = True` deletes block i's residual branch (Veit et al.'s lesion).
    Returns:
        a row per setting: setting, n, errors (count), loss_sum (summed cross-entropy), the blocks it deletes
        (`dropped`) and whose skips are off (`skips_off`) as tuples of block indices, and the network's depth and skip.
    Each setting runs the intact network up to its first changed block, then its own blocks from there; the
    result equals `model(images, skip=, drop=)` (the tests check it).
    """
    rows = {}
    with borrowed(model) as net, torch.inference_mode():
        n = len(net.blocks)
        plan = []
        for label, skip, drop in settings:
            sk, dr = net.overrides(skip, drop)
            changed = [i for i in range(n) if dr[i] or sk[i] != net.blocks[i].skip]
            plan.append((min(changed, default=n), label, sk, dr))
        y = labels
        h = net.features(as_float(images))  # (B, w, 32, 32): the input of block i below
        for i in range(n + 1):
            for p, (start, label, sk, dr) in enumerate(plan):
                if start != i:
                    continue
                g = h
                for st in net.run_blocks(h, sk, dr, start=i, residuals=False):
                    g = st.out
                logits = net.head(g)
                rows[p] = dict(setting=label, n=len(y), errors=int((logits.argmax(1) != y).sum()),
                               loss_sum=float(F.cross_entropy(logits, y, reduction="sum")),
                               dropped=tuple(j for j in range(n) if dr[j]),
                               skips_off=tuple(j for j in range(n) if not sk[j]),
                               depth=net.config.depth, skip=net.config.skip)
            if i < n:
                h = net.blocks[i](h)
    return pd.DataFrame([rows[p] for p in sorted(rows)], columns=SETTING_COLUMNS)


def setting_table(sums: pd.DataFrame) -> pd.DataFrame:
    """setting, n, error (fraction), loss (mean), in the order the settings were first given."""
    keys = ["setting", "dropped", "skips_off", "depth", "skip"]
    d = sums.groupby(keys, as_index=False, sort=False)[["n", "errors", "loss_sum"]].sum()
    d["error"] = d.errors / d.n
    d["loss"] = d.loss_sum / d.n
    return d[["setting", "n", "error", "loss", "dropped", "skips_off", "depth", "skip"]]


def lesion_label(dropped) -> str:
    return "intact" if not len(dropped) else "drop " + ",".join(str(int(i)) for i in sorted(dropped))


def _lesions(n_blocks, dropped_sets):
    out = [("intact", None, None)]
    for D in dropped_sets:
        out.append((lesion_label(D), None, tuple(i in set(D) for i in range(n_blocks))))
    return out


def single_lesions(n_blocks: int) -> list[Setting]:
    """Intact, then each block deleted in turn (Veit et al. Fig. 3)."""
    return _lesions(n_blocks, [(i,) for i in range(n_blocks)])


def random_lesion_sets(n_blocks: int, ks: Sequence[int], samples: int, seed: int = 0) -> list[tuple]:
    """`samples` random sets of k distinct blocks for each k (all of them when there are fewer), sorted."""
    rng = np.random.default_rng(seed)
    out = []
    for k in ks:
        if not 0 <= k <= n_blocks:
            raise ValueError(f"k must be between 0 and the number of blocks ({n_blocks}), not {k}.")
        if math.comb(n_blocks, k) <= samples:
            out += [tuple(c) for c in itertools.combinations(range(n_blocks), k)]
            continue
        seen = set()
        while len(seen) < samples:
            seen.add(tuple(sorted(int(i) for i in rng.choice(n_blocks, k, replace=False))))
        out += sorted(seen)
    return out


def random_lesions(n_blocks: int, ks: Sequence[int], samples: int, seed: int = 0) -> list[Setting]:
    """Intact, then `samples` random k-block deletions for each k (Veit et al. Fig. 5a)."""
    return _lesions(n_blocks, random_lesion_sets(n_blocks, ks, samples, seed))


def lesion_table(sums: pd.DataFrame, model) -> pd.DataFrame:
    """From `setting_sums` of lesion settings: one row per deletion with k, the deleted blocks, their stages,
    whether one is a downsampling block, error, loss, and the intact network's error (`base_error`)."""
    d = setting_table(sums)
    base = d[d.setting == "intact"]
    if base.empty:
        raise ValueError("the lesion settings need the intact network as a reference.")
    d = d[d.setting != "intact"].copy()
    blocks = list(d.dropped)  # the sums carry the deleted blocks as data
    down = {i for i, b in enumerate(model.blocks) if not isinstance(b.shortcut, nn.Identity)}
    d["k"] = [len(b) for b in blocks]
    d["blocks"] = [",".join(map(str, b)) for b in blocks]
    d["block"] = [b[0] if len(b) == 1 else -1 for b in blocks]
    d["stage"] = [model.blocks[b[0]].stage if len(b) == 1 else -1 for b in blocks]
    d["downsampling"] = [any(i in down for i in b) for b in blocks]
    d["base_error"] = float(base.error.iloc[0])
    cols = ["k", "blocks", "block", "stage", "downsampling", "error", "loss", "base_error", "depth", "skip"]
    return d[cols].reset_index(drop=True)


def switch_settings(model, skips_off=(), drops=()) -> list[Setting]:
    """The standard switches for the whole test set: as trained, every skip off (or on, for a plain net),
    every branch deleted, and a custom setting (the given blocks' skips off and branches deleted). Settings are
    tuples all the way down (hashable, so a cache can key on them)."""
    n, res = len(model.blocks), bool(model.config.skip)
    out = [("as trained", None, None), ("all skips off" if res else "all skips on", (not res,) * n, None),
           ("all branches deleted", None, (True,) * n)]
    if len(skips_off) or len(drops):
        sk = tuple(False if i in set(skips_off) else None for i in range(n))
        label = "custom: " + "; ".join(p for p in (f"skips off {sorted(skips_off)}" if len(skips_off) else "",
                                                     f"deleted {sorted(drops)}" if len(drops) else "") if p)
        out.append((label, sk, tuple(i in set(drops) for i in range(n))))
    return out


# --- gradient path lengths (Veit et al. 2016, Fig. 6) ----------------------------------------------


def path_gradient_sums(model, images, labels, ks: Sequence[int], samples: int, seed: int = 0) -> pd.DataFrame:
    """Gradient along paths of k residual branches (Veit et al. Fig. 6).

    One forward pass (eval mode). In the backward pass, `samples` times per k, k blocks are drawn at random:
    the gradient goes back through the residual branch of those k blocks only and through the skip of all
    others (the activation after each sum is kept, as in the forward pass). The norm of the resulting dL/dx_0,
    x_0 being the first block's input (the stem's output, where every path starts), is recorded.

    Args:
        model: a residual `models.resnet.ResNet` whose blocks compute act(branch(x) + shortcut(x)).
        images: (B, C, 32, 32) uint8 or float in [0, 1]; labels: (B,) int64. The loss is the batch mean.
        ks: path lengths, each in 0..n_blocks; samples: draws per k; seed: for the draws.
    Returns:
        a row per draw: k, sample, grad_norm. The draws of all 2^n paths sum to the full gradient (tested).
    """
    rows = []
    with borrowed(model) as net, torch.enable_grad():
        n = len(net.blocks)
        for b in net.blocks:
            if not b.skip or not isinstance(b, Additive):
                raise ValueError("gradient paths need a residual network whose blocks compute act(F(x) + shortcut(x)); "
                                 f"{model.config.name} is not one.")
        _, rec, g_top = path_graph(net, images, labels)
        for k, sets in zip(ks, path_sets(n, ks, samples, seed), strict=True):
            masks = torch.zeros(len(sets), n, dtype=torch.bool)
            for j, c in enumerate(sets):
                masks[j, list(c)] = True
            norms = path_grads(rec, masks, g_top).flatten(1).norm(dim=1)  # (S,)
            rows += [dict(k=int(k), sample=j, grad_norm=float(v)) for j, v in enumerate(norms)]
    return pd.DataFrame(rows, columns=["k", "sample", "grad_norm"])


def path_sets(n_blocks: int, ks: Sequence[int], samples: int, seed: int = 0) -> list[list[tuple]]:
    """For each k, `samples` random draws of k of the n blocks (with repeats: each draw is one measurement)."""
    rng = np.random.default_rng(seed)
    out = []
    for k in ks:
        if not 0 <= k <= n_blocks:
            raise ValueError(f"k must be between 0 and the number of blocks ({n_blocks}), not {k}.")
        out.append([tuple(sorted(int(i) for i in rng.choice(n_blocks, k, replace=False))) for _ in range(samples)])
    return out


def path_graph(net, images, labels):
    """The retained forward graph for `path_grads`: (x_0 (B, w, 32, 32) requiring grad, per-block records,
    dL/d(last block's output)). `net` must be a private eval copy (see `path_gradient_sums`)."""
    with torch.enable_grad():
        x0 = net.features(as_float(images)).detach().requires_grad_()  # (B, w, 32, 32)
        rec = []
        for st in net.run_blocks(x0):
            b = net.blocks[st.block]
            s = b.shortcut(st.x)  # the skip path's output, (B, C', H', W'), in the graph from x
            pre = (st.fx + s).detach()  # the sum the activation saw
            rec.append((st.x, st.fx, s, pre, st.out, None if isinstance(b.act, nn.Identity) else b.act))
        loss = F.cross_entropy(net.head(st.out), labels)
        (g_top,) = torch.autograd.grad(loss, st.out, retain_graph=True)
    return x0, rec, g_top


def path_grads(rec, masks, g_top):
    """Gradients at x_0 along S paths at once. masks: (S, n) bool, True = back through block i's branch,
    False = through its skip. g_top: dL/d(last output), (B, ...). Returns (S, B, w, 32, 32)."""
    g = g_top.expand(len(masks), *g_top.shape)  # (S, B, C, H, W): one gradient per path
    for i in range(len(rec) - 1, -1, -1):
        h, r, s, pre, _, act = rec[i]
        if isinstance(act, nn.ReLU):
            g = g * (pre > 0)
        elif act is not None:  # back through the activation at the sum's value
            with torch.enable_grad():
                p = pre.requires_grad_()
                (g,) = torch.autograd.grad(act(p), p, g, is_grads_batched=True)
        new = torch.empty(len(masks), *h.shape, dtype=g.dtype)
        sel = masks[:, i]
        for part, src in ((sel, r), (~sel, s)):
            if part.any():
                gp = g[part]
                if src is not h:  # the branch, or a shortcut that changes the shape (option A or B)
                    (gp,) = torch.autograd.grad(src, h, gp, retain_graph=True, is_grads_batched=True)
                new[part] = gp
        g = new
    return g.detach()


def path_table(samples: pd.DataFrame, n_blocks: int) -> pd.DataFrame:
    """Per path length k: the draws, mean and std of the gradient norm, the number of paths C(n, k), their
    total (mean x C(n, k), Veit's Fig. 6c) and its share of the sum over the measured k."""
    d = samples.groupby("k", as_index=False).grad_norm.agg(draws="count", mean_grad="mean", std_grad="std")
    d["paths"] = [float(math.comb(n_blocks, int(k))) for k in d.k]
    d["total"] = d.mean_grad * d.paths
    d["share"] = d.total / d.total.sum()
    return d


def path_span(table: pd.DataFrame, mass: float = 0.9) -> dict:
    """Where the total gradient comes from: the path lengths holding the central `mass` of it (lo..hi), the
    peak k, the mean path length under the binomial count, and the factor the gradient loses per extra branch
    (from a log-linear fit of mean_grad against k)."""
    t = table.sort_values("k")
    cum = t.share.cumsum().to_numpy()
    tail = (1 - mass) / 2
    lo = int(t.k.iloc[int(np.searchsorted(cum, tail))])
    hi = int(t.k.iloc[min(int(np.searchsorted(cum, 1 - tail)), len(t) - 1)])
    ok = t[t.mean_grad > 0]
    slope = float(np.polyfit(ok.k, np.log(ok.mean_grad), 1)[0]) if len(ok) > 1 else float("nan")
    mean_len = float((t.k * t.paths).sum() / t.paths.sum())
    return dict(lo=lo, hi=hi, peak=int(t.k.iloc[int(t.total.argmax())]), mean_length=mean_len, per_block=math.exp(slope))
