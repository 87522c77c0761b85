"""frame/visitor.py speaks Streamlit's websocket protocol as the frontend does (the warm-up and bench/load.py use it).
Its messages are checked here field by field; tests/e2e/test_warmup.py runs it against a real server."""

from streamlit.proto.BackMsg_pb2 import BackMsg

from frame import visitor


def test_rerun_backmsg_round_trips():
    w = visitor.widget_state("$$ID-abc-depth", "selectbox", None, 20)
    m = BackMsg.FromString(visitor.client_state("depth=56", page_hash="h", widgets=[w]))
    assert m.WhichOneof("type") == "rerun_script"
    cs = m.rerun_script
    assert (cs.query_string, cs.page_script_hash, cs.page_name) == ("depth=56", "h", "")
    assert cs.widget_states.widgets[0].id == "$$ID-abc-depth" and cs.widget_states.widgets[0].string_value == "20"
    first = BackMsg.FromString(visitor.client_state("depth=56&seed=3", page_name="gradient_flow")).rerun_script
    assert (first.page_name, first.page_script_hash, len(first.widget_states.widgets)) == ("gradient_flow", "", 0)


def test_widget_values_use_the_field_of_their_kind():
    assert visitor.widget_state("a", "number_input", None, 7).double_value == 7.0
    assert visitor.widget_state("a", "checkbox", None, True).bool_value is True
    assert list(visitor.widget_state("a", "multiselect", None, [1, 3]).string_array_value.data) == ["1", "3"]
    assert list(visitor.widget_state("a", "button_group", None, "Trained").string_array_value.data) == ["Trained"]
    assert visitor.widget_state("a", "button", None, True).trigger_value is True  # a button press (Reveal)
