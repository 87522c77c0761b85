"""Plotly figures of the Shattered gradients page. Each returns (fig, Caption): its headline is one sentence computed
from the numbers drawn, the finding; its text, from `*_notes`, the detail (all numbers, method, the paper's figure and
where we differ)."""

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.charts.style import FONT, PLAIN, RESIDUAL, TEMPLATE, Caption, color, concept_color, fmt, layout
from viz.measures.shattered import NEVER_TRAINED, Net, autocorrelation, neighbour_correlation, paper_trends

BALDUZZI_2017 = ("Balduzzi et al. 2017 (Fig. 1-2, Theorems 1 and 3): the correlation between gradients at two inputs "
                 "decays like 2^-L in feedforward rectifier nets and like 1/sqrt(L) in resnets with BN.")
KIND_COLORS = {"feedforward+bn": PLAIN, "feedforward": concept_color("plain", 0, 1), "residual+bn": RESIDUAL,
               "residual": concept_color("residual", 0, 1)}  # a shade of its kind's colour without BN
WHITE = 0.3  # a neighbour correlation under this looks like white noise (white noise: 0, brown noise: 1)


def _kind_color(kind, i=0):
    """One colour per kind of net in every chart (residual+bn blue, feedforward+bn red); kind: a `Net`, a kind or a
    name without one (then the i-th colour)."""
    return KIND_COLORS.get(getattr(kind, "kind", kind), color(i))


def _dash(kind, depth=None):
    """Dotted for the nets without BN, solid with BN and for the shallow L = 1 net."""
    kind, depth = (kind.kind, kind.depth) if isinstance(kind, Net) else (kind, depth)
    return None if str(kind).endswith("+bn") or depth == 1 else "dot"


def _list(items):
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _s(items):
    return "s" if len(items) == 1 else ""


def gradient_curves(curves):
    """curves: dict name -> (x (N,), df/dx (N,)). One row per net, since their scales differ."""
    names = list(curves)
    r = {n: neighbour_correlation(g) for n, (x, g) in curves.items()}
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.07,
                        subplot_titles=[f"{n}: neighbour correlation {r[n]:.2f}" for n in names])
    for i, n in enumerate(names):
        x, g = curves[n]
        fig.add_scatter(x=x, y=g, mode="lines", line=dict(color=_kind_color(n, i), width=1.5), name=str(n), showlegend=False,
                        row=i + 1, col=1, hovertemplate="x = %{x:.3f}<br>df/dx = %{y:.3g}<extra>" + str(n) + "</extra>")
        fig.update_yaxes(title="df/dx", row=i + 1, col=1)
    fig.update_xaxes(title="input x", row=len(names), col=1)
    fig.update_layout(height=150 * len(names) + 90, margin=dict(l=70, r=20, t=60, b=55), template=TEMPLATE, font=FONT,
                      title=dict(text=f"The gradient df/dx at {len(next(iter(curves.values()))[0])} inputs in [-2, 2]",
                                 x=0.01))
    fig.update_annotations(font_size=FONT["size"] - 1)
    white = [n for n in names if r[n] < WHITE]
    smooth = [n for n in names if r[n] >= WHITE]
    if white and smooth:
        head = (f"Only {_list(white)} look{'s' if len(white) == 1 else ''} like white noise (neighbour correlation "
                f"{_list(f'{r[n]:.2f}' for n in white)}); {_list(smooth)} stay{_s(smooth)} smooth "
                f"({min(r[n] for n in smooth):.2f} to {max(r[n] for n in smooth):.2f}).")
    elif white:
        head = f"Every gradient here looks like white noise (neighbour correlation at most {max(r.values()):.2f})."
    else:
        head = f"No gradient here looks like white noise: neighbour correlation {min(r.values()):.2f} or more."
    return fig, Caption(gradient_notes(curves), head)


def gradient_notes(curves):
    r = "; ".join(f"{n}: {neighbour_correlation(g):.3f}" for n, (x, g) in curves.items())
    return (f"Neighbour correlation (the Pearson correlation of df/dx at neighbouring inputs, 4/255 apart): {r}. "
            f"1 is a smooth gradient (brown noise scores about 1), 0 is white noise; under {WHITE} we call it white "
            "noise. A 1-layer net's gradient is piecewise constant: it jumps where one unit switches on or off.")


def autocorrelations(curves, max_lag=40):
    """Autocorrelation of each net's gradient against the lag (in grid steps of 4/255)."""
    fig = go.Figure()
    lag = {}
    for i, (n, (_, g)) in enumerate(curves.items()):
        r = autocorrelation(g, max_lag)
        fig.add_scatter(x=np.arange(len(r)), y=r, mode="lines+markers", name=str(n), marker=dict(size=4),
                        line=dict(color=_kind_color(n, i), width=2, dash=_dash(n)))
        below = np.nonzero(r < 0.5)[0]
        lag[n] = int(below[0]) if len(below) else None
    layout(fig, "Autocorrelation of the gradient", "lag (grid steps of 4/255)", "autocorrelation r(lag)", integer_x=True,
           height=420)
    fig.update_layout(hovermode="closest", legend=dict(orientation="h", y=-0.25, x=0, xanchor="left", yanchor="top"),
                      margin=dict(b=120))
    fast = [n for n, k in lag.items() if k is not None and k <= 1]
    kept = [n for n, k in lag.items() if k is None]
    if fast:
        head = f"{_list(fast)} forget{'s its' if len(fast) == 1 else ' their'} neighbours: r < 0.5 one step away"
        head += f"; {_list(kept)} stay{_s(kept)} above 0.5 over all {max_lag} lags." if kept else "."
    elif kept:
        head = f"{_list(kept)} stay{_s(kept)} above 0.5 over all {max_lag} lags: no white noise here."
    else:
        head = f"Every gradient falls below r = 0.5 within {max_lag} lags, none at the first step."
    return fig, Caption(autocorrelation_notes(curves, max_lag), head)


def autocorrelation_notes(curves, max_lag=40):
    parts = []
    for n, (_, g) in curves.items():
        r = autocorrelation(g, max_lag)
        below = np.nonzero(r < 0.5)[0]
        parts.append(f"{n}: {'above 0.5 up to lag ' + str(max_lag) if len(below) == 0 else 'below 0.5 from lag ' + str(int(below[0]))}")
    return ("r(k) = sum_i (g_i - m)(g_{i+k} - m) / sum_i (g_i - m)^2 over one net's gradient: " + "; ".join(parts)
            + ". The paper's Fig. 2 shows this autocorrelation function (ACF): white noise drops to 0 at lag 1, "
            "brown noise decays slowly.")


def _at(df, depth):
    return df[df.depth == depth].groupby("kind")[["correlation", "coactive"]].mean()


def correlation_depth(df):
    """df: viz.shattered.sweep (kind, depth, seed, correlation, coactive); mean and range over seeds, with the paper's
    rates dashed."""
    fig = go.Figure()
    agg = df.groupby(["kind", "depth"]).correlation.agg(["mean", "min", "max"]).reset_index()
    for i, (k, d) in enumerate(agg.groupby("kind", sort=False)):
        fig.add_scatter(x=d.depth, y=d["mean"], mode="lines+markers", name=k,
                        line=dict(color=_kind_color(k, i), width=2, dash=_dash(k)),
                        error_y=dict(type="data", symmetric=False, array=d["max"] - d["mean"],
                                     arrayminus=d["mean"] - d["min"], thickness=1, width=3))
    depths = sorted(df.depth.unique())
    ref = paper_trends(np.geomspace(min(depths), max(depths), 40))
    for j, col in enumerate(ref.columns[1:]):
        fig.add_scatter(x=ref.depth, y=ref[col], mode="lines", name=f"paper: {col}",
                        line=dict(color="#555", dash="dash" if j == 0 else "dashdot", width=1.5))
    layout(fig, "Neighbour correlation against depth", "depth L (layers or residual blocks)", "neighbour correlation",
           height=420)
    fig.update_xaxes(type="log", tickvals=depths, ticktext=[str(d) for d in depths])
    fig.update_yaxes(range=[-0.2, 1.05])
    fig.update_layout(hovermode="closest", legend=dict(orientation="h", y=-0.25, x=0, xanchor="left", yanchor="top"),
                      margin=dict(b=120))
    L = int(max(depths))
    r = _at(df, L).correlation
    cap = f"At L = {L}, mean of the nets: " + ", ".join(f"{k} {v:.2f}" for k, v in r.items())
    cap += (f" (Balduzzi et al. 2017's rates there: 2^-L = {fmt(2.0 ** -(L - 1))}, 1/sqrt(L) = "
            f"{1 / math.sqrt(L):.2f}).")
    lo, hi = r.idxmin(), r.idxmax()
    head = (f"At L = {L} {lo} has the least correlated gradients ({r[lo]:.2f}) and {hi} the most ({r[hi]:.2f})."
            if lo != hi else f"At L = {L} the neighbour correlation is {r[lo]:.2f}.")
    return fig, Caption(cap + " " + depth_notes(df), head)


def headline(df):
    """The page's finding in one sentence, from the sweep: what reproduces the paper at the deepest L, what does not."""
    L = int(df.depth.max())
    at = _at(df, L)
    r, co = at.correlation, at.coactive
    ffbn, resbn, ff = (r.get(k) for k in ("feedforward+bn", "residual+bn", "feedforward"))
    parts = []
    if ffbn is not None and resbn is not None:
        ok = ffbn < WHITE <= resbn
        parts.append(f"{'As' if ok else 'Unlike'} in Balduzzi et al., at L = {L} a feedforward net with BN has "
                     f"{'white-noise' if ffbn < WHITE else 'correlated'} gradients (neighbour correlation {ffbn:.2f}) "
                     f"and a resnet with BN {'keeps them correlated' if resbn >= WHITE else 'shatters too'} ({resbn:.2f})")
    if ff is not None:
        shat = ff < WHITE
        parts.append(f"without BN the feedforward net shatters too ({ff:.2f})" if shat else
                     f"not reproduced: without BN the feedforward net does not shatter ({ff:.2f}), since its units keep "
                     f"one on/off pattern along the line (co-activation {co['feedforward']:.2f}; the paper's 2^-L "
                     "assumes 0.5)")
    return ("; ".join(parts) + ".") if parts else f"Neighbour correlation at L = {L}."


def depth_notes(df):
    L = int(df.depth.max())
    at = _at(df, L)
    k = df.seed.nunique()
    sem = df[df.depth == L].groupby("kind").correlation.std(ddof=1) / math.sqrt(k) if k > 1 else None
    ours = "; ".join(f"{n} {v.correlation:.2f}" + (f" ± {sem[n]:.2f}" if sem is not None else "")
                     + f" (co-activation {v.coactive:.2f})" for n, v in at.iterrows())
    res = at.correlation.get("residual+bn")
    slower = (f" Our residual+BN nets decay more slowly than 1/sqrt(L): {res:.2f} against {1 / math.sqrt(L):.2f} at "
              f"L = {L}. The theorem is for two inputs whose activation patterns are independent; neighbours 4/255 apart "
              "share most of theirs." if res is not None and res > 2 / math.sqrt(L) else "")
    return (f"At L = {L}, mean over {k} net{'s' if k > 1 else ''} per kind"
            + (" ± standard error" if sem is not None else "") + f": {ours}. " + BALDUZZI_2017
            + f" The paper's rates at L = {L}: 2^-L = {fmt(2.0 ** -(L - 1))}, 1/sqrt(L) = {1 / math.sqrt(L):.2f} (both 1 "
            "at L = 1). Bars: smallest and largest over the nets. Co-activation: of the units active at one input, the "
            "share also active at another input, over all pairs of the 256 inputs, at layer L. Theorem 1 assumes each "
            "unit is active on half the inputs, independently, so 0.5; BN over the batch of inputs centres every unit, "
            "which makes it so; without BN a He-initialised ReLU net is nearly positively homogeneous (exactly so with "
            "zero biases: f(cx) = c f(x) for c > 0, and its gradient takes two values, one jump at x = 0), so its "
            "units keep their pattern and its gradient does not shatter." + slower
            + " Our setting: 200 units, 256 inputs in [-2, 2], He init N(0, 2/fan_in), biases U(±1/sqrt(fan_in)) "
            "(PyTorch's default), BN without learned scale and shift over the batch of 256 inputs, its statistics held "
            "fixed when differentiating; residual block h <- h + W relu(BN(h)) + b, without the paper's beta-rescaling "
            "(its Fig. 2c: rescaling slows the decay further). The nets of depth L are the first L layers of one "
            "depth-50 net per seed, each depth with its own readout. The ± is the standard error over the nets.")


def image_lines(curves, accuracy=None):
    """curves: dict name -> DataFrame(t, grad) from viz.shattered.image_line_gradient; accuracy: {name: test
    accuracy} for the detail, or None."""
    fig = go.Figure()
    r = {n: neighbour_correlation(df.grad.to_numpy()) for n, df in curves.items()}
    for i, (n, df) in enumerate(curves.items()):
        g = df.grad / (df.grad.abs().max() or 1.0)
        fig.add_scatter(x=df.t, y=g, mode="lines", name=f"{n} (neighbour correlation {r[n]:.2f})",
                        line=dict(color=PLAIN if "plain" in n else RESIDUAL if "resnet" in n else color(i), width=1.5))
    layout(fig, "Input gradient along a line through an image (each scaled to its largest value)",
           "t (step along the line; RMS change of a pixel)", "d logit / dt (scaled)", height=400)
    fig.update_layout(hovermode="closest")
    lo, hi = min(r, key=r.get), max(r, key=r.get)
    if r[hi] - r[lo] < 0.05:
        head = f"Along this line both classifiers' gradients are alike: neighbour correlation {_list(f'{v:.2f}' for v in r.values())}."
    else:
        head = f"Along this line {lo}'s gradient is the rougher: neighbour correlation {r[lo]:.2f} against {r[hi]:.2f} for {hi}."
    return fig, Caption(image_notes(curves, accuracy), head)


def image_notes(curves, accuracy=None):
    acc = ""
    if accuracy:
        acc = " Test accuracy: " + "; ".join(
            f"{n} {a:.0%}" + (" (never trained: chance is 10%)" if a < NEVER_TRAINED else "") for n, a in accuracy.items()) + "."
    return ("The gradient of the true class's logit along image + t·u at 128 points, u a random direction with one unit "
            "of RMS per pixel (t is the typical change of a pixel value in [0, 1]), d logit/dt = u · grad. Each curve is "
            "scaled to its largest value." + acc + " The paper (Fig. 5) measures convnets along lines too: the gradients "
            "of deep plain convnets shatter more than those of resnets. A trained net's gradient also reflects what it learned.")
