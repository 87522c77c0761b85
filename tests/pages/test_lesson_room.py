"""A class room on the Lesson page in AppTest (a teacher and students as separate sessions over one SQLite store):
opening, joining by link and by code, following the teacher's step, votes and the tally, the reveal, closing."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from viz.measures import lesson as L

ROOT = Path(__file__).resolve().parents[2]
STEP1 = L.STEPS[0]  # the lesson's first step (step 0), the room's step 1
CHOICES = L.choices(STEP1, STEP1.options[0])


@pytest.fixture(autouse=True)
def store(monkeypatch, tmp_path):
    monkeypatch.setenv("SKIPLAB_ROOMS", f"sqlite://{tmp_path / 'rooms.db'}")


def lesson(**query):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.query_params.update(query)
    at.switch_page("pages/lesson.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "info", "success", "error", "warning", "caption")
                    for e in at.get(kind))


def teacher_room():
    t = lesson()
    t.button(key="room_open").click().run()
    return t, t.query_params["room"], t.query_params["key"]


def vote(s, code, step, choice):
    s.radio(key=f"room_vote_{code}_{step}").set_value(choice).run()
    assert not s.exception


def test_the_teacher_opens_a_room_and_the_projector_shows_code_link_and_qr():
    t, code, key = teacher_room()
    assert len(code) == 8 and len(key) >= 20
    shown = texts(t)
    assert f"{code[:4]}-{code[4:]}" in shown and f"room={code}" in shown and key not in shown
    assert t.get("imgs") or t.get("image"), "the QR code is drawn"
    assert "No student has joined yet." in shown
    reload = lesson(room=code, key=key)  # the teacher's link reopens the room as its teacher
    assert reload.button(key="room_close") and reload.button(key=f"lesson_reveal_{STEP1.key}")


def test_students_join_by_link_or_code_vote_once_and_the_teacher_sees_the_split():
    t, code, key = teacher_room()
    a = lesson(room=code)
    b = lesson()
    b.text_input(key="room_code").input(f"{code[:4].lower()} {code[4:]}")
    b.text_input(key="room_nickname").input("Ada")
    b.button[[x.label for x in b.button].index("Join the room")].click().run()
    assert b.query_params["room"] == code and "as Ada" in texts(b)
    for s in (a, b):
        assert key not in str(s.query_params) and key not in texts(s)
    vote(a, code, 1, CHOICES[1])
    vote(a, code, 1, CHOICES[0])  # a change of mind replaces the first vote
    vote(b, code, 1, CHOICES[0])
    t.run()
    assert f"2 of 2 answered; most chose “{CHOICES[0]}” (2)" in texts(t)


def test_students_follow_the_teachers_step_and_cannot_reveal_or_advance():
    t, code, key = teacher_room()
    s = lesson(room=code, step="4")
    assert s.segmented_control(key="room_step_0").value == "0" and s.segmented_control(key="room_step_0").disabled
    labels = [b.label for b in s.button]
    assert not any(x.startswith("Reveal") or x in ("Next", "Back") for x in labels), labels
    t.button(key="lesson_next").click().run()
    s.run()
    assert s.segmented_control(key="room_step_1").value == "1" and L.STEPS[1].question in texts(s)


def test_the_reveal_reaches_students_with_their_own_choice_and_closes_the_votes():
    t, code, key = teacher_room()
    s, quiet = lesson(room=code), lesson(room=code)
    vote(s, code, 1, CHOICES[2])
    t.button(key=f"lesson_reveal_{STEP1.key}").click().run()
    truth = L.REVEALS[STEP1.key](STEP1.options[0])
    assert f"0 of 1 predicted the answer, “{truth.answer}”" in texts(t)
    s.run()
    quiet.run()
    assert f"You predicted “{CHOICES[2]}”." in texts(s) and L.verdict(CHOICES[2], truth) in texts(s)
    assert truth.takeaway in texts(s) and s.radio(key=f"room_vote_{code}_1").disabled
    assert "You did not predict this step." in texts(quiet)
    report = {title: table for kind, table, title in s.session_state["_skiplab_report"] if kind == "table"}
    mine = report["The class's predictions, step 0"]  # the report a student downloads: the class beside their own
    assert mine.students.tolist() == [int(i == 2) for i in range(len(CHOICES))]
    assert mine.yours.tolist() == ["yes" if i == 2 else "" for i in range(len(CHOICES))]


def test_a_wrong_code_and_a_closed_room_get_one_sentence():
    s = lesson()
    s.text_input(key="room_code").input("ZZZZ-ZZZZ")
    s.button[[x.label for x in s.button].index("Join the room")].click().run()
    assert [e.value for e in s.error] == ["There is no room ZZZZ-ZZZZ: check the code on the teacher's screen."]
    t, code, key = teacher_room()
    st_ = lesson(room=code)
    t.button(key="room_close").click().run()
    st_.run()
    assert [e.value for e in st_.error] == [f"Room {code[:4]}-{code[4:]} was closed by the teacher."]
    assert lesson(room=code, key=key).error, "the teacher's link no longer opens it either"


def test_a_student_can_visit_another_page_and_come_back_to_the_room():
    t, code, key = teacher_room()
    s = lesson(room=code)
    s.query_params.clear()  # a page switch drops the link's parameters
    s.switch_page("pages/home.py").run()
    s.switch_page("pages/lesson.py").run()
    assert not s.exception and f"You are in room {code[:4]}-{code[4:]}" in texts(s)
    assert s.query_params["room"] == code and "key" not in s.query_params
