"""What a newcomer and a projector meet first, in a real browser: at most 250 visible words of prose (chart labels
not counted) on every page's first view; with ?present=true at 1280 x 720 every page's first chart starts on the first screen; every lesson step
opens from its own link in a fresh browser."""

import contextlib
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import screenshot, wait_for_app

pytestmark = pytest.mark.e2e

APP = Path(__file__).resolve().parents[2] / "app.py"
PAGES = [p if p != "home" else "" for p in re.findall(r'st\.Page\("pages/(\w+)\.py"', APP.read_text())]
WORDS = 250
# the visible words of prose in the main area: a collapsed expander or a closed popover is not rendered, so not
# counted, and the words drawn inside a chart (axis titles, labels of the network picture) are no prose
VISIBLE_WORDS = """() => { const m = document.querySelector('[data-testid="stMainBlockContainer"]');
                           const count = t => (t.match(/[A-Za-z]{2,}/g) || []).length;
                           const drawn = [...m.querySelectorAll('.js-plotly-plot')].map(p => count(p.innerText));
                           return count(m.innerText) - drawn.reduce((a, b) => a + b, 0); }"""
DRAWN = "[...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('.main-svg')).length"


@contextlib.contextmanager
def fresh(browser, url, width=1400, height=1000):
    """A new browser context (a newcomer: no state) opened on url; closed after the block."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = ctx.new_page()
        page.set_default_timeout(300_000)
        page.goto(url, wait_until="domcontentloaded")
        yield page
    finally:
        ctx.close()


def settle(page):
    """Wait until the run is over and every chart on the page is drawn."""
    wait_for_app(page)
    page.wait_for_function(f"() => {DRAWN} === document.querySelectorAll('.js-plotly-plot').length")


@pytest.mark.parametrize("path", PAGES, ids=[p or "home" for p in PAGES])
def test_a_first_view_shows_at_most_250_words(browser, app_url, path):
    with fresh(browser, f"{app_url}/{path}") as page:
        settle(page)
        words = page.evaluate(VISIBLE_WORDS)
        assert words <= WORDS, f"{path or 'home'}: {words} visible words on the first view"


@pytest.mark.parametrize("path", PAGES, ids=[p or "home" for p in PAGES])
def test_presenting_at_1280x720_the_first_chart_starts_on_the_first_screen(browser, app_url, path):
    with fresh(browser, f"{app_url}/{path}?present=true", 1280, 720) as page:
        settle(page)
        tops = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(p => p.getBoundingClientRect().top)")
        if tops:  # (the lesson shows its chart only once a step is revealed)
            assert min(tops) < 720, f"{path or 'home'}: the first chart starts at {min(tops):.0f} px"
        screenshot(page, f"present-{path or 'home'}", full=False)


def test_every_lesson_step_opens_from_its_own_link(browser, app_url):
    from viz.measures.lesson import STEPS

    for k, step in enumerate(STEPS):
        for present in (False, True):
            size = (1280, 720) if present else (1400, 1000)
            with fresh(browser, f"{app_url}/lesson?step={k}" + ("&present=true" if present else ""), *size) as page:
                wait_for_app(page)
                page.get_by_text(f"Step {k} of {len(STEPS) - 1}").first.wait_for()
                assert page.get_by_text(step.question).count() >= 1
                screenshot(page, f"lesson-step{k}{'-present' if present else ''}", full=not present)
