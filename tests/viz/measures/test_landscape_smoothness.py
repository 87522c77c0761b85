"""The landscape's verdict by Li et al. 2018's criterion: the Hessian's |lambda_min/lambda_max| and the local minima."""

import numpy as np
import pandas as pd

from viz.measures.landscape import smoother, smoothness


def _slice(z):
    return pd.DataFrame({"alpha": np.linspace(-1, 1, len(z)), "loss": z, "accuracy": 0.5})


def _curv(ratios):
    return pd.DataFrame({"alpha": [0.0, -0.5, 0.5][: len(ratios)], "lambda_min": [-r for r in ratios],
                         "lambda_max": 1.0, "ratio": ratios})


def test_the_flatter_hessian_with_no_more_minima_wins():
    tables = {"ResNet-56": _slice([3, 2, 1, 2, 3]), "plain-56": _slice([3, 1, 2, 1, 3])}  # plain: 2 minima
    skips = {"ResNet-56": True, "plain-56": False}
    c = smoothness(tables, skips, {"ResNet-56": _curv([0.01, 0.02, 0.03]), "plain-56": _curv([0.2, 0.5, 0.1])})
    assert c["winner"] == "ResNet-56" and c["ratio"] == {"ResNet-56": 0.03, "plain-56": 0.5}
    assert c["minima"] == {"ResNet-56": 1, "plain-56": 2} and c["points"] == 3
    text = smoother(tables, skips, {"ResNet-56": _curv([0.01, 0.02, 0.03]), "plain-56": _curv([0.2, 0.5, 0.1])})
    assert text.startswith("ResNet-56 has the smoother") and "0.03" in text and "0.5" in text and "1 vs 2" in text


def test_a_split_verdict_is_neither():
    tables = {"ResNet-56": _slice([3, 1, 2, 1, 3]), "plain-56": _slice([3, 2, 1, 2, 3])}
    skips = {"ResNet-56": True, "plain-56": False}
    curv = {"ResNet-56": _curv([0.01]), "plain-56": _curv([0.4])}  # flatter Hessian but more minima
    assert smoothness(tables, skips, curv)["winner"] is None
    assert smoother(tables, skips, curv).startswith("Neither surface")
