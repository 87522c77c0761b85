"""Every use of Streamlit's internals, in one place, checked against the pinned version at start.

skiplab relies on three things Streamlit 1.67 does not offer publicly: staying in st.navigation mode although a
pages/ folder exists, reading a choice widget's formatted options (for a link's note), and removing a link value
before any widget reads it (a crash guard). They are version-specific, so a different Streamlit fails loudly at
start instead of misbehaving in front of a class.
"""

import streamlit as st

PINNED = "1.67.0"  # requirements.txt pins the same version (tests/pages/test_streamlit_internals.py checks)


def check_version(version: str = st.__version__):
    """RuntimeError unless Streamlit is the pinned version."""
    if version != PINNED:
        raise RuntimeError(f"skiplab needs streamlit=={PINNED} (pages/streamlit_internals.py uses its internals); "
                           f"this is {version}. Install the pinned requirements: pip install -r requirements.txt")


check_version()


def keep_navigation_mode():
    """Keep Streamlit 1.67 out of its legacy multipage mode, which runs a file of pages/ alone, without the frame
    (no navigation, no sidebar, no presentation mode, no report). Streamlit derives that mode from the existence of
    pages/ whenever a PagesManager is made (one per session; AppTest makes one per run), and leaves it only once
    app.py has called st.navigation, so a fresh server's first visitor who opens a page URL got the bare page.
    app.py always calls st.navigation: make every PagesManager say so, and rerun a run that already started in the
    legacy mode, so it is drawn inside the frame."""
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


def choice_texts(key: str) -> list[str] | None:
    """The texts a link may hold for a choice widget (its formatted options), or None for other widgets."""
    from streamlit.runtime.state.session_state_proxy import get_session_state

    state = get_session_state()._state
    wid = state._key_id_mapper.get_id_from_key(key, None)
    meta = state._new_widget_state.widget_metadata.get(wid) if wid is not None else None
    choices = getattr(meta, "formatted_options", None)
    return None if choices is None else [str(c) for c in choices]


def remove_link_values(keys):
    """Remove these parameters from the link before any widget is seeded from them."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    with get_script_run_ctx().session_state.query_params() as qp:
        for k in keys:
            qp._initial_query_params.pop(k, None)
            qp.remove_param(k)


def serving() -> bool:
    """True inside `streamlit run` (a real Runtime serving sessions); False under AppTest, whose Runtime is a mock,
    and in a bare `python app.py`."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and type(Runtime.instance()) is Runtime


def own_url() -> str:
    """This server's own address as seen from the machine it runs on: http://host:port[/base]."""
    host = st.get_option("server.address") or "127.0.0.1"
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "localhost") else host
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"http://{host}:{st.get_option('server.port')}" + (f"/{base}" if base else "")
