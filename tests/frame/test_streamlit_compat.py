"""Every use of Streamlit's internals (frame/streamlit_compat.py) works on the installed Streamlit: these tests fail
loudly when a release moves what skiplab reaches for, before a class meets a degraded page. They also check each
guard: with the internal gone, the use falls back as its docstring says, or says what to do."""

import sys
import textwrap

import pytest
from streamlit.testing.v1 import AppTest

from frame import streamlit_compat as compat

SCRIPT = textwrap.dedent('''
    import streamlit as st
    from frame import streamlit_compat as compat

    if st.session_state.get("drop_seed"):
        compat.remove_link_values(["seed"])
    st.selectbox("Depth", [20, 56], format_func=lambda d: f"ResNet-{d}", key="depth")
    st.number_input("Seed", 0, 100, 7, key="seed", bind="query-params")
    st.text(repr({"depth": compat.choice_texts("depth"), "seed": compat.choice_texts("seed"),
                  "nothing": compat.choice_texts("no_such_widget"), "serving": compat.serving(),
                  "link": dict(st.query_params)}))
''')


@pytest.fixture
def app(tmp_path):
    (tmp_path / "page.py").write_text(SCRIPT)
    return AppTest.from_file(str(tmp_path / "page.py"), default_timeout=60)


def shown(at) -> dict:
    assert not at.exception, at.exception
    return eval(at.text[0].value)  # the repr of a dict the script printed


def test_a_choice_widgets_options_are_read_as_shown_and_other_widgets_have_none(app):
    seen = shown(app.run())
    assert seen["depth"] == ["ResNet-20", "ResNet-56"]  # None here: Streamlit changed its widget metadata
    assert seen["seed"] is None and seen["nothing"] is None


def test_a_link_value_is_removed_before_the_bound_widget_reads_it(app):
    app.query_params["seed"] = "42"
    assert app.run().number_input(key="seed").value == 42  # the link seeds the widget ...
    fresh = AppTest.from_file(app._script_path, default_timeout=60)
    fresh.query_params["seed"] = "42"
    fresh.session_state["drop_seed"] = True
    fresh.run()
    assert fresh.number_input(key="seed").value == 7  # ... unless removed first: the widget's default
    assert "seed" not in shown(fresh)["link"]


def test_apptest_is_not_a_server(app):
    assert shown(app.run())["serving"] is False  # (a real server: tests/e2e/test_warmup.py, whose warm-up starts)


def test_a_widget_key_is_read_back_from_its_protocol_id(app):
    at = app.run()
    assert compat.user_key(at.selectbox(key="depth").id) == "depth"
    assert compat.user_key(at.number_input(key="seed").id) == "seed"


def test_with_its_widget_metadata_gone_a_choice_widget_has_no_texts_instead_of_failing(app, monkeypatch):
    monkeypatch.setitem(sys.modules, "streamlit.runtime.state.session_state_proxy", None)  # import now fails
    assert shown(app.run())["depth"] is None


def test_with_the_links_internals_changed_a_link_value_is_still_removed_from_the_link(app, monkeypatch):
    from streamlit.runtime.state.query_params import QueryParams

    monkeypatch.delattr(QueryParams, "remove_param")
    app.query_params["seed"] = "42"
    app.session_state["drop_seed"] = True
    assert "seed" not in shown(app.run())["link"]


def test_with_the_runtime_gone_the_app_is_not_served_and_the_warm_up_stays_off(monkeypatch):
    monkeypatch.setitem(sys.modules, "streamlit.runtime", None)
    assert compat.serving() is False


def test_with_widget_keys_gone_from_the_protocol_the_visitor_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "streamlit.runtime.state.common", None)
    with pytest.raises(compat.StreamlitChanged, match=r"cannot use the widget keys .* pip install -r requirements"):
        compat.user_key("$$ID-abc-depth")


def test_the_protocol_messages_the_visitor_speaks_are_there():
    proto = compat.protocol()
    msg = proto.BackMsg()
    msg.rerun_script.page_name = "gradient_flow"
    assert proto.BackMsg.FromString(msg.SerializeToString()).rerun_script.page_name == "gradient_flow"
    assert proto.ForwardMsg.FINISHED_EARLY_FOR_RERUN and proto.Alert.ERROR and proto.Markdown.CAPTION
    assert "string_value" in proto.WidgetState.DESCRIPTOR.fields_by_name


def test_with_the_protocol_gone_the_visitor_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "streamlit.proto.BackMsg_pb2", None)
    with pytest.raises(compat.StreamlitChanged, match="cannot use its protocol messages"):
        compat.protocol()
