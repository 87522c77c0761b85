"""A lesson step's chart says what to look at under it, never the takeaway that is already written above it."""

from types import SimpleNamespace

import pandas as pd

from viz.charts import lesson
from viz.charts.chain import look_at
from viz.measures.chain import chain_table
from viz.words import fmt


def _curve(losses):
    return pd.DataFrame({"alpha": [-1.0, -0.5, 0.0, 0.5, 1.0], "loss": losses, "accuracy": 0.5})


def test_a_headline_the_takeaway_already_says_becomes_what_to_look_at():
    curves = {"ResNet-56": _curve([4.0, 1.0, 0.1, 1.2, 5.0]), "plain-56": _curve([6.0, 2.0, 0.9, 2.5, 4.0])}
    t = dict(curves=curves, skips={"ResNet-56": True, "plain-56": False}, split="test", curvature=None)
    from viz.charts.landscape import slice_1d

    own = slice_1d(curves, t["skips"], "test", None)[1].headline
    said = SimpleNamespace(tables=t, takeaway=f"On 5 test images: {own}", numbers={})
    head = lesson.chart("landscape", said)[1].headline
    assert head == ("Follow each line from left to right: the blue line (ResNet-56) goes from 4 to 5, lowest 0.1; "
                    "the red line (plain-56) goes from 6 to 4, lowest 0.9.")
    other = SimpleNamespace(tables=t, takeaway="Something else.", numbers={})
    assert lesson.chart("landscape", other)[1].headline == own  # a headline the takeaway does not say stays


def test_step_0_says_where_to_look_with_the_chains_numbers():
    table = chain_table(layers=20, spread=0.1, seed=0)
    head = lesson.chart("chain", SimpleNamespace(tables={"chain": table}, takeaway="", numbers={}))[1].headline
    assert head == look_at(table) and "layer 20" in head
    assert f"plain chain ends at {fmt(abs(float(table.plain_gradient.iloc[-1])))}," in head
