"""A 1280 x 720 projector with ?present=true (issue 24): on every page of app.py's navigation the main chart (the
first one drawn) and its one-sentence finding lie whole within the first screen, and no two text boxes of any chart
(title, legend entries, annotations, axis titles) overlap. Screenshots: artifacts/present-<page>.png."""

import pytest

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_first_screens import PAGES, fresh, settle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCREEN = (1280, 720)
# The first chart and the first finding (frame.draw.show_chart keys its finding "finding-<n>") as boxes in the viewport.
FIRST = """() => { const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
                                       return {top: r.top, bottom: r.bottom, text: e.innerText.trim()}; };
                   return {chart: box(document.querySelector('.stPlotlyChart')),
                           finding: box(document.querySelector('[class*="st-key-finding-"]'))}; }"""
# Every chart's text boxes that could collide: the title, legend entries, annotations, axis titles.
TEXTS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(p =>
  [...p.querySelectorAll('text.gtitle, text.legendtext, text.annotation-text, .infolayer text[class*="title"]')]
    .filter(t => t.textContent.trim() && t.getBoundingClientRect().width > 0)
    .map(t => { const b = t.getBoundingClientRect();
                return {what: t.textContent.trim().slice(0, 50), l: b.left, t: b.top, r: b.right, b: b.bottom}; }))"""
# Pages whose first screen is not yet what the issue asks for; each names what is still wrong (strict: a fix shows).
NOT_YET: dict[str, str] = {}


def overlaps(texts: list[dict], slack: float = 2.0) -> list[tuple[str, str]]:
    """The pairs of text boxes that overlap by more than `slack` px both ways."""
    return [(a["what"], b["what"]) for i, a in enumerate(texts) for b in texts[i + 1:]
            if min(a["r"], b["r"]) - max(a["l"], b["l"]) > slack and min(a["b"], b["b"]) - max(a["t"], b["t"]) > slack]


def test_overlaps_finds_crossing_boxes_and_passes_neighbours():
    def box(what, left, top, right, bottom):
        return dict(what=what, l=left, t=top, r=right, b=bottom)

    assert overlaps([box("title", 0, 0, 100, 20), box("legend", 90, 10, 150, 30)]) == [("title", "legend")]
    assert overlaps([box("title", 0, 0, 100, 20), box("legend", 99, 0, 150, 20)]) == []


def lesson_revealed(page):
    """The lesson draws its chart once a step is revealed: reveal step 1."""
    page.get_by_role("button", name="Reveal the answer").click()
    page.wait_for_selector(".stPlotlyChart .main-svg .trace", state="attached")
    settle(page)
    page.wait_for_timeout(1500)  # the scroll to the answer


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.xfail(reason=NOT_YET[p or "home"], strict=False))
                                  if (p or "home") in NOT_YET else p for p in PAGES],
                         ids=[p or "home" for p in PAGES])
def test_presenting_at_1280x720_the_main_chart_and_its_finding_fit_the_first_screen(browser, app_url, path):
    name = path or "home"
    query = "step=1&present=true" if path == "lesson" else "present=true"
    with fresh(browser, f"{app_url}/{path}?{query}", *SCREEN) as page:
        settle(page)
        if path == "lesson":
            lesson_revealed(page)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / f"present-{name}.png"))
        first = page.evaluate(FIRST)
        collisions = {i: overlaps(t) for i, t in enumerate(page.evaluate(TEXTS)) if overlaps(t)}
    chart, finding = first["chart"], first["finding"]
    assert chart is not None, f"{name}: no chart drawn"
    assert finding is not None and finding["text"], f"{name}: the first chart has no finding sentence"
    for what, box in (("main chart", chart), ("finding", finding)):
        assert 0 <= box["top"] and box["bottom"] <= SCREEN[1], \
            f"{name}: the {what} spans {box['top']:.0f} to {box['bottom']:.0f} px, not within the first {SCREEN[1]} px"
    assert not collisions, f"{name}: overlapping chart text (chart index: pairs): {collisions}"
