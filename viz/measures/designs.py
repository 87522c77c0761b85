"""The skip designs measured at init: every design of models.blocks.DESIGNS built in the same CIFAR frame, probed on one
shapes batch by the same probe as the Gradient-flow page."""

import pandas as pd

from models.blocks import DESIGNS, convs_per_block
from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
from models.resnet import ResNet, ResNetConfig, count_parameters
from viz.measures.probe import probe

COLUMN_NAMES = {"convs_per_block": "convs per block", "grad_first_block": "gradient at first block",
                "grad_last_block": "gradient at last block", "ratio_first_to_last": "first / last",
                "median_residual_ratio": "median ||F(x)||/||x||", "mean_skip_share": "mean skip share"}  # for display


def design_table(traces, params, convs):
    """One row per design: parameters, convs per block, the gradient at the first and last block, their ratio,
    the median ||F(x)||/||x|| and the mean share of the gradient through the skip path."""
    rows = []
    for t in traces:
        B = t.blocks
        first, last = float(B.grad_norm.iloc[0]), float(B.grad_norm.iloc[-1])
        s = B.skip_share[B.skip & ~B.dropped]
        rows.append(dict(design=t.name, params=params[t.name], convs_per_block=convs[t.name], loss=t.loss,
                         grad_first_block=first, grad_last_block=last,
                         ratio_first_to_last=first / last if last else float("nan"),
                         median_residual_ratio=float(B.residual_ratio.median()),
                         mean_skip_share=float(s.mean()) if len(s) else 0.0))
    return pd.DataFrame(rows)


def design_traces(depth=20, batch=32, seed=0, bn_mode="train", width=16):
    """Probe every design of models.designs.DESIGNS at init, the same depth (number of blocks) for all.

    Returns (traces named by design, DataFrame from design_table). Images: a shapes batch (batch, 3, 32, 32).
    """


    x, y = make_shapes("test", n=batch, seed=seed)
    traces, params, convs = [], {}, {}
    for label, (block, skip) in DESIGNS.items():
        cfg = ResNetConfig(depth=depth, skip=skip, block=block, width=width, mean=SHAPES_MEAN, std=SHAPES_STD)
        model = ResNet(cfg, seed=seed)  # the model's own generator: no process-wide seed (sessions run in threads)
        t = probe(model, x.float() / 255, y, bn_mode=bn_mode)
        t.name = label  # the design's name (t.kind and t.depth say the rest)
        traces.append(t)
        params[label], convs[label] = count_parameters(model), convs_per_block(block)
    return traces, design_table(traces, params, convs)
