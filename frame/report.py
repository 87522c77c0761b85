"""An HTML report of a page: every chart (with its caption) and table a run drew, in one file that opens offline."""

import ast
import datetime
import functools
import html
from pathlib import Path

import streamlit as st

from frame import framing

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


def chart_count() -> int:
    """How many charts this run has drawn so far."""
    return sum(1 for kind, *_ in st.session_state.get(_REPORT) or [] if kind == "chart")


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
        out.append(" Settings: " + esc("; ".join(f"{label}: {value}" for label, value in settings.items())) + ".")
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


# The widgets whose value is a setting a person chooses (buttons, downloads, uploads and links are not settings)
SETTING_WIDGETS = {"checkbox", "color_picker", "date_input", "multiselect", "number_input", "pills", "radio",
                   "segmented_control", "select_slider", "selectbox", "slider", "text_input", "time_input", "toggle"}
APP = Path(__file__).resolve().parents[1] / "app.py"


@functools.lru_cache(maxsize=32)
def control_labels(source_file: str) -> dict[str, str]:
    """{widget key: its label} of the setting widgets a script draws, in the order it draws them: every call of a
    SETTING_WIDGETS function (st.selectbox, a column's .radio, ui.number_input, ...) with a constant key, its label
    the call's first text argument (the key where the label is computed)."""
    found = []
    for call in ast.walk(ast.parse(Path(source_file).read_text())):
        name = getattr(call.func, "attr", getattr(call.func, "id", None)) if isinstance(call, ast.Call) else None
        if name not in SETTING_WIDGETS:
            continue
        key = next((k.value.value for k in call.keywords if k.arg == "key" and isinstance(k.value, ast.Constant)), None)
        if not isinstance(key, str):
            continue
        texts = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        texts += [k.value.value for k in call.keywords if k.arg == "label" and isinstance(k.value, ast.Constant)]
        found.append((call.lineno, call.col_offset, key, texts[0] if texts else key))
    return {key: label for _, _, key, label in sorted(found)}


def in_words(value) -> str:
    """A widget's value as a person reads it: on/off, a list joined by commas, numbers as shown."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return ", ".join(in_words(v) for v in value) if value else "none"
    return format(value, "g") if isinstance(value, float) else str(value)


def settings_of_run() -> dict:
    """The settings of this run as {control label: value in words}: every setting widget the frame (app.py) and the
    page drew, defaults included, so a report of a default view still says what it was made with. Never a button,
    a download or a key the code keeps for itself."""
    sources = [str(APP)] + ([framing.page_file()] if framing.page_file() else [])
    return {label: in_words(st.session_state[key]) for source in sources
            for key, label in control_labels(source).items() if key in st.session_state}
