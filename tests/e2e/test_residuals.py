"""The Residuals page in a real browser: server up, script finished, Plotly charts drawn, screenshot."""

import pytest

pytestmark = pytest.mark.e2e


def test_residuals_page_renders_charts(open_page, wait_for_run, shot):
    page = open_page("residuals", query="res_n=100")  # ?res_n= sets the number of test images
    if page.get_by_text("No trained model is in the zoo yet").count():
        shot("residuals")
        pytest.skip("no zoo model to measure: the page says so (screenshot taken)")
    page.wait_for_function(
        "[...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('.trace')).length >= 2"
    )
    assert page.get_by_text("He et al. 2015").count() >= 1  # the paper's finding beside ours
    assert page.locator('[data-testid="stSidebar"] [data-testid="stPageLink"]').get_by_text("Residuals").count() >= 1
    path = shot("residuals")
    assert path.stat().st_size > 10_000

    assert page.get_by_text("100 test images of").count() == 1
    page.get_by_text("Lesions", exact=True).click()  # the radio option (its value is what a link holds)
    wait_for_run(rerun=True)
    page.wait_for_function(
        "[...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('.trace')).length >= 1"
    )
    assert page.get_by_text("Veit et al. 2016").count() >= 1
    shot("residuals_lesions")
