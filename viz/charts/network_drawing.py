"""Drawing helpers shared by the network figures (viz/charts/network_overview.py, network_block.py): the
forward and backward colours, shapes collected for one update, and the skip drawn as a bypass."""


import numpy as np

from viz.charts.style import KIND, color

SIGNAL, GRADIENT = color(6), color(3)  # forward numbers dark grey, backward numbers purple, on every figure


CUT, GONE = "#9a9a9a", "#c8c8c8"


class Ink:
    """Shapes and annotations collected as dicts and set on the figure at once (add_shape per item is quadratic)."""

    def __init__(self):
        self.shapes, self.notes = [], []

    def shape(self, k=1, **kw):  # k: the subplot (1, 2, ...)
        self.shapes.append(dict(xref=_ref("x", k), yref=_ref("y", k), **kw))

    def note(self, k=1, **kw):
        self.notes.append(dict(xref=_ref("x", k), yref=_ref("y", k), showarrow=kw.pop("showarrow", False), **kw))

    def apply(self, fig):
        fig.update_layout(shapes=self.shapes, annotations=list(fig.layout.annotations) + self.notes)


def _ref(axis, k):
    return axis if k == 1 else f"{axis}{k}"


def _arc(xa, xb, top, n=24):
    """Points of a bypass from (xa, 0) over `top` down to (xb, 0): a cubic Bézier."""
    t = np.linspace(0, 1, n)
    px = (1 - t) ** 3 * xa + 3 * (1 - t) ** 2 * t * xa + 3 * (1 - t) * t**2 * xb + t**3 * xb
    py = 3 * (1 - t) ** 2 * t * top * 1.33 + 3 * (1 - t) * t**2 * top * 1.33
    return px, py


def _path(px, py):
    return "M " + " L ".join(f"{a:.4f},{b:.4f}" for a, b in zip(px, py))


def draw_skip(ink, xa, xb, top, on, label, size, k=1, width=2):
    """The shortcut as a bypass above the main path; switched off: dotted, broken in the middle, with a red cross."""
    px, py = _arc(xa, xb, top)
    if on:
        ink.shape(k, type="path", path=_path(px, py), line=dict(color=SIGNAL, width=width))
    else:
        n = len(px)
        for a, b in ((0, n // 2 - 3), (n // 2 + 3, n)):
            ink.shape(k, type="path", path=_path(px[a:b], py[a:b]), line=dict(color=CUT, width=width, dash="dot"))
        ink.note(k, x=(xa + xb) / 2, y=top, text="✕", font=dict(color=PLAIN_RED, size=size + 6))
    if label:
        ink.note(
            k,
            x=(xa + xb) / 2,
            y=top + 0.1,
            text=label if on else f"skip off ({label})",
            yanchor="bottom",
            font=dict(size=size, color=SIGNAL if on else CUT),
        )


PLAIN_RED = KIND[False]
