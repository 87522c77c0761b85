"""Classroom features in a real browser: links that reopen a view, a bad link's note, presentation mode,
and the HTML report of a page (issue 7)."""

from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = pytest.mark.e2e


def _captions(page):
    return " ".join(page.locator('[data-testid="stCaptionContainer"]').all_inner_texts())


def _checked(page, label: str) -> str:
    """The option of the st.radio labelled `label` that is selected."""
    group = page.locator('[data-testid="stRadio"]').filter(has_text=label)
    return group.locator("label:has(input:checked)").first.inner_text().strip()


def test_a_link_reopens_the_exact_view(open_page, wait_for_run, charts, browser, app_url, shot):
    query = "depth=20&norm=none&activation=tanh&init=xavier&seed=3&skip_off=2"
    page = open_page("gradient_flow", query)
    charts(2)  # the picture and the chart under it
    text = _captions(page)
    assert "ResNet-20 (6 of 9 skips)" in text and "plain-20" in text, text[:400]
    assert _checked(page, "Normalization") == "none" and _checked(page, "Activation") == "tanh"
    assert page.locator('[data-testid="stAlertContentInfo"]').filter(has_text="link").count() == 0
    # A change in the page is written to the URL, so the address bar is always a shareable link ...
    page.locator('[data-testid="stRadio"]').filter(has_text="Activation").locator("label").filter(
        has_text="sigmoid").first.click()
    wait_for_run()
    page.wait_for_function("() => location.search.includes('activation=sigmoid')")
    link = page.url
    assert parse_qs(urlparse(link).query) == {"depth": ["20"], "norm": ["none"], "activation": ["sigmoid"],
                                              "init": ["xavier"], "seed": ["3"], "skip_off": ["2"]}  # plain values
    charts(2)  # the picture and the chart under it
    want = _captions(page)
    # ... which a second browser (a student) opens to the same view and the same numbers.
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = ctx.new_page()
        other.goto(link, wait_until="domcontentloaded")
        from tests.e2e.conftest import wait_for_app, wait_for_charts

        wait_for_app(other)
        wait_for_charts(other, 2)
        assert _checked(other, "Activation") == "sigmoid"
        assert _captions(other) == want
    finally:
        ctx.close()
    shot("classroom_link")


def test_a_nonsense_link_falls_back_with_a_note(open_page, charts, shot):
    page = open_page("gradient_flow", "depth=abc&batch=100000&init=Glorot&norm=none&activation=sigmoid")
    charts(2)  # the picture and the chart under it
    notes = page.locator('[data-testid="stAlertContentInfo"]').all_inner_texts()
    text = " ".join(notes)
    assert "depth=abc is not a valid depth; using 56" in text, notes
    assert "batch=100000 is not a valid batch size" in text and "using 32" in text, notes
    assert "init=Glorot" in text and "kaiming, xavier, zero_residual" in text, notes  # what a link may say
    assert "norm=" not in text and "activation=" not in text  # the valid values were taken quietly ...
    assert _checked(page, "Normalization") == "none" and _checked(page, "Activation") == "sigmoid"
    assert "ResNet-56" in _captions(page)  # ... and the bad ones fell back to the defaults
    q = parse_qs(urlparse(page.url).query)
    assert "depth" not in q and "batch" not in q and "init" not in q  # Streamlit removed the bad values
    assert q.get("norm") == ["none"] and q.get("activation") == ["sigmoid"]
    shot("classroom_bad_link")


def test_presentation_mode(open_page, charts, shot):
    page = open_page("gradient_flow", "present=true&depth=20")
    charts(2)  # the picture and the chart under it
    assert page.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "20px"
    assert page.locator('[data-testid="stSidebar"][data-collapsed="true"]').count() == 1  # tucked away
    assert page.locator('[data-testid="stExpander"]').first.is_hidden()  # the tables are hidden
    heights = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(p => p.offsetHeight)")
    assert min(heights) >= 300, heights  # readable from the back, yet within the first screen (test_projector)
    shot("classroom_presentation")


def test_html_report_of_a_page(open_page, charts, tmp_path):
    page = open_page("gradient_flow", "depth=14")
    n = charts(2)
    with page.expect_download() as dl:
        page.locator('[data-testid="stSidebar"]').get_by_role("button", name="HTML report of this page").click()
    path = tmp_path / "report.html"
    dl.value.save_as(path)
    html = path.read_text()
    assert html.count("<table") == 2  # the layers and blocks tables
    assert html.count('class="plotly-graph-div"') == n == 2  # the picture and the chart under it (Show: one at a time)
    assert html.count("plotly.js v") == 1 and "<script src=" not in html  # one inlined copy: opens offline
    assert "ResNet-14" in html and "Depth (6n+2 layers): 14" in html  # the settings in words (label: value)


def test_two_quick_clicks_give_one_result(open_page, wait_for_run, charts):
    """A click while the page is still computing interrupts that run (Streamlit reruns one script per session,
    never two at once): the page ends showing the last click's result, drawn once."""
    page = open_page("gradient_flow", "depth=110&seed=7")
    charts(2)
    group = page.locator('[data-testid="stRadio"]').filter(has_text="Activation")
    group.locator("label").filter(has_text="tanh").first.click()
    page.wait_for_timeout(150)  # the tanh run has started (ResNet-110 takes seconds on a CPU)
    group.locator("label").filter(has_text="sigmoid").first.click()
    wait_for_run()
    n = charts(2)  # the picture and the chart under it (Show picks one at a time)
    assert n == 2 and page.locator(".js-plotly-plot").count() == 2  # one set of charts, not two
    assert _checked(page, "Activation") == "sigmoid"
    page.wait_for_function("() => location.search.includes('activation=sigmoid')")
    assert "ResNet-110" in _captions(page)
