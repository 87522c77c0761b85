"""frame.draw.projected: a figure made for a projector keeps its tick labels where they fit and drops them where
stacked panels are too short for them (Shattered's five gradient panels at 1280 x 720 had "1000 0 -1000" crammed
into 40 px, and subplot titles over the panel above)."""

import numpy as np
from plotly.subplots import make_subplots

from frame.draw import MIN_TICKED_PANEL, PRESENT_MAX_HEIGHT, projected
from viz.charts import shattered as sc


def test_short_stacked_panels_lose_their_tick_labels_and_titles_get_a_background():
    x = np.linspace(-2, 2, 64)
    fig, _ = sc.gradient_curves({f"net {i}": (x, np.sin(x * (i + 1))) for i in range(5)})
    shown = projected(fig)
    assert shown.layout.height <= PRESENT_MAX_HEIGHT and shown.layout.height / 5 < MIN_TICKED_PANEL
    assert all(a.showticklabels is False for a in shown.select_yaxes())
    assert all(a.bgcolor for a in shown.layout.annotations)
    assert all(a.showticklabels is not False for a in fig.select_yaxes())  # the cached original is untouched


def test_two_stacked_panels_and_panels_side_by_side_keep_them():
    x = np.linspace(-2, 2, 64)
    two, _ = sc.gradient_curves({"a": (x, x), "b": (x, -x)})
    side = make_subplots(rows=1, cols=3)
    for c in (1, 2, 3):
        side.add_scatter(x=[0, 1], y=[0, 1], row=1, col=c)
    side.update_yaxes(title="error (%)")
    side.update_layout(height=300)
    for fig in (two, side):
        assert all(a.showticklabels is not False for a in projected(fig).select_yaxes())
