"""The one chart style: colours, fonts, axes and number formatting shared by every figure of every page.

Readable projected: 15 px text, axis titles in words, one tick notation per axis kind (powers of ten on log axes,
plain numbers elsewhere), whole-number ticks on integer axes, legends above the plot area.
"""

import colorsys
import math

import numpy as np

from viz.words import fmt, pct  # noqa: F401 (re-exported: the charts' captions format numbers with these)

PALETTE = ("#1f6fb4", "#d6392b", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#222222", "#e377c2", "#bcbd22")
# One colour per concept, on every page, chart, legend, diagram and caption (Home shows the key):
RESIDUAL, PLAIN, BRANCH = "#1f6fb4", "#d6392b", "#2ca02c"  # residual net / skip: blue; plain net: red; F(x): green
CONCEPTS = {"residual network, skip": RESIDUAL, "plain network": PLAIN, "branch F(x)": BRANCH}
KIND = {True: RESIDUAL, False: PLAIN}  # by skip
OTHERS = tuple(c for c in PALETTE if c not in CONCEPTS.values())  # for series that are none of the concepts
STAGES = ("#3d3d3d", "#808080", "#b3b3b3")  # stage 1, 2, 3 of a CIFAR ResNet: greys, dark to light, none a concept
DIVERGING = "RdBu_r"  # red > 0, white 0, blue < 0
FONT = dict(size=15)
TEMPLATE = "plotly_white"


class Caption(str):
    """A chart's caption: the text is the detail (every number, the method, the paper's finding); `headline` is the
    finding in one sentence, shown under the chart while the detail waits in an expander."""

    def __new__(cls, detail: str, headline: str = ""):
        c = super().__new__(cls, detail)
        c.headline = headline
        return c


def color(i: int) -> str:
    """The i-th colour of the palette (cycling)."""
    return PALETTE[i % len(PALETTE)]


def concept(name) -> str | None:
    """The concept a series' name says, or None: "residual" (ResNet, residual, skip), "plain", "branch" (F(x))."""
    n = str(name).lower()
    if "f(x)" in n and "||x||" not in n.replace("||f(x)||", ""):
        return "branch"
    if "plain" in n or "no skip" in n:
        return "plain"
    if "resnet" in n or "residual" in n or "skip" in n:
        return "residual"
    return None


def concept_color(name, i: int = 0, shade: int = 0) -> str:
    """The colour of the concept `name` says (RESIDUAL, PLAIN, BRANCH), else the i-th of the other colours. shade k
    tells apart several series of one concept (ResNet-20, -32, -56): the same hue, darker (k odd) or lighter."""
    base = {"residual": RESIDUAL, "plain": PLAIN, "branch": BRANCH}.get(concept(name))
    if base is None:
        return OTHERS[i % len(OTHERS)]
    if not shade:
        return base
    h, lightness, sat = colorsys.rgb_to_hls(*(int(base[j:j + 2], 16) / 255 for j in (1, 3, 5)))
    step = (shade + 1) // 2 * (0.12 if shade % 2 else -0.12)  # 1: lighter, 2: darker, 3: lighter still, ...
    r, g, b = colorsys.hls_to_rgb(h, min(0.85, max(0.2, lightness + step)), sat)
    return "#%02x%02x%02x" % (round(255 * r), round(255 * g), round(255 * b))


def concept_colors(names) -> list[str]:
    """concept_color for each of several series at once: each concept's k-th series gets shade k."""
    seen, out = {}, []
    for n in names:  # the k-th series of a concept gets shade k; the k-th of no concept the k-th other colour
        k = seen[concept(n)] = seen.get(concept(n), -1) + 1
        out.append(concept_color(n, k, k))
    return out


def layout(fig, title, xtitle, ytitle, log=False, height=380, integer_x=False):
    """Title, fonts, margins, a legend above the plot, axis titles; a log y axis gets powers of ten (or full-value
    1-2-5 ticks where it spans under 3.5 decades); integer_x puts ticks on whole numbers only. Legend entries too long
    for one line over the plot (LEGEND_ABOVE_MAX characters, traces added before this call) go below it."""
    fig.update_layout(
        title=dict(text=title, x=0.01), font=FONT, height=height, margin=dict(l=70, r=20, t=60, b=55),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1), template=TEMPLATE,
        hovermode="x unified",
    )
    fig.update_xaxes(title=xtitle)
    if integer_x:
        fig.update_xaxes(tickformat="d", dtick=None, tick0=0)
    fig.update_yaxes(title=ytitle, type="log" if log else "linear", exponentformat="power" if log else "none")
    if log:
        narrow_log_ticks(fig)
    if _legend_chars(fig) > LEGEND_ABOVE_MAX:  # long names would run over the title: the legend goes below
        legend_below(fig, height=height + 60)
    return fig


LEGEND_ABOVE_MAX = 90  # characters of legend text that fit on one line above a full-width plot


def _legend_chars(fig) -> int:
    return sum(len(str(t.name)) + 6 for t in fig.data if t.name and t.showlegend is not False)


def legend_below(fig, height=440):
    """Many entries in a half-width chart: the legend goes under the plot, not over its title."""
    fig.update_layout(height=height, legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
                      margin=dict(l=70, r=20, t=60, b=40))
    return fig


def narrow_log_ticks(fig, decades=3.5):
    """A log axis whose data spans under `decades` decades gets Plotly's bare-digit minor labels ("2", "3", ... with
    one 10^-1): label 1, 2, 5 of each decade with their full values instead (0.05, 0.1, 0.2)."""
    ys = []
    for t in fig.data:
        try:
            y = np.asarray(getattr(t, "y", None) if getattr(t, "y", None) is not None else [], dtype=float).ravel()
        except (TypeError, ValueError):  # a trace with text categories: not a log axis of numbers
            continue
        ys += list(y[np.isfinite(y) & (y > 0)])
    if ys and math.log10(max(ys) / min(ys)) < decades:
        fig.update_yaxes(dtick="D2", tickformat=".2~g")
