"""The Lesson page in AppTest: every step predicted, revealed, and its takeaway equal to the computation it reports;
a changed setting changes the text; each step opens from its own link, and the links made before step 0 existed
(?step=1 ... ?step=7) still open the same steps."""

import html
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
@pytest.mark.parametrize("k", range(len(L.STEPS)))
def test_every_step_predicts_reveals_and_says_what_the_computation_says(k):
    step = L.STEPS[k]
    at = open_step(k)
    assert f"Step {k} of {len(L.STEPS) - 1}" in str(at.get("progress")[0].proto.text)
    assert step.question in markdown(at)
    assert not at.get("plotly_chart")  # nothing is revealed before the learner predicts
    guess = L.choices(step, step.options[0])[0]
    at.radio(key=f"lesson_guess_{step.key}_{step.options[0]}").set_value(guess).run()
    at.button(key=f"lesson_reveal_{step.key}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    truth = L.REVEALS[step.key](step.options[0])  # the computation, run here on its own
    assert truth.takeaway in markdown(at)
    assert L.verdict(guess, truth) in markdown(at)
    full = "Open the full page with these settings" in [p.proto.label for p in at.get("page_link")]
    assert at.get("plotly_chart") and full == (step.page is not None)


def test_a_new_setting_gives_a_new_takeaway_from_its_own_numbers():
    step = L.STEPS[1]  # the identity argument: cheap
    at = open_step(1, lesson_identity="56")
    at.button(key="lesson_reveal_identity").click().run()
    assert L.REVEALS["identity"](56).takeaway in markdown(at)
    assert "ResNet-56" in markdown(at) and "ResNet-20" not in markdown(at)
    at.segmented_control(key="lesson_identity").set_value(step.options[0]).run()
    at.button(key="lesson_reveal_identity").click().run()
    assert L.REVEALS["identity"](step.options[0]).takeaway in markdown(at)


def test_back_and_next_walk_the_steps_and_a_bad_link_falls_back_to_step_zero():
    at = open_step(2)
    assert at.segmented_control(key="step").value == "2"
    at.button(key="lesson_next").click().run()
    assert at.segmented_control(key="step").value == "3" and L.STEPS[3].question in markdown(at)
    at.button(key="lesson_back").click().run()
    assert at.segmented_control(key="step").value == "2"
    at = open_step(99)
    assert at.segmented_control(key="step").value == "0" and "not a valid step" in " ".join(i.value for i in at.info)


# The step each link reached before step 0 was added (the lesson then began at ?step=1 with the identity argument).
LINKS_BEFORE_STEP_ZERO = {1: "identity", 2: "gradient", 3: "degradation", 4: "residuals", 5: "lesion", 6: "landscape",
                          7: "designs"}


def test_links_made_before_step_zero_still_open_the_same_steps():
    for k, key in LINKS_BEFORE_STEP_ZERO.items():
        at = open_step(k)
        step = next(s for s in L.STEPS if s.key == key)
        assert step.question in markdown(at), (k, key)


def test_the_chain_step_opens_first_and_its_layers_slider_changes_the_numbers():
    at = open_step(0, lesson_chain_layers="20")
    assert L.STEPS[0].key == "chain" and L.STEPS[0].question in markdown(at)
    at.radio(key="lesson_guess_chain_0.1").set_value(L.CHAIN_ANSWERS[1]).run()
    at.button(key="lesson_reveal_chain").click().run()
    assert L.chain_step(0.1, layers=20).takeaway in markdown(at) and "Your prediction was right." in markdown(at)
    at.select_slider(key="lesson_chain_layers").set_value(100).run()
    assert L.chain_step(0.1, layers=100).takeaway in markdown(at) and "With 100 layers" in markdown(at)
    assert "Open the full page" not in [p.proto.label for p in at.get("page_link")]  # the step is its own page


def test_the_report_holds_the_question_the_prediction_and_the_answer_in_words():
    from frame import report

    at = open_step(0)
    at.radio(key="lesson_guess_chain_0.1").set_value(L.CHAIN_ANSWERS[0]).run()
    at.button(key="lesson_reveal_chain").click().run()
    page = report.html_file("Lesson", at.session_state["_skiplab_report"])
    truth = L.chain_step(0.1)
    assert "<b>Your prediction:</b> " + html.escape(L.CHAIN_ANSWERS[0]) in page
    for words in (L.STEPS[0].question, truth.answer, truth.takeaway, "spread of f' 0.1, layers 50"):
        assert html.escape(words) in page, words
    assert "lesson_guess" not in page.split("<h3>Lesson step 0")[1]  # words, not widget keys


def test_each_steps_page_link_names_models_as_the_pages_pickers_hold_them():
    """A step's "Open the full page" link must be taken by the page: its model pickers show (and so their links hold)
    the names a person reads, not zoo ids; a link with ids falls back to the page's defaults with a note."""
    from models import zoo
    from viz.words import model_name

    ids = set(zoo.list().name)
    names = {model_name(n) for n in ids}
    for step in L.STEPS:
        for setting in step.options:
            for key, value in L.query(step, setting).items():
                if key in ("res_models", "ins_model", "res_path_model"):
                    values = value if isinstance(value, list) else [value]
                    assert set(values) <= names and not set(values) & ids, (step.key, key, values)
