"""Every page runs inside the frame (frame/framing.py). Under AppTest, as on a fresh server, Streamlit starts in its
legacy multipage mode (a pages/ folder exists) and runs a page's file alone; the page's require_frame reruns the app,
so what the run draws is the frame around the page. (The browser's view: tests/e2e/test_navigation.py.)"""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from frame import framing

ROOT = Path(__file__).resolve().parents[2]


def test_a_page_opened_on_its_own_is_drawn_inside_the_frame():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("pages/lesson.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Lesson")
    assert [t.key for t in at.sidebar.toggle] == ["present"]  # the frame's sidebar
    links = at.sidebar.get("page_link")
    assert len(links) == 11 and {"Home", "Lesson", "Residuals", "Transformer stream"} <= {p.proto.label for p in links}


def test_outside_a_framed_run_no_page_file_is_noted():
    assert framing.page_file() is None
    with framing.framed():
        framing.require_frame("pages/lesson.py")
        assert framing.page_file() == "pages/lesson.py"
    assert not getattr(framing._this_run, "framed", False)
