"""The Lesson page in AppTest: every step predicted, revealed, and its takeaway equal to the computation it reports;
a changed setting changes the text; each step opens from its own link."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from viz.measures import lesson as L

ROOT = Path(__file__).resolve().parents[2]


def open_step(k, **query):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.query_params.update({"step": str(k), **query})
    at.switch_page("pages/lesson.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def markdown(at):
    return " ".join(str(m.value) for m in at.markdown)


@pytest.mark.slow
@pytest.mark.parametrize("k", range(1, len(L.STEPS) + 1))
def test_every_step_predicts_reveals_and_says_what_the_computation_says(k):
    step = L.STEPS[k - 1]
    at = open_step(k)
    assert f"Step {k} of {len(L.STEPS)}" in str(at.get("progress")[0].proto.text)
    assert step.question in markdown(at)
    assert not at.get("plotly_chart")  # nothing is revealed before the learner predicts
    guess = L.choices(step, step.options[0])[0]
    at.radio(key=f"lesson_guess_{step.key}_{step.options[0]}").set_value(guess).run()
    at.button(key=f"lesson_reveal_{step.key}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    truth = L.REVEALS[step.key](step.options[0])  # the computation, run here on its own
    assert truth.takeaway in markdown(at)
    assert L.verdict(guess, truth) in markdown(at)
    assert at.get("plotly_chart") and at.get("page_link")


def test_a_new_setting_gives_a_new_takeaway_from_its_own_numbers():
    step = L.STEPS[0]  # the identity argument: cheap
    at = open_step(1, lesson_identity="56")
    at.button(key="lesson_reveal_identity").click().run()
    assert L.REVEALS["identity"](56).takeaway in markdown(at)
    assert "ResNet-56" in markdown(at) and "ResNet-20" not in markdown(at)
    at.segmented_control(key="lesson_identity").set_value(step.options[0]).run()
    at.button(key="lesson_reveal_identity").click().run()
    assert L.REVEALS["identity"](step.options[0]).takeaway in markdown(at)


def test_back_and_next_walk_the_steps_and_a_bad_link_falls_back_to_step_one():
    at = open_step(2)
    assert at.segmented_control(key="step").value == "2"
    at.button(key="lesson_next").click().run()
    assert at.segmented_control(key="step").value == "3" and L.STEPS[2].question in markdown(at)
    at.button(key="lesson_back").click().run()
    assert at.segmented_control(key="step").value == "2"
    at = open_step(99)
    assert at.segmented_control(key="step").value == "1" and "not a valid step" in " ".join(i.value for i in at.info)
