"""Every page runs inside the frame (app.py: the navigation, the sidebar, presentation mode, the report).

Streamlit (1.67 and before) starts a server in its legacy multipage mode when a pages/ folder sits beside app.py,
and leaves it only when some session calls st.navigation ("As soon as any session of your app executes the
st.navigation command, your app will ignore the pages/ directory", st.navigation's documentation). So on a fresh
server the first visitor's first run does not run app.py but, for a link such as /gradient_flow, the page file alone.
Two public means keep that visitor in the frame:
- .streamlit/config.toml sets client.showSidebarNavigation = false, so the legacy mode's list of the folder's files
  is never drawn; the frame draws its own links to the navigation's pages (app.py, st.page_link).
- Each page calls `require_frame(__file__)` first. Run outside the frame, it runs app.py in the same script run:
  app.py's st.navigation ends the legacy mode for the whole server and resolves the link to this same page, which
  it runs inside the frame; then the bare run stops. In the same run, not a rerun, so a click that started the run
  is not lost (AppTest starts every run in the legacy mode). Inside the frame it does nothing. Not a page."""

import runpy
import threading
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

APP = Path(__file__).resolve().parents[1] / "app.py"
_this_run = threading.local()  # each script run has a thread of its own


@contextmanager
def framed():
    """app.py runs the page inside this: the page's require_frame sees it is framed."""
    _this_run.framed, _this_run.page_file = True, None
    try:
        yield
    finally:
        _this_run.framed = False


def page_file() -> str | None:
    """The file of the page this run framed (after the page ran), or None."""
    return getattr(_this_run, "page_file", None)


def require_frame(page_file: str):
    """A page's first call: outside the frame (a fresh server's legacy mode), run the app, which frames this page,
    and stop the bare run. Inside the frame it notes the page's file (`page_file()`: the report reads its labels)."""
    if getattr(_this_run, "framed", False):
        _this_run.page_file = page_file
        return
    runpy.run_path(str(APP), run_name="__main__")  # its st.navigation resolves the link to this page and runs it
    st.stop()
