"""Streamlit glue shared by the pages: cached loaders, downloads, error guards. Not a page."""

import contextlib
import math

import pandas as pd
import streamlit as st
import torch

from models import zoo
from models.data import load_dataset, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz.probe import Trace, probe


def _keep_navigation_mode():
    """Keep Streamlit 1.67 out of its legacy multipage mode, which runs a file of pages/ alone, without the
    frame (no navigation, no sidebar, no presentation mode, no report). Streamlit derives that mode from the
    existence of pages/ whenever a PagesManager is made (one per session; AppTest makes one per run), and
    leaves it only once app.py has called st.navigation. So a fresh server's first visitor who opens a page
    URL (say /gradient_flow) got the bare page. app.py always calls st.navigation: make every PagesManager
    say so, and rerun a run that already started in the legacy mode, so it is drawn inside the frame."""
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__
    if not getattr(init, "_skiplab", False):

        def __init__(self, *args, **kwargs):
            init(self, *args, **kwargs)
            PagesManager.uses_pages_directory = False

        __init__._skiplab = True
        PagesManager.__init__ = __init__
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_keep_navigation_mode()


@st.cache_resource(max_entries=16, show_spinner=False)
def init_model(config: ResNetConfig, seed: int) -> ResNet:
    """A freshly initialised model, the same for a seed whatever other sessions do (it draws from a generator
    of its own, not torch's process-wide one); cached, shared by sessions, never mutated."""
    return ResNet(config, seed=seed)


@st.cache_data(max_entries=32, show_spinner=False)
def shapes_batch(n: int, seed: int, split: str = "test"):
    """(images float (n, 3, 32, 32) in [0, 1], labels (n,)) as numpy arrays."""
    x, y = make_shapes(split, n=n, seed=seed)
    return (x.float() / 255).numpy(), y.numpy()


def zoo_catalog() -> pd.DataFrame:
    """The zoo's catalog (shipped and user models); re-read every 30 s so newly trained models appear, and at
    once when the zoo's folders change (SKIPLAB_ZOO)."""
    return _zoo_catalog(tuple(str(folder) for _, folder in zoo.folders()))


@st.cache_data(ttl=30, show_spinner=False)
def _zoo_catalog(folders: tuple) -> pd.DataFrame:
    return zoo.list()


def weights_id(name: str) -> str:
    """The SHA-256 of a zoo model's weights, from its card: part of every cache key of a computation on the model,
    so a model retrained under the same name (the Train page saves each epoch) is measured afresh."""
    return zoo.card(name).get("sha256", "")


def zoo_model(name: str) -> ResNet:
    """A zoo model in eval mode; cached, shared by sessions, never mutated (measurements work on copies)."""
    return _zoo_model(name, weights_id(name))


@st.cache_resource(max_entries=16, show_spinner=False)
def _zoo_model(name: str, sha256: str) -> ResNet:
    return zoo.load(name)


@st.cache_resource(max_entries=4, show_spinner=False)
def dataset(name: str, split: str = "test"):
    """A whole split as (uint8 images (N, 3, 32, 32), labels (N,)) tensors; shared, never mutated."""
    return load_dataset(name, split)


def sample(name: str, n: int, seed: int, split: str = "test"):
    """n images of a split, chosen by seed: (float images in [0, 1], labels)."""
    x, y = dataset(name, split)
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx].float() / 255, y[idx]


@contextlib.contextmanager
def guard(what: str):
    """Show a failure as a clear message, not a traceback; the rest of the page keeps working."""
    try:
        yield
    except (ValueError, RuntimeError, OSError, MemoryError) as e:
        st.error(f"Could not {what}: {e}")


@st.cache_data(max_entries=64, show_spinner=False)
def probe_at_init(config: ResNetConfig, seed: int, batch: int, bn_mode: str, skip: tuple) -> Trace:
    """Probe the seed's freshly initialised model on a shapes batch; skip: one bool per block."""
    model = init_model(config, seed)
    x, y = shapes_batch(batch, seed)
    return probe(model, torch.from_numpy(x), torch.from_numpy(y), skip=list(skip), bn_mode=bn_mode)


def probe_trained(name: str, seed: int, batch: int, bn_mode: str) -> Trace:
    """Probe a zoo model on a batch of its own data set's test split (a folder model: its folder)."""
    return _probe_trained(name, weights_id(name), seed, batch, bn_mode)


@st.cache_data(max_entries=64, show_spinner=False)
def _probe_trained(name: str, sha256: str, seed: int, batch: int, bn_mode: str) -> Trace:
    model = zoo_model(name)
    x, y = sample(zoo.data_source(zoo.card(name)), batch, seed)
    t = probe(model, x, y, bn_mode=bn_mode)
    t.name = f"{t.name} (trained)"
    return t


# ---- Classroom: links that reopen a view, presentation mode, an HTML report of the page (issue 7) ----

def _url_forms(v) -> list[str]:
    """How a widget value can be written in a link (Streamlit writes bools as true/false, lists repeated)."""
    if isinstance(v, bool):
        return [str(v).lower()]
    if isinstance(v, float) and v.is_integer():
        return [str(int(v)), str(v)]
    return [str(v)]


def _url_choices(key: str) -> list[str] | None:
    """The texts a link may hold for a choice widget (its formatted options), or None. Reads Streamlit's
    widget metadata (1.67 internals, best effort: None if they moved)."""
    try:
        from streamlit.runtime.state.session_state_proxy import get_session_state

        state = get_session_state()._state
        wid = state._key_id_mapper.get_id_from_key(key, None)
        choices = state._new_widget_state.widget_metadata[wid].formatted_options
        return None if choices is None else [str(c) for c in choices]
    except Exception:  # noqa: BLE001 (a missing internal only costs the note its list of choices)
        return None


def _code(text: str) -> str:
    """A link's text shown verbatim (a code span), never as Markdown: a link is anyone's text."""
    text = text.replace("`", "'")
    return f"`{text[:80]}{'…' if len(text) > 80 else ''}`"


@contextlib.contextmanager
def url_bound(labels: dict | None = None):
    """Wrap the widgets of a page whose widgets use `bind="query-params"` (each with a key).

    Streamlit seeds such a widget from the link on the page's first run and silently drops a value it
    cannot use. This notes each dropped or corrected value above the widgets, e.g. "The link's
    depth=abc is not a valid depth; using 56.", so a bad link falls back visibly, never with an error.
    labels: optional {key: readable name} for the notes.
    """
    box = st.container()
    # Only parameters whose widget does not exist yet are seeded from the link in this run.
    start = {k: st.query_params.get_all(k) for k in st.query_params if k not in st.session_state}
    yield
    labels = labels or {}
    for k, raw in start.items():
        if k not in st.session_state:  # no widget of that key on this page (or not shown in this view)
            continue
        v = st.session_state[k]
        if st.query_params.get_all(k) == raw:  # Streamlit kept it as written: taken
            continue
        choices = _url_choices(k)
        if choices is not None and raw and all(r in choices for r in raw):  # valid, dropped as the default
            continue
        if isinstance(v, (list, tuple)):
            if sorted(raw) == sorted(str(x) for x in v):
                continue
        elif len(raw) == 1 and raw[0] in _url_forms(v):  # the default, written out: taken (Streamlit drops it)
            continue
        shown = ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else _url_forms(v)[0]
        hint = f" (one of: {', '.join(choices)})" if choices and len(choices) <= 8 else ""
        box.info(f"The link's {_code(k + '=' + '&'.join(raw))} is not a valid {labels.get(k, k)}{hint}; using {shown if shown != '' else 'none'}.",
                 icon=":material/link_off:")


_REPORT = "_skiplab_report"
_REPORT_MAX = 60  # items per run: a page that draws in a loop cannot grow a session without bound


def report_start():
    """The frame calls this before a page runs: the report collects what this run draws."""
    st.session_state[_REPORT] = []


def _report_add(item):
    items = st.session_state.get(_REPORT)
    if items is not None and len(items) < _REPORT_MAX:
        items.append(item)


def presenting() -> bool:
    return bool(st.session_state.get("present"))


CHART_CONFIG = {"displaylogo": False}


def show_chart(fig_and_caption, config: dict | None = None):
    """Draw a (Plotly figure, caption) pair; recorded for the page's HTML report; larger when presenting.
    config: Plotly's config for the browser (default: no Plotly logo)."""
    fig, caption = fig_and_caption
    _report_add(("chart", fig, caption))
    if presenting():
        import plotly.graph_objects as go

        fig = go.Figure(fig)  # a copy: the figure may be cached
        fig.update_layout(font_size=18, height=int((fig.layout.height or 450) * 1.35))
    st.plotly_chart(fig, width="stretch", config=config or CHART_CONFIG)
    st.caption(caption)


def csv_download(df: pd.DataFrame, name: str, label: str = "Download CSV"):
    """A CSV download of a table; the table is also recorded for the page's HTML report."""
    _report_add(("table", df, name))
    st.download_button(label, df.to_csv(index=False).encode(), file_name=f"{name}.csv", mime="text/csv", key=f"csv-{name}")


REPORT_ROWS = 2000


def report_html(title: str, items: list, settings: dict | None = None) -> str:
    """One self-contained HTML file: the charts (one inlined copy of plotly.js, no network) and tables."""
    import datetime
    import html

    esc = html.escape
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>skiplab: {esc(title)}</title>",
           ("<style>body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}"
           "table{border-collapse:collapse;font-size:13px}td,th{padding:2px 8px;border-bottom:1px solid #ddd}"
           ".cap{color:#555;margin:0 0 2em}</style></head><body>"),
           f"<h1>skiplab: {esc(title)}</h1><p class='cap'>Made {when}."]
    if settings:
        out.append(" Settings: " + esc(", ".join(f"{k}={'&'.join(v)}" for k, v in settings.items())) + ".")
    out.append("</p>")
    plotlyjs = True
    for kind, obj, text in items:
        if kind == "chart":
            out.append(obj.to_html(full_html=False, include_plotlyjs=plotlyjs, config={"displaylogo": False}))
            plotlyjs = False
            out.append(f"<p class='cap'>{esc(text)}</p>")
        else:
            out.append(f"<h3>{esc(text)}</h3>")
            if len(obj) > REPORT_ROWS:
                out.append(f"<p class='cap'>The first {REPORT_ROWS} of {len(obj)} rows; the CSV download has all.</p>")
            out.append(obj.head(REPORT_ROWS).to_html(index=False, border=0, na_rep=""))
    out.append("</body></html>")
    return "\n".join(out)


def report_download(where, title: str):
    """The frame calls this after the page ran: a download of this run's charts and tables as HTML."""
    items = list(st.session_state.get(_REPORT) or [])
    if not items:
        return
    settings = {k: st.query_params.get_all(k) for k in st.query_params}
    name = "skiplab-" + "".join(c if c.isalnum() else "-" for c in title.lower()) + ".html"
    where.download_button("HTML report of this page", lambda: report_html(title, items, settings), file_name=name,
                          mime="text/html", icon=":material/download:", on_click="ignore", key="report_html",
                          help=f"{sum(k == 'chart' for k, _, _ in items)} charts and "
                               f"{sum(k == 'table' for k, _, _ in items)} tables, one file that opens offline.")


def _infinite(text: str) -> bool:
    try:
        return math.isinf(float(text))
    except (ValueError, OverflowError):
        return False


def drop_infinite_link_values():
    """Streamlit 1.67 crashes (OverflowError in its number_input deserializer) on a link like `?seed=1e400` or
    `?seed=inf` for an integer input bound to the URL, and keeps crashing while the link holds it. The frame calls
    this before a page runs: such values are removed from the link, before any widget reads them, with a note."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    bad = {k: v for k in st.query_params for v in st.query_params.get_all(k) if _infinite(v)}
    if not bad:
        return
    ctx = get_script_run_ctx()
    with ctx.session_state.query_params() as qp:  # Streamlit internals: the link's values that seed widgets
        for k in bad:
            getattr(qp, "_initial_query_params", {}).pop(k, None)
            qp.remove_param(k)
    for k, v in bad.items():
        st.info(f"The link's {_code(k + '=' + v)} is not a number skiplab can use; using the default.", icon=":material/link_off:")
