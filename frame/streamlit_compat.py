"""The one module that reaches into Streamlit's private modules, for five things its public API does not offer.

Each use names the public API that is missing and is guarded: if a Streamlit release moves or renames what it
reaches for, the use falls back to a degraded but safe behaviour (said in its docstring) or fails with a sentence
saying what to do, never with a bare AttributeError deep in a page. tests/frame/test_streamlit_compat.py exercises
every use on the installed Streamlit and fails loudly when one of them stops working, so a new release is checked
before it reaches a class. Everything else in skiplab imports only public Streamlit (tests/test_house.py checks).
"""

from types import SimpleNamespace

import streamlit as st


class StreamlitChanged(RuntimeError):
    """What skiplab reaches for inside Streamlit is not there any more in the installed version."""

    def __init__(self, what: str, error: Exception):
        super().__init__(f"skiplab cannot use {what} in streamlit {st.__version__} ({type(error).__name__}: {error}); "
                         f"install a version requirements.txt allows: pip install -r requirements.txt")


def choice_texts(key: str) -> list[str] | None:
    """The texts a link may hold for a choice widget (its formatted options), or None for other widgets.
    Degraded fallback when Streamlit changed: None, so a link's note leaves out the list of valid choices."""
    # Missing public API: reading a widget's options (as shown, after format_func) back by its key.
    try:
        from streamlit.runtime.state.session_state_proxy import get_session_state

        state = get_session_state()._state
        wid = state._key_id_mapper.get_id_from_key(key, None)
        meta = state._new_widget_state.widget_metadata.get(wid) if wid is not None else None
    except (ImportError, AttributeError):
        return None
    choices = getattr(meta, "formatted_options", None)
    return None if choices is None else [str(c) for c in choices]


def remove_link_values(keys):
    """Remove these parameters from the link before any widget is seeded from them.
    Degraded fallback when Streamlit changed: remove them through st.query_params only (the address bar is cleaned;
    a widget bound to the URL may still read the value in this run)."""
    # Missing public API: st.query_params has no way to drop the values a bound widget is seeded from
    # (the copy Streamlit took of the link when the session started).
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        with get_script_run_ctx().session_state.query_params() as qp:
            for k in keys:
                qp._initial_query_params.pop(k, None)
                qp.remove_param(k)
    except (ImportError, AttributeError):
        for k in keys:
            st.query_params.pop(k, None)


def serving() -> bool:
    """True inside `streamlit run` (a real Runtime serving sessions); False under AppTest, whose Runtime is a mock,
    and in a bare `python app.py`. Degraded fallback when Streamlit changed: False (the warm-up does not start)."""
    # Missing public API: st.runtime.exists() is True under AppTest too; nothing public tells a real server apart.
    try:
        from streamlit.runtime import Runtime

        return Runtime.exists() and type(Runtime.instance()) is Runtime
    except (ImportError, AttributeError):
        return False


def user_key(element_id: str) -> str:
    """The key a page gave a widget, from the widget id in Streamlit's protocol (the warm-up's visitor).
    RuntimeError with what to do when Streamlit changed."""
    # Missing public API: none for a protocol client (Streamlit's frontend derives the key the same way).
    try:
        from streamlit.runtime.state.common import user_key_from_element_id
    except ImportError as e:
        raise StreamlitChanged("the widget keys in its protocol", e) from e
    return user_key_from_element_id(element_id)


def protocol() -> SimpleNamespace:
    """Streamlit's websocket protocol messages (BackMsg, ForwardMsg, WidgetState, Alert, Markdown), for the
    warm-up's visitor (frame/visitor.py). RuntimeError with what to do when Streamlit changed."""
    # Missing public API: none for a client of the websocket protocol; these messages are its frontend's own.
    try:
        from streamlit.proto.Alert_pb2 import Alert
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from streamlit.proto.Markdown_pb2 import Markdown
        from streamlit.proto.WidgetStates_pb2 import WidgetState
    except ImportError as e:
        raise StreamlitChanged("its protocol messages", e) from e
    return SimpleNamespace(Alert=Alert, BackMsg=BackMsg, ForwardMsg=ForwardMsg, Markdown=Markdown,
                           WidgetState=WidgetState)
