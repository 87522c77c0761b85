"""The transformer's residual stream: per-layer gradient norms at init for Post-LN, Pre-LN and no skips, the stream's
norm after each layer, and a short race of Post-LN without warm-up against Pre-LN (Xiong et al., ICML 2020).

Every number comes from the one probe (`viz.probe.probe`), which measures the transformer's sublayers as it measures
a ResNet's blocks. `python -m viz.measures.transformer --depth 12` prints the tables.
"""

import argparse
import math

import pandas as pd
import torch

from models.text import load_corpus, windows
from models.transformer import Transformer, TransformerConfig
from viz.measures.probe import probe
from viz.words import fmt

PAPER = ("Xiong et al. (ICML 2020, Fig. 3 and Theorem 1): at initialisation the gradient norm of Post-LN's parameters "
         "grows with the layer index, largest next to the output, while Pre-LN's stays about the same in every layer; "
         "hence Post-LN needs a learning-rate warm-up and Pre-LN does not.")
FLAT = 1.5  # a last/first ratio within a factor of FLAT either way counts as "about flat"


def trend(ratio: float) -> str:
    """A last/first gradient ratio in words: grows toward the output, shrinks, or about flat."""
    if not math.isfinite(ratio):
        return "has no finite ratio"
    if ratio > FLAT:
        return f"grows toward the output ({fmt(ratio)}x from the first layer to the last)"
    if ratio < 1 / FLAT:
        return f"shrinks toward the output (the last layer gets {fmt(ratio)}x the first's)"
    return f"is about flat (last/first {fmt(ratio)})"


def agreement(post: float, pre: float) -> str:
    """One sentence: where our last/first ratios agree with Xiong et al. and where they do not."""
    grows, flat = post > FLAT, 1 / FLAT <= pre <= FLAT
    if grows and flat:
        return "Both agree with the paper."
    parts = [] if grows else [f"Post-LN's ratio {fmt(post)} does not show the paper's growth toward the output"]
    if not flat:
        parts.append(f"Pre-LN's ratio {fmt(pre)} is not flat as the paper's is")
    if post > pre:
        parts.append(f"yet Post-LN's is {fmt(post / pre)}x Pre-LN's, the paper's direction")
    return "Here ours disagrees with the paper: " + "; ".join(parts) + "."


VARIANTS = ("Post-LN", "Pre-LN", "no skip")  # "no skip": the Pre-LN arrangement x = F(ln(x)), every skip removed
DEPTHS = (2, 4, 6, 8, 12, 16, 24)


def corpus_batch(batch: int, length: int, seed: int):
    """`batch` windows of the shipped corpus: (x (batch, length), y (batch, length)) int64, chosen by seed."""
    c = load_corpus()
    return windows(c.encode(c.text), batch, length, torch.Generator().manual_seed(seed))


def build(variant: str, depth: int, d_model: int = 64, n_head: int = 4, block_size: int = 64, seed: int = 0):
    """A fresh transformer of the variant ("Post-LN", "Pre-LN" or "no skip") over the corpus's characters."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, not {variant!r}.")
    cfg = TransformerConfig(vocab_size=load_corpus().vocab_size, n_layer=depth, d_model=d_model, n_head=n_head,
                            block_size=block_size, ln="post" if variant == "Post-LN" else "pre",
                            skip=variant != "no skip")
    return Transformer(cfg, seed=seed)


def layer_gradients(trace) -> pd.DataFrame:
    """A probe trace of a transformer -> a row per layer: layer (1..L), grad_norm (the root sum of squares of the
    gradient norms of the layer's weight matrices: attention qkv and output, MLP in and out)."""
    w = trace.layers[trace.layers.block >= 0]
    g = w.groupby("stage").grad_norm.apply(lambda s: math.sqrt(float((s**2).sum())))
    return pd.DataFrame({"layer": g.index + 1, "grad_norm": g.to_numpy()})


def stream_norms(trace, tokens: int) -> pd.DataFrame:
    """A row per layer: the residual stream's norm per token after the layer (its MLP sublayer's output, over the
    tokens of the batch: ||h|| / sqrt(tokens)), and the embedding's as layer 0."""
    b = trace.blocks
    after = b[b.block % 2 == 1]
    norms = [float(b.x_norm.iloc[0]), *after.out_norm]
    return pd.DataFrame({"layer": range(len(norms)), "stream_norm": [v / math.sqrt(tokens) for v in norms]})


def init_gradients(depths=DEPTHS, d_model: int = 64, batch: int = 16, length: int = 64, seed: int = 0,
                   skip=None):
    """Probe each variant at each depth once at init, on the same batch of corpus windows.

    Args:
        depths: layer counts (1 to 24). skip: optional per-layer bools for the skip variants (a list as long as
            the deepest depth; each network takes its first `depth` values).
    Returns:
        (grads, streams, ratios): grads a row per (variant, depth, layer) with grad_norm; streams a row per
        (variant, depth, layer 0..L) with stream_norm; ratios a row per (variant, depth) with the loss, first, last
        and ratio = last / first layer's grad_norm.
    """
    x, y = corpus_batch(batch, length, seed)
    grads, streams, ratios = [], [], []
    for depth in depths:
        for v in VARIANTS:
            s = list(skip[:depth]) if skip is not None and v != "no skip" else None
            t = probe(build(v, depth, d_model, seed=seed), x, y, skip=s)
            g, st = layer_gradients(t), stream_norms(t, batch * length)
            grads.append(g.assign(variant=v, depth=depth))
            streams.append(st.assign(variant=v, depth=depth))
            first, last = float(g.grad_norm.iloc[0]), float(g.grad_norm.iloc[-1])
            ratios.append(dict(variant=v, depth=depth, loss=t.loss, first=first, last=last,
                               ratio=last / first if first else float("nan")))
    order = ["variant", "depth", "layer"]
    return (pd.concat(grads)[[*order, "grad_norm"]].reset_index(drop=True),
            pd.concat(streams)[[*order, "stream_norm"]].reset_index(drop=True), pd.DataFrame(ratios))


def unigram_loss() -> float:
    """The cross-entropy of predicting each character by its frequency alone (no context): the plateau a model that
    has learnt only the alphabet's frequencies sits on."""
    ids = load_corpus().encode(load_corpus().text)
    p = torch.bincount(ids).double() / len(ids)
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def train_race(depth: int = 12, lr: float = 3e-3, steps: int = 100, d_model: int = 64, batch: int = 8,
               length: int = 32, seed: int = 0, progress=None) -> pd.DataFrame:
    """Train Post-LN and Pre-LN side by side with Adam at the same constant learning rate (no warm-up), on the same
    batches: a row per (variant, step) with the training loss. progress(fraction done) after each step."""
    c = load_corpus()
    ids = c.encode(c.text)
    models = {v: build(v, depth, d_model, block_size=length, seed=seed) for v in ("Post-LN", "Pre-LN")}
    opts = {v: torch.optim.Adam(m.parameters(), lr=lr) for v, m in models.items()}
    g, rows = torch.Generator().manual_seed(seed), []
    for step in range(steps):
        x, y = windows(ids, batch, length, g)
        for v, m in models.items():
            _, loss = m(x, y)
            opts[v].zero_grad(set_to_none=True)
            loss.backward()
            opts[v].step()
            rows.append(dict(variant=v, step=step + 1, loss=float(loss.detach())))
        if progress:
            progress((step + 1) / steps)
    return pd.DataFrame(rows)


def race_summary(race: pd.DataFrame, window: int = 20) -> pd.DataFrame:
    """A row per variant: the mean loss over the first and the last `window` steps, and whether it stayed finite."""
    rows = []
    for v, r in race.groupby("variant", sort=False):
        rows.append(dict(variant=v, start=float(r.loss.head(window).mean()), end=float(r.loss.tail(window).mean()),
                         finite=bool(r.loss.map(math.isfinite).all())))
    return pd.DataFrame(rows)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m viz.measures.transformer",
                                description="Per-layer gradient norms at init: Post-LN, Pre-LN and no skips.")
    p.add_argument("--depth", type=int, default=12)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train", type=int, default=0, metavar="STEPS", help="also race Post-LN and Pre-LN for STEPS")
    p.add_argument("--lr", type=float, default=3e-3)
    a = p.parse_args(argv)
    if not 1 <= a.depth <= 24:
        p.error(f"depth must be 1 to 24 layers, not {a.depth}.")
    try:
        grads, streams, ratios = init_gradients([a.depth], a.d_model, a.batch, seed=a.seed)
    except ValueError as e:
        p.error(str(e))
    table = grads.pivot(index="layer", columns="variant", values="grad_norm")[list(VARIANTS)]
    with pd.option_context("display.float_format", "{:.4g}".format, "display.width", 160):
        print(f"per-layer gradient norm at init, depth {a.depth}\n{table}\n")
        print(streams.pivot(index="layer", columns="variant", values="stream_norm")[list(VARIANTS)], "\n")
        print(ratios.to_string(index=False))
        if a.train:
            print(race_summary(train_race(a.depth, a.lr, a.train, a.d_model, seed=a.seed)).to_string(index=False))


if __name__ == "__main__":
    main()
