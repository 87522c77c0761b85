"""Every page runs inside the frame (app.py: the navigation, the sidebar, presentation mode, the report).

Streamlit (1.67 and before) starts a server in its legacy multipage mode when a pages/ folder sits beside app.py,
and leaves it only when some session calls st.navigation ("As soon as any session of your app executes the
st.navigation command, your app will ignore the pages/ directory", st.navigation's documentation). So on a fresh
server the first visitor's first run does not run app.py but, for a link such as /gradient_flow, the page file alone.
Two public means keep that visitor in the frame:
- .streamlit/config.toml sets client.showSidebarNavigation = false, so the legacy mode's list of the folder's files
  is never drawn; the frame draws its own links to the navigation's pages (app.py, st.page_link).
- Each page calls `require_frame(__file__)` first. Run outside the frame, it calls st.navigation (which ends the
  legacy mode for the whole server) with the page itself, so the link resolves to it, and st.rerun(): the rerun runs
  app.py, which draws the frame around the same page. Inside the frame it does nothing. Not a page."""

import threading
from contextlib import contextmanager

import streamlit as st

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
    """A page's first call: outside the frame (a fresh server's legacy mode), rerun the app so it frames this page.
    Inside the frame it notes the page's file (`page_file()`: the HTML report reads the page's control labels)."""
    if getattr(_this_run, "framed", False):
        _this_run.page_file = page_file
        return
    # The page beside a stand-in default page: a default page's URL is the app's root, so alone it would not match the
    # link (Streamlit would show "Page not found").
    st.navigation([st.Page(_stand_in, default=True), st.Page(page_file)], position="hidden")
    st.rerun()


def _stand_in():
    """The default page of require_frame's one-off navigation; never run (the rerun runs app.py's navigation)."""
