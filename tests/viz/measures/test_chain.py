"""The one-dimensional chain: autograd's gradients equal the product of the layers' factors, computed here on their
own (f' = a_l each in the plain chain, 1 + a_l each in the residual one); the words follow the numbers."""

import math

import pytest
import torch

from viz.charts.chain import chain_chart
from viz.measures import chain
from viz.measures.chain import fate, finding


def reference_products(a, residual):
    """dx_l/dx_0 for l = 1..L, written out: a running product of each layer's factor."""
    out, p = [], 1.0
    for a_l in a.tolist():
        p *= (1.0 + a_l) if residual else a_l
        out.append(p)
    return out


@pytest.mark.parametrize("layers,spread,seed", [(5, 0.1, 0), (50, 0.1, 0), (100, 0.03, 3), (20, 3.0, 1)])
def test_the_gradients_are_products_of_the_factors(layers, spread, seed):
    t = chain.chain_table(layers, spread, seed)
    a = chain.slopes(layers, spread, seed)
    assert t.slope.tolist() == a.tolist()
    for residual, col in ((False, "plain"), (True, "residual")):
        ref = reference_products(a, residual)
        assert t[f"{col}_gradient"].tolist() == pytest.approx(ref, rel=1e-9)
        assert t[f"{col}_factor"].tolist() == pytest.approx([(1 + v) if residual else v for v in a.tolist()], rel=1e-12)


def test_the_table_holds_autograds_gradient_of_the_whole_chain():
    a = chain.slopes(30, 0.3, 2)
    for residual in (False, True):
        x0 = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
        x = x0
        for a_l in a:
            x = x + a_l * x if residual else a_l * x
        (g,) = torch.autograd.grad(x, x0)
        col = "residual_gradient" if residual else "plain_gradient"
        assert chain.chain_table(30, 0.3, 2)[col].iloc[-1] == pytest.approx(float(g), rel=1e-12)


def test_small_slopes_vanish_without_the_skip_and_stay_near_one_with_it():
    t = chain.chain_table(50, 0.1)
    assert abs(t.plain_gradient.iloc[-1]) < 1e-20 and 0.1 < abs(t.residual_gradient.iloc[-1]) < 10
    text = finding(t)
    assert "it vanishes" in text and "it stays near 1" in text and "50 factors" in text
    fig, cap = chain_chart(t)
    assert cap.headline == text and fig.layout.yaxis.type == "log" and len(fig.data) == 2
    assert list(fig.data[1].y) == pytest.approx(t.residual_gradient.abs().tolist())


def test_wide_slopes_leave_one_in_both_chains_and_the_words_say_so():
    t = chain.chain_table(20, 3.0)
    assert fate(t.residual_gradient.iloc[-1]) == "explodes" and "far from 1 too" in finding(t)
    assert fate(0.5) == "stays near 1" and fate(1e-3) == "vanishes" and fate(-50) == "explodes"
    assert math.isfinite(chain.chain_table(100, 0.03).plain_gradient.abs().min())


@pytest.mark.parametrize("layers,spread", [(0, 0.1), (5, 0.0), (5, -1.0)])
def test_bad_input_gets_a_sentence(layers, spread):
    with pytest.raises(ValueError, match="layers|spread"):
        chain.chain_table(layers, spread)


def test_the_command_prints_the_table(capsys):
    assert chain.main(["--layers", "50"]) == 0
    out = capsys.readouterr().out
    assert "plain_gradient" in out and len(out.strip().splitlines()) == 51
    assert chain.main(["--layers", "0"]) == 1
