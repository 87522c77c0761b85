"""The HTML report's "Settings" (frame/report.py): the controls a person sets, in words (label: value), defaults
included; never a button, a download, an upload or a key the code keeps for itself (issue 22)."""

import ast
import textwrap

from streamlit.testing.v1 import AppTest

from frame import report

SCRIPT = textwrap.dedent('''
    import streamlit as st
    from frame import framing, report

    with framing.framed():
        framing.require_frame(__file__)
        left, right = st.columns(2)
        st.button("Run", key="go")
        st.download_button("CSV", "a,b", key="csv_dl")
        st.file_uploader("Your image", key="upload")
        depth = left.selectbox("Depth (6n+2 layers)", [20, 56], index=1, key="depth")
        right.toggle("Start every F(x) at 0", key="zero")
        st.multiselect("Skips off", [1, 2, 3], key="skips")
        st.number_input("Peak learning rate", 0.001, 1.0, 0.1, key="lr")
        st.radio(f"Activation at depth {depth}", ["relu", "tanh"], key="act")
        st.session_state["_skiplab_internal"] = "x"
        st.session_state["remembered"] = "kept by the code"
    st.text(repr(report.settings_of_run()))
''')


def settings(at) -> dict:
    return eval(at.text[0].value)  # the repr of a dict of strings the script printed


def test_the_settings_are_the_controls_in_words_never_buttons_downloads_or_internal_keys(tmp_path):
    (tmp_path / "page.py").write_text(SCRIPT)
    at = AppTest.from_file(str(tmp_path / "page.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert settings(at) == {"Depth (6n+2 layers)": "56", "Start every F(x) at 0": "off",
                            "Skips off": "none", "Peak learning rate": "0.1", "act": "relu"}
    at.selectbox(key="depth").set_value(20)
    at.toggle(key="zero").set_value(True)
    at.multiselect(key="skips").set_value([1, 3])
    at.button(key="go").click().run()
    assert not at.exception, at.exception
    chosen = settings(at)
    assert chosen["Depth (6n+2 layers)"] == "20" and chosen["Start every F(x) at 0"] == "on"
    assert chosen["Skips off"] == "1, 3"
    assert not {"go", "csv_dl", "upload", "Run", "CSV", "Your image", "remembered", "_skiplab_internal"} & set(chosen)


def test_the_report_says_the_settings_in_words():
    text = report.html_file("Gradient flow", [], {"Depth (6n+2 layers)": "20", "Start every F(x) at 0": "on"})
    assert "Settings: Depth (6n+2 layers): 20; Start every F(x) at 0: on." in text


def test_the_pages_controls_have_labels_and_no_button_is_a_setting():
    labels = report.control_labels("pages/gradient_flow.py")
    assert labels["depth"] == "Depth (6n+2 layers)" and labels["skip_off"].startswith("Switch off the skips")
    assert list(labels)[:2] == ["depth", "norm"]  # in the order the page draws them
    for page in ("pages/train.py", "pages/lesson.py", "pages/inspect.py"):
        tree = ast.parse(open(page).read())
        buttons = {k.value.value for c in ast.walk(tree) if isinstance(c, ast.Call)
                   and getattr(c.func, "attr", "") in ("button", "download_button", "file_uploader")
                   for k in c.keywords if k.arg == "key" and isinstance(k.value, ast.Constant)}
        assert buttons and not buttons & set(report.control_labels(page)), page
