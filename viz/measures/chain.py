"""The one-dimensional picture of a deep network: a chain of L scalar layers, plain x_{l+1} = f_l(x_l) against
residual x_{l+1} = x_l + f_l(x_l), with the same layers f_l(x) = a_l x in both (f_l' = a_l).

By the chain rule, the gradient dx_L/dx_0 is a product of L factors: f_l' each in the plain chain, 1 + f_l' each in
the residual one. The slopes are drawn around 0 with a chosen spread (a trained residual branch makes a small change,
so its slope is small). Every gradient and factor here is torch.autograd's, in float64.

    python -m viz.measures.chain --layers 50 [--spread 0.2] [--seed 0]
"""

import argparse
import sys

import numpy as np
import pandas as pd
import torch

from viz.words import fmt

X0 = 0.5  # where the chain starts
LAYERS = (5, 10, 20, 50, 100)  # the lengths a class picks from (float64 keeps 100 tiny factors above underflow)
SPREADS = (0.1, 0.03, 0.3, 1.0, 3.0)  # the spreads of f' a class picks from (the first is the default)


def slopes(layers: int, spread: float, seed: int = 0) -> torch.Tensor:
    """The layers' slopes a_l: (layers,) float64, Normal(0, spread), drawn from a generator of their own."""
    if not 1 <= int(layers) <= 1000:
        raise ValueError(f"the chain needs between 1 and 1000 layers, not {layers}.")
    if not spread > 0:
        raise ValueError(f"the spread of the slopes must be a positive number, not {spread}.")
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(int(layers), generator=g, dtype=torch.float64) * float(spread)


def _forward(a: torch.Tensor, residual: bool, x0: float):
    """The chain's values x_0 .. x_L ((L + 1,) tensors, x_0 a leaf that requires grad)."""
    x = [torch.tensor(x0, dtype=torch.float64, requires_grad=True)]
    for a_l in a:
        f = a_l * x[-1]
        x.append(x[-1] + f if residual else f)
    return x


def gradients(a: torch.Tensor, residual: bool, x0: float = X0) -> tuple[list[float], list[float]]:
    """Autograd's dx_l/dx_0 for l = 1..L, and each layer's factor dx_{l}/dx_{l-1} (f' or 1 + f'), of one chain.

    Args:
        a: slopes (L,) float64.
        residual: x_{l+1} = x_l + a_l x_l (True) or a_l x_l (False).
    Returns:
        (gradients [L], factors [L]), plain floats.
    """
    x = _forward(a, residual, x0)
    grads = [float(torch.autograd.grad(x_l, x[0], retain_graph=True)[0]) for x_l in x[1:]]
    factors = []
    for a_l, x_l in zip(a, x[:-1], strict=True):
        prev = x_l.detach().requires_grad_(True)  # one layer on its own: its local derivative
        out = a_l * prev
        factors.append(float(torch.autograd.grad(prev + out if residual else out, prev)[0]))
    return grads, factors


def chain_table(layers: int, spread: float, seed: int = 0, x0: float = X0) -> pd.DataFrame:
    """One draw of slopes, both chains: a row per layer l = 1..L with the slope a_l, the plain factor f_l' and the
    residual factor 1 + f_l' (each layer's own derivative) and autograd's dx_l/dx_0 of each chain."""
    a = slopes(layers, spread, seed)
    plain, plain_f = gradients(a, False, x0)
    res, res_f = gradients(a, True, x0)
    table = pd.DataFrame({"layer": range(1, len(a) + 1), "slope": a.tolist(), "plain_factor": plain_f,
                          "residual_factor": res_f, "plain_gradient": plain, "residual_gradient": res})
    table.attrs.update(spread=float(spread), seed=int(seed), x0=float(x0))
    return table


NEAR_ONE = 10.0  # "stays near 1": within a factor of 10 of 1 (one decade either way)


def fate(gradient: float) -> str:
    """A gradient's size in words: 'vanishes', 'explodes' or 'stays near 1' (within a factor NEAR_ONE)."""
    g = abs(gradient)
    if g < 1 / NEAR_ONE:
        return "vanishes"
    return "explodes" if g > NEAR_ONE else "stays near 1"


def typical(factors) -> float:
    """The typical size of a factor: the geometric mean of |factor| (the product is typical**L)."""
    a = np.abs(np.asarray(factors, dtype=float))
    return float(np.exp(np.log(a).mean())) if len(a) and (a > 0).all() else 0.0


def numbers(table) -> dict:
    """The finding's numbers: the chain's length, the slopes' spread, each chain's end gradient and typical factor."""
    return dict(layers=len(table), spread=float(table.attrs.get("spread", table.slope.std(ddof=0))),
                plain=float(table.plain_gradient.iloc[-1]), residual=float(table.residual_gradient.iloc[-1]),
                plain_typical=typical(table.plain_factor), residual_typical=typical(table.residual_factor))


def finding(table) -> str:
    """The chart's finding in two sentences, from the table's numbers."""
    n = numbers(table)
    L, p, r = n["layers"], n["plain"], n["residual"]
    text = (f"With {L} layers, the plain chain's gradient is a product of {L} factors f', each about "
            f"{fmt(n['plain_typical'])} in size: {fmt(abs(p))}, it {fate(p)}. The residual chain multiplies {L} "
            f"factors 1 + f', each about {fmt(n['residual_typical'])}: {fmt(abs(r))}, it {fate(r)}.")
    if fate(r) == "stays near 1" and fate(p) != "stays near 1":
        return text + " The skip adds 1 to every factor, so small slopes nudge the gradient instead of multiplying it away."
    if fate(r) != "stays near 1":
        return text + (" With slopes this spread out, 1 + f' is far from 1 too: the skip keeps the gradient only "
                       "while each branch makes a small change, as the branches of trained ResNets do.")
    return text


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m viz.measures.chain", description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=50)
    ap.add_argument("--spread", type=float, default=SPREADS[0], help="standard deviation of the slopes a_l")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    try:
        table = chain_table(a.layers, a.spread, a.seed)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    with pd.option_context("display.max_rows", None, "display.width", 120):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
