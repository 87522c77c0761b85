"""Every page of the app in a real browser, with its default settings: drawn, no error, one screenshot each.

The screenshots (`artifacts/screenshots/page-<slug>.png`) are the README's pictures:
`python docs/update_screenshots.py` copies them, shrunk, into docs/screenshots/.
"""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

APP = Path(__file__).resolve().parents[2] / "app.py"

# (URL path, screenshot slug, the page's heading, its label in the navigation, Plotly charts it draws by default)
PAGES = [
    ("", "home", "skiplab", "Home", 2),
    ("lesson", "lesson", "Lesson: why the skip works", "Lesson", 0),  # a step's chart appears once it is revealed
    # (issue 16: Gradient flow, Inspect and Shattered draw one picture and one chart first; Show picks the rest)
    ("gradient_flow", "gradient-flow", "Gradient flow", "Gradient flow", 2),  # the picture, the layer gradients
    ("inspect", "inspect", "Inspect: look inside every block", "Inspect", 5),  # on the gallery: image, 32x32, top-5,
    # the picture, the block
    ("residuals", "residuals", "Residuals", "Residuals", 2),
    ("landscape", "landscape", "Loss landscapes", "Loss landscape", 1),
    ("shattered", "shattered", "Shattered gradients", "Shattered gradients", 1),
    ("designs", "designs", "Skip designs", "Skip designs", 2),
    ("beyond", "beyond", "Beyond ResNet", "Beyond ResNet", 1),  # the refinement view; Show picks the norm-free one
    ("transformer", "transformer", "Transformer stream", "Transformer stream", 3),  # gradients, ratios, stream
    ("train", "train", "Train", "Train", 3),  # last: its run saves models to the server's zoo
]


# A Plotly chart is drawn once Plotly has laid out its data and its SVG: images and heat maps hold no `.trace`.
DRAWN = "[...document.querySelectorAll('.js-plotly-plot')].filter(p => p._fullData && p._fullData.length && p.querySelector('.main-svg')).length"


def drawn(page) -> int:
    return page.evaluate(f"() => {DRAWN}")


def wait_drawn(page, n: int) -> int:
    """Wait until at least n charts are drawn, or an exception shows; the number drawn."""
    page.wait_for_function(f"n => document.querySelector('[data-testid=\"stException\"]') || {DRAWN} >= n", arg=n)
    return drawn(page)


def prepare_inspect(page, wait_for_run):
    """Inspect opens on a gallery image of the model's own data set."""
    page.get_by_text("Top class:").first.wait_for()


def prepare_train(page, wait_for_run):
    """A short live run so the picture shows the curves: depth 8 (the default), both nets, 2 epochs of 500 images."""
    page.locator('[data-testid="stRadio"]').filter(has_text="Network").get_by_text("both", exact=True).click()
    wait_for_run()
    page.locator('[data-testid="stSlider"]').filter(has_text="Training images").get_by_role("slider").press("Home")
    wait_for_run()
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_run(timeout_ms=300_000)
    saved = page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="Saved as")
    assert saved.count() == 2, "both the residual and the plain net should be saved"
    assert "Done." in page.locator('[data-testid="stProgress"]').inner_text()


PREPARE = {"inspect": prepare_inspect, "train": prepare_train}


def test_every_page_is_listed():
    """A page added to app.py's navigation without a screenshot here fails this test."""
    listed = re.findall(r'st\.Page\("pages/(\w+)\.py", title="([^"]+)"', APP.read_text())
    assert len(listed) == len(PAGES) == 11
    assert {(f if f != "home" else "", t) for f, t in listed} == {(p[0], p[3]) for p in PAGES}


@pytest.mark.parametrize("path,slug,heading,nav,n_charts", PAGES, ids=[p[1] for p in PAGES])
def test_page_screenshot(open_page, wait_for_run, shot, path, slug, heading, nav, n_charts):
    page = open_page(path)
    if slug in PREPARE:
        PREPARE[slug](page, wait_for_run)
    wait_drawn(page, n_charts)
    page.wait_for_timeout(500)  # a chart that arrives late would be counted below
    assert drawn(page) == n_charts == page.locator(".js-plotly-plot").count(), "every chart on the page is drawn"
    sizes = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(p => [p.offsetWidth, p.offsetHeight])")
    assert all(w >= 200 and h >= 150 for w, h in sizes), sizes  # none collapsed to a sliver
    assert page.locator('[data-testid="stException"]').count() == 0
    errors = page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
    assert not errors, errors  # ui.guard turns a failure into st.error, which is no exception: look for it too
    assert page.get_by_role("heading", name=heading, exact=True).count() == 1
    assert page.locator('[data-testid="stSidebar"] [data-testid="stPageLink"]').get_by_text(nav, exact=True).count() == 1
    if slug == "home":  # the guide links every other page
        assert page.locator('[data-testid="stMain"] [data-testid="stPageLink"]').count() == len(PAGES) - 1
    path_png = shot(f"page-{slug}")
    assert path_png.stat().st_size > 20_000  # a real picture, not a blank page
