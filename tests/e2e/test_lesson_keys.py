"""The lesson on a projector (issue 24): Reveal brings the highlighted answer, with the step number and the
prediction, into view; the arrow keys move between steps (Next and Back's Streamlit shortcuts)."""

import pytest

from tests.e2e.test_first_screens import fresh, settle

pytestmark = pytest.mark.e2e

STEP = '[data-testid="stProgress"]'
ANSWER = ".st-key-lesson-answer"


def step_text(page) -> str:
    return page.locator(STEP).first.inner_text()


def test_reveal_scrolls_to_the_answer_and_arrow_keys_move_steps(browser, app_url):
    with fresh(browser, f"{app_url}/lesson?step=2&present=true", 1280, 720) as page:
        settle(page)
        assert "Step 2 of" in step_text(page)
        page.get_by_role("radiogroup").locator("label").first.click()
        choice = page.get_by_role("radiogroup").locator("label").first.inner_text().strip()
        page.get_by_role("button", name="Reveal the answer").click()
        page.locator(ANSWER).wait_for(state="visible")
        settle(page)
        page.wait_for_timeout(1500)  # the scroll
        box = page.locator(ANSWER).bounding_box()
        assert box is not None and 0 <= box["y"] < 200, f"the answer is not scrolled into view: {box}"
        answer = page.locator(ANSWER).inner_text()
        assert "Step 2 of" in answer and f"You predicted “{choice}”." in answer
        chart = page.locator(f"{ANSWER} .stPlotlyChart").bounding_box()
        assert chart is not None and chart["y"] + chart["height"] <= 720, f"the answer's chart is cut off: {chart}"
        background = page.locator(ANSWER).evaluate("e => getComputedStyle(e).borderLeftWidth")
        assert background == "6px", "the answer is not highlighted"

        page.evaluate("() => document.activeElement && document.activeElement.blur()")  # keys to the page, not a widget
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => document.querySelector('[data-testid=\"stProgress\"]').innerText.includes('Step 3 of')")
        settle(page)
        assert "step=3" in page.url
        page.keyboard.press("ArrowLeft")
        page.wait_for_function("() => document.querySelector('[data-testid=\"stProgress\"]').innerText.includes('Step 2 of')")
        settle(page)
        assert "step=2" in page.url
