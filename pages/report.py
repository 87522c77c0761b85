"""An HTML report of a page: every chart (with its caption) and table a run drew, in one file that opens offline."""

import datetime
import html

import streamlit as st

_REPORT = "_skiplab_report"
_REPORT_MAX = 60  # items per run: a page that draws in a loop cannot grow a session without bound


def start():
    """The frame calls this before a page runs: the report collects what this run draws."""
    st.session_state[_REPORT] = []


def add_words(heading: str, pairs: list[tuple[str, str]]):
    """Sentences for the report under a heading, each with its label (e.g. "Your prediction": "plain-56")."""
    add(("words", list(pairs), heading))


def add(item):
    items = st.session_state.get(_REPORT)
    if items is not None and len(items) < _REPORT_MAX:
        items.append(item)


REPORT_ROWS = 2000


def html_file(title: str, items: list, settings: dict | None = None) -> str:
    """One self-contained HTML file: the charts (one inlined copy of plotly.js, no network) and tables."""
    esc = html.escape
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>skiplab: {esc(title)}</title>",
           ("<style>body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}"
           "table{border-collapse:collapse;font-size:13px}td,th{padding:2px 8px;border-bottom:1px solid #ddd}"
           ".cap{color:#555;margin:0 0 2em}</style></head><body>"),
           f"<h1>skiplab: {esc(title)}</h1><p class='cap'>Made {when}."]
    if settings:
        out.append(" Settings: " + esc(", ".join(f"{k}={v}" for k, v in settings.items())) + ".")
    out.append("</p>")
    plotlyjs = True
    for kind, obj, text in items:
        if kind == "chart":
            out.append(obj.to_html(full_html=False, include_plotlyjs=plotlyjs, config={"displaylogo": False}, auto_play=False))
            plotlyjs = False
            out.append(f"<p class='cap'>{esc(text)}</p>")
        elif kind == "words":  # (label, sentence) pairs under a heading: what was asked, predicted and found
            out.append(f"<h3>{esc(text)}</h3>" + "".join(f"<p><b>{esc(k)}:</b> {esc(v)}</p>" for k, v in obj))
        else:
            out.append(f"<h3>{esc(text)}</h3>")
            if len(obj) > REPORT_ROWS:
                out.append(f"<p class='cap'>The first {REPORT_ROWS} of {len(obj)} rows; the CSV download has all.</p>")
            out.append(obj.head(REPORT_ROWS).to_html(index=False, border=0, na_rep=""))
    out.append("</body></html>")
    return "\n".join(out)


def download(where, title: str):
    """The frame calls this after the page ran: a download of this run's charts and tables as HTML."""
    items = list(st.session_state.get(_REPORT) or [])
    if not items:
        return
    settings = settings_of_run()
    name = "skiplab-" + "".join(c if c.isalnum() else "-" for c in title.lower()) + ".html"
    where.download_button("HTML report of this page", lambda: html_file(title, items, settings), file_name=name,
                          mime="text/html", icon=":material/download:", on_click="ignore", key="report_html",
                          help=f"{sum(k == 'chart' for k, _, _ in items)} charts and "
                               f"{sum(k == 'table' for k, _, _ in items)} tables, one file that opens offline.")


def settings_of_run() -> dict:
    """Every setting of this run, defaults included: the session's widget values of simple types ({key: text}), so a
    report of a default view still says what it was made with."""
    simple = (bool, int, float, str)
    out = {}
    for k in sorted(st.session_state):
        v = st.session_state[k]
        if k.startswith("_") or not (isinstance(v, simple) or (isinstance(v, (list, tuple)) and all(isinstance(x, simple) for x in v))):
            continue
        out[k] = "&".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v).lower() if isinstance(v, bool) else str(v)
    return out
