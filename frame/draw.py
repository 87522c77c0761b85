"""Drawing what a page computed: charts with their captions, tables with downloads, long work with progress, and
failures as messages (never a traceback)."""

import contextlib
import math
import time

import pandas as pd
import streamlit as st

from frame import report, store
from viz.measures.budget import OverBudget
from viz.measures.common import AT_ONCE, all_slots_busy, concat


@contextlib.contextmanager
def guard(what: str):
    """Show a failure as a clear message, not a traceback; the rest of the page keeps working. A run refused for
    the server's memory budget is a notice (it says what to lower), not an error."""
    try:
        yield
    except OverBudget as e:
        st.warning(f"Not run: {e}", icon=":material/memory:")
    except (ValueError, RuntimeError, OSError, MemoryError) as e:
        st.error(f"Could not {what}: {e}")


@contextlib.contextmanager
def heavy(what: str):
    """A spinner that names a heavy step (`what`, e.g. "Forward and backward through ResNet-56"); while every
    measurement slot (viz.measures.common.AT_ONCE, shared by all sessions) is taken by other visitors' runs, it says
    the step is queued. A cached result returns before the spinner shows."""
    if all_slots_busy():
        what = (f"Queued: the server is running {AT_ONCE} heavy steps for other visitors, and yours starts as soon as "
                f"one ends. Then: {what}")
    with st.spinner(f"{what}...", show_time=True):
        yield


def presenting() -> bool:
    return bool(st.session_state.get("present"))


def controls(label: str = "Settings"):
    """Where a page puts its controls: in place, or folded into a popover in presentation mode, so that on a
    projector (1280 x 720) the page's first chart starts on the first screen."""
    return st.popover(label, icon=":material/tune:") if presenting() else st.container()


PRESENT_MAX_HEIGHT = 330  # px: a projected chart, under the page's title and its finding, ends within 720 px
MIN_TICKED_PANEL = 80  # px: a stacked panel shorter than this, projected, shows no tick labels (they would overlap)


def projected(fig, max_height: int = PRESENT_MAX_HEIGHT):
    """A copy of a figure for a projector: larger text (annotations too), at most `max_height` px tall, the title
    on its own line at the top, a legend kept clear of the axis titles, one y title for stacked panels of one quantity."""
    import plotly.graph_objects as go

    fig = go.Figure(fig)  # a copy: the figure may be cached
    if fig.layout.xaxis.visible is False:  # a drawing (the network pictures): its text is placed for its own size
        return fig
    top = max(fig.layout.margin.t or 0, 100 if fig.layout.title.text else 60)
    fig.update_layout(font_size=18, height=min(math.ceil((fig.layout.height or 450) * 1.35), max_height),
                      title=dict(yref="container", y=0.98, yanchor="top"), margin_t=top)
    fig.for_each_annotation(lambda a: a.update(font_size=round((a.font.size or 13) * 1.35)))
    over_plot = any(a.yref == "paper" and (a.y or 0) >= 0.95 for a in fig.layout.annotations)  # subplot titles
    if fig.layout.legend.y is not None and fig.layout.legend.y < 0 and not over_plot:  # under the plot it meets the
        fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1))  # axis title
    y_titles = [a for a in fig.select_yaxes() if a.title.text]
    if len(y_titles) >= 3 and len({a.title.text for a in y_titles}) == 1:  # stacked panels, one quantity: one title
        for k, axis in enumerate(y_titles):
            axis.title.text = axis.title.text if k == len(y_titles) // 2 else None
        rows = len({tuple(a.domain or (0, 1)) for a in y_titles})  # panels one above the other, not side by side
        panel = (fig.layout.height - top - (fig.layout.margin.b or 0)) / rows
        if panel < MIN_TICKED_PANEL:  # too short for tick labels at this size: the panels' shapes carry the message
            fig.update_yaxes(showticklabels=False)
            fig.for_each_annotation(lambda a: a.update(bgcolor="rgba(255,255,255,0.85)") if a.yref == "paper" else None)
    return fig


def intro(text: str):
    """A page's opening paragraph: in place, or in the (collapsed) sidebar when presenting: the teacher says it, and
    the first screen keeps the chart and its finding."""
    (st.sidebar if presenting() else st).markdown(text)


CHART_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 3}}  # sharp PNG exports


def show_chart(fig_and_caption, config: dict | None = None, key: str | None = None, on_select="ignore",
               present_height: int = PRESENT_MAX_HEIGHT):
    """Draw a (Plotly figure, caption) pair; recorded for the page's HTML report; larger when presenting (every text,
    annotations included). A caption with a headline (`viz.charts.style.Caption`) shows the headline, the chart's finding in
    one sentence, under the chart and its detail (every number, the method, the paper) in a collapsed expander.
    config: Plotly's config for the browser (default: no Plotly logo); key, on_select="rerun": a chart whose points
    can be clicked; present_height: the most px it takes when presenting (more where a page's top is short).
    Returns st.plotly_chart's value (the selection state for a clickable chart)."""
    fig, caption = fig_and_caption
    headline, detail = getattr(caption, "headline", ""), str(caption)
    report.add(("chart", fig, " ".join(p for p in (headline, detail) if p)))
    finding = st.container(key=f"finding-{report.chart_count()}")  # the test of the projector's first screen finds it by this key
    if presenting():  # the finding first, then the picture, both on a 1280 x 720 screen
        fig = projected(fig, present_height)
    picked = st.plotly_chart(fig, width="stretch", config=config or CHART_CONFIG, key=key, on_select=on_select,
                             **({"selection_mode": "points"} if on_select != "ignore" else {}))
    if headline:
        finding.markdown(headline)
        with st.expander("Details"):
            st.caption(detail)
    else:
        st.caption(detail)
    return picked


def trace_key(traces) -> tuple:
    """What a chart of `viz.probe.Trace`s depends on, in a few numbers (cheap to hash): each trace's name, loss, shape
    and gradient sums; a different network, batch or seed changes them."""
    return tuple((t.name, len(t.layers), len(t.blocks), t.loss, float(t.blocks.grad_norm.sum()),
                  float(t.layers.grad_norm.sum())) for t in traces)


def cached_chart(build, key, *args, **kw):
    """`build(*args, **kw)` -> (figure, caption), built once per (build, key) and shared by every session (a cache hit
    costs no Plotly work); `key` must name everything the chart depends on (e.g. `trace_key(traces)` plus the
    chart's settings). The figure is never mutated: `show_chart` copies it before changing it. Also kept on disk
    (frame/store.py), so that a restarted server draws it without building it again."""
    return _chart(store.label_of(build), key, build, args, kw)


@st.cache_resource(max_entries=128, ttl=3600, show_spinner=False)
def _chart(name: str, key, _build, _args, _kw):
    return store.remembered(f"chart.{name}", (key,), {}, lambda: _build(*_args, **_kw))


def follow_new(key: str, value, token, valid=None):
    """Set the widget `key` to `value` whenever `token` (what it belongs to: an image, a model) changes, before the
    widget is made (which then gets no default, so Streamlit never sees both). The first run keeps a link's value
    for the key where it is one of `valid`."""
    before, seen = st.session_state.get(f"_{key}_token"), token
    if before != seen and (before is not None or valid is None or st.query_params.get(key) not in valid):
        st.session_state[key] = value
    st.session_state[f"_{key}_token"] = seen


def initial(key: str, value):
    """A widget's default for its first run only: None once its key is in the session state (set by the widget's
    last run, or by code such as a click on a network picture), so Streamlit never sees a default AND a value set
    through the Session State API (which it logs as a warning). For widgets whose identity is their key (selectbox,
    segmented_control, pills), where a changed default does not make a new widget."""
    return None if key in st.session_state else value


def follow_pick(chart_key: str, input_key: str, n: int):
    """A block clicked in a network picture (the chart drawn with `key=chart_key, on_select="rerun"`, customdata[0] =
    block) since the last run moves the block input `input_key`; an input beyond a shallower network's last block
    moves back to it."""
    points = ((st.session_state.get(chart_key) or {}).get("selection") or {}).get("points") or []
    pick = int(points[0]["customdata"][0]) if points and points[0].get("customdata") else None
    seen = f"_{chart_key}_last"
    if pick is not None and pick != st.session_state.get(seen) and pick < n:
        st.session_state[input_key] = pick
    st.session_state[seen] = pick
    if st.session_state.get(input_key, 0) >= n:
        st.session_state[input_key] = n - 1


def run_steps(step, jobs: dict, what: str) -> dict:
    """Run cached units of work with a progress bar that names the step and estimates the time left; a rerun (a Pause
    toggle, a new setting) stops it between steps, and finished steps stay cached.

    Args:
        step: a cached function; jobs: {name: [argument tuples for step]}; what: the work in words.
    Returns:
        {name: the concatenated DataFrames (or tuples of them) of its steps}.
    """
    total, done, out, t0 = sum(map(len, jobs.values())), 0, {}, time.perf_counter()
    bar = st.progress(0.0, text=what)
    for name, args in jobs.items():
        parts = []
        for arg in args:
            parts.append(step(*arg))
            done += 1
            left = (time.perf_counter() - t0) / done * (total - done)
            eta = f", about {left:.0f} s left" if done < total and left >= 1 else ""
            bar.progress(done / total, text=f"{what}: {name}, step {done} of {total}{eta} (a new setting, or Pause where there is one, stops it after this step)")
        out[name] = concat(parts)
    bar.empty()
    return out


def tables_expander(tables: dict, file: str):
    """{label: DataFrame} as one table with a `network` column, in an expander, with its CSV download."""
    df = pd.concat([t.assign(network=k) for k, t in tables.items()], ignore_index=True)
    with st.expander("The numbers behind the chart"):
        st.dataframe(df, hide_index=True, height=220)
        csv_download(df, file, "Download (CSV)")


def csv_download(df: pd.DataFrame, name: str, label: str = "Download CSV"):
    """A CSV download of a table, written when it is clicked (not on every run: a cached page's run then costs the
    server no CSV work); the table is also recorded for the page's HTML report."""
    report.add(("table", df, name))
    st.download_button(label, lambda: df.to_csv(index=False).encode(), file_name=f"{name}.csv", mime="text/csv",
                       on_click="ignore", key=f"csv-{name}")
