"""The network as a picture: where each block is drawn, what it is made of, the numbers on its edges, the steps
of a pass. Tables and dicts only; the figures are in viz/charts/network_overview.py, network_block.py and network_passes.py."""

import math

import numpy as np
import pandas as pd

# what a block can be coloured by: probe column -> (words for the colour bar, words for a caption, log scale)
MEASURES = {
    "grad_norm": ("gradient at<br>the block's<br>output", "the gradient at each block's output", True),
    "residual_ratio": ("size of F(x)<br>against x:<br>||F(x)|| / ||x||", "||F(x)|| / ||x||", True),
    "skip_share": (
        "share of the<br>gradient that<br>takes the skip",
        "the share of the gradient that takes the skip",
        False,
    ),
    "response_std": ("spread of F(x):<br>its std", "the std of each block's F(x)", True),
}
LABELS = {
    "grad_norm": "gradient at the output",
    "residual_ratio": "||F(x)|| / ||x||",
    "skip_share": "share via the skip",
    "response_std": "std of F(x)",
}  # short names for a control
FULL_FIRST, FULL_LAST = 2, 1  # a stage of more blocks shows its first two and its last in full, the rest as a strip
W, STRIP_W = 1.6, 1.8  # the width of a full block and of a stage's strip


def activation_name(activation="relu") -> str:
    """The activation as drawn: ReLU, tanh, σ."""
    return {"relu": "ReLU", "tanh": "tanh", "sigmoid": "σ"}.get(activation, activation)


def parts(norm="batch", activation="relu"):
    """The branch F of a basic block as drawn, input to output: conv, BN, act, conv, BN (no BN when norm="none")."""
    act = activation_name(activation)
    bn = ["BN"] if norm == "batch" else []
    return ["conv"] + bn + [act, "conv"] + bn


def shortcut_label(stage_start: bool, shortcut="A"):
    """What a block's shortcut is: the identity, or where the shape changes option A (zero-pad) or B (1x1 conv)."""
    if not stage_start:
        return "identity"
    return "A: subsample + zero-pad" if shortcut == "A" else "B: 1x1 conv + BN"


def infer_shortcut(trace) -> str:
    """ "B" when the probed network has projection shortcuts (weight layers on the shortcut path), else "A"."""
    return "B" if (trace.layers.path == "shortcut").any() else "A"


def block_layout(blocks: pd.DataFrame) -> pd.DataFrame:
    """Where each block is drawn, left to right after the stem.

    Args:
        blocks: the probe's `trace.blocks` (N rows: block, stage, ...).
    Returns:
        N rows: block, stage, full (drawn as a whole block diagram, else as one cell of its stage's strip),
        x (its centre), x0, x1 (its extent), stage_start (the first block of stages 2 and 3, where the shape
        changes), plus per stage the strip's extent (strip_x0, strip_x1, NaN where a stage has none).
        A full block is W wide; a stage of n > 3 blocks draws blocks 1, 2 and n in full and the n - 3 others as
        equal cells of one strip STRIP_W wide between them. Stages are 0.6 apart, the first starts at 0.
    """
    rows, x = [], 0.0
    for stage, g in blocks.groupby("stage", sort=True):
        ids = list(g.block)
        n = len(ids)
        if n <= FULL_FIRST + FULL_LAST:
            strip = []
        else:
            strip = ids[FULL_FIRST:-FULL_LAST]
        order = ids[:FULL_FIRST] if strip else ids
        for b in order:
            rows.append(dict(block=b, stage=stage, full=True, x0=x, x1=x + W))
            x += W
        if strip:
            w = STRIP_W / len(strip)
            s0 = x + 0.1
            for k, b in enumerate(strip):
                rows.append(
                    dict(
                        block=b,
                        stage=stage,
                        full=False,
                        x0=s0 + k * w,
                        x1=s0 + (k + 1) * w,
                        strip_x0=s0,
                        strip_x1=s0 + STRIP_W,
                    )
                )
            x = s0 + STRIP_W + 0.1
            for b in ids[-FULL_LAST:]:
                rows.append(dict(block=b, stage=stage, full=True, x0=x, x1=x + W))
                x += W
        x += 0.6
    out = pd.DataFrame(rows, columns=["block", "stage", "full", "x0", "x1", "strip_x0", "strip_x1"])
    out = out.sort_values("block").reset_index(drop=True)
    out["x"] = (out.x0 + out.x1) / 2
    first = out.groupby("stage").block.transform("min")
    out["stage_start"] = (out.block == first) & (out.stage > out.stage.min())
    return out


def edge_values(trace, block: int) -> dict:
    """The numbers on the edges of one block's diagram, straight from the probe.

    Args:
        trace: a `viz.probe.Trace`.
        block: the block's index (0 .. N-1).
    Returns:
        dict: block, stage, skip, dropped, x (||x||), fx (||F(x)||), out (||out||), ratio (||F(x)||/||x||),
        grad_out (||dL/d out||), grad_in (||dL/dx||), grad_skip (the part of dL/dx through the shortcut),
        grad_branch (the part through F), skip_share, response_std. Floats; NaN where not measured.
    """
    B = trace.blocks
    r = B[B.block == block]
    if r.empty:
        raise ValueError(f"{trace.name} has no block {block} (it has blocks 0 to {len(B) - 1}).")
    r = r.iloc[0]
    return dict(
        block=int(r.block),
        stage=int(r.stage),
        skip=bool(r.skip),
        dropped=bool(r.dropped),
        x=float(r.x_norm),
        fx=float(r.fx_norm),
        out=float(r.out_norm),
        ratio=float(r.residual_ratio),
        grad_out=float(r.grad_norm),
        grad_in=float(r.grad_in_norm),
        grad_skip=float(r.grad_skip_norm),
        grad_branch=float(r.grad_branch_norm),
        skip_share=float(r.skip_share),
        response_std=float(r.response_std),
    )


def stations(blocks: pd.DataFrame, most: int = 60) -> list[int]:
    """The blocks a pass is stepped through: every block when there are at most `most`, else the first two and
    last of each stage plus evenly spaced blocks between them (sorted, about `most` in all)."""
    ids = list(blocks.block)
    if len(ids) <= most:
        return ids
    keep = set()
    for _, g in blocks.groupby("stage"):
        b = list(g.block)
        keep |= set(b[:FULL_FIRST] + b[-FULL_LAST:])
    keep |= {int(v) for v in np.linspace(0, len(ids) - 1, most - len(keep)).round()}
    return sorted(keep)


def pass_steps(blocks: pd.DataFrame, most: int = 60) -> pd.DataFrame:
    """The frames of a forward then backward pass over the stations.

    Returns:
        rows step, phase ("forward" | "backward"), block (the station the pass has reached): forward goes first
        to last block, backward last to first.
    """
    s = stations(blocks, most)
    rows = [dict(phase="forward", block=b) for b in s] + [dict(phase="backward", block=b) for b in reversed(s)]
    out = pd.DataFrame(rows)
    out.insert(0, "step", range(len(out)))
    return out


def relative(values, start):
    """values / start as log10, NaN where either is not a positive finite number (for colour scales)."""
    v = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log10(v / start) if start > 0 and math.isfinite(start) else np.full_like(v, np.nan)
    r[~np.isfinite(r)] = np.nan
    return r
