"""Links that reopen a view: widgets bound to the URL (`bind="query-params"`), and a visible note, never an error,
for a link value a widget cannot use."""

import contextlib
import math

import streamlit as st

from frame import streamlit_compat as compat

_RANGES = "_skiplab_link_ranges"  # {key: "seed (0 to 10000)"}: what a number input bound by `number_input` takes


def _url_forms(v) -> list[str]:
    """How a widget value can be written in a link (Streamlit writes bools as true/false, lists repeated)."""
    if isinstance(v, bool):
        return [str(v).lower()]
    if isinstance(v, float) and v.is_integer():
        return [str(int(v)), str(v)]
    return [str(v)]


def _code(text: str) -> str:
    """A link's text shown verbatim (a code span), never as Markdown: a link is anyone's text."""
    text = text.replace("`", "'")
    return f"`{text[:80]}{'…' if len(text) > 80 else ''}`"


def number_input(where, label, lo, hi, value, *, key, what, **kw):
    """`where.number_input` (st or a column) bound to the link under `key`; a link value out of its bounds is noted
    as "not a valid {what} ({lo} to {hi})", the range read from the widget's own bounds."""
    st.session_state.setdefault(_RANGES, {})[key] = f"{what} ({lo:g} to {hi:g})"
    return where.number_input(label, lo, hi, value, key=key, bind="query-params", **kw)


@contextlib.contextmanager
def url_bound(labels: dict | None = None):
    """Wrap the widgets of a page whose widgets use `bind="query-params"` (each with a key).

    Streamlit seeds such a widget from the link on the page's first run and silently drops a value it
    cannot use. This notes each dropped or corrected value above the widgets, e.g. "The link's
    depth=abc is not a valid depth; using 56.", so a bad link falls back visibly, never with an error.
    labels: optional {key: readable name} for the notes (number inputs made by `number_input` need none).
    """
    box = st.container()
    # Only parameters whose widget does not exist yet are seeded from the link in this run.
    start = {k: st.query_params.get_all(k) for k in st.query_params if k not in st.session_state}
    yield
    labels = {**st.session_state.get(_RANGES, {}), **(labels or {})}
    for k, raw in start.items():
        if k not in st.session_state:  # no widget of that key on this page (or not shown in this view)
            continue
        v = st.session_state[k]
        if st.query_params.get_all(k) == raw:  # Streamlit kept it as written: taken
            continue
        choices = compat.choice_texts(k)
        if choices is not None and raw and all(r in choices for r in raw):  # valid, dropped as the default
            continue
        if isinstance(v, (list, tuple)):
            if sorted(raw) == sorted(str(x) for x in v):
                continue
        elif len(raw) == 1 and raw[0] in _url_forms(v):  # the default, written out: taken (Streamlit drops it)
            continue
        shown = ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else _url_forms(v)[0]
        hint = f" (one of: {', '.join(choices)})" if choices and len(choices) <= 8 else ""
        what = labels.get(k, "switch (true or false)" if isinstance(v, bool) else k)
        box.info(f"The link's {_code(k + '=' + '&'.join(raw))} is not a valid {what}{hint}; "
                 f"using {shown if shown != '' else 'none'}.", icon=":material/link_off:")


def _not_finite(text: str) -> bool:
    """inf, -inf, 1e400 (overflows to inf) or nan, in any spelling float() reads."""
    try:
        return not math.isfinite(float(text))
    except (ValueError, OverflowError):
        return False


def drop_infinite_link_values():
    """Streamlit 1.67 crashes (OverflowError in its number_input deserializer) on a link like `?seed=1e400` or
    `?seed=inf` for an integer input bound to the URL, and keeps crashing while the link holds it; `?seed=nan`
    passes its bounds check (every comparison with nan is false). The frame calls this before a page runs: such
    values are removed from the link, before any widget reads them, with a note."""
    bad = {k: v for k in st.query_params for v in st.query_params.get_all(k) if _not_finite(v)}
    if not bad:
        return
    compat.remove_link_values(bad)
    for k, v in bad.items():
        st.info(f"The link's {_code(k + '=' + v)} is not a number skiplab can use; using the default.",
                icon=":material/link_off:")
