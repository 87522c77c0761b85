"""bench/load.py speaks Streamlit's websocket protocol as the frontend does, and its cross-talk checks can fail.
Not timed; no server (the bench itself is the end-to-end run)."""

from streamlit.proto.BackMsg_pb2 import BackMsg

from bench import load


def test_rerun_backmsg_round_trips():
    w = load.widget_state("$$ID-abc-depth", "selectbox", None, 20)
    m = BackMsg.FromString(load.client_state("depth=56", page_hash="h", widgets=[w]))
    assert m.WhichOneof("type") == "rerun_script"
    cs = m.rerun_script
    assert (cs.query_string, cs.page_script_hash, cs.page_name) == ("depth=56", "h", "")
    assert cs.widget_states.widgets[0].id == "$$ID-abc-depth" and cs.widget_states.widgets[0].string_value == "20"
    first = BackMsg.FromString(load.client_state("depth=56&seed=3", page_name="gradient_flow")).rerun_script
    assert (first.page_name, first.page_script_hash, len(first.widget_states.widgets)) == ("gradient_flow", "", 0)


def test_widget_values_use_the_field_of_their_kind():
    assert load.widget_state("a", "number_input", None, 7).double_value == 7.0
    assert load.widget_state("a", "checkbox", None, True).bool_value is True
    assert list(load.widget_state("a", "multiselect", None, [1, 3]).string_array_value.data) == ["1", "3"]
    assert list(load.widget_state("a", "button_group", None, "Trained").string_array_value.data) == ["Trained"]


def test_depth_check_catches_another_sessions_depth():
    s = {"depth": 20, "seed": 1, "batch": 32}
    assert load.depth_check(load.GF, s, ["ResNet-20: 0.6 times", "Loss on this batch: ResNet-20 3.5, plain-20 2.4."])[0]
    assert not load.depth_check(load.GF, s, ["ResNet-20: 0.6 times", "ResNet-56: 4.9 times larger"])[0]
    assert not load.depth_check(load.GF, s, ["no depth named"])[0]


def test_expected_loss_is_the_pages_caption_and_depends_on_the_seed():
    memo = {}
    a = load.expect(load.GF, {"depth": 8, "seed": 0, "batch": 4}, memo)
    b = load.expect(load.GF, {"depth": 8, "seed": 1, "batch": 4}, memo)
    assert a.startswith("Loss on this batch: ResNet-8 ") and ", plain-8 " in a and a.endswith(".")
    assert a != b
