"""The Train page in a real browser: a tiny run draws live curves and is saved; Stop ends a run."""

import pytest

pytestmark = pytest.mark.e2e


def _small(page, wait_for_run, epochs: str):
    """Depth 8, residual only, `epochs` epochs, 500 training images: set as a user would."""
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Depth").click()
    page.get_by_role("option", name="8", exact=True).click()
    wait_for_run()
    page.locator('[data-testid="stRadio"]').filter(has_text="Network").locator("label").filter(has_text="residual").click()
    wait_for_run()
    box = page.locator('[data-testid="stNumberInput"]').filter(has_text="Epochs").locator("input")
    box.fill(epochs)
    box.press("Enter")
    wait_for_run()
    page.locator('[data-testid="stSlider"]').filter(has_text="Training images").get_by_role("slider").press("Home")
    wait_for_run()


def test_train_page_trains_and_draws(open_page, wait_for_run, charts, shot):
    page = open_page("train")
    assert charts(1) >= 1  # the Degradation chart (from the shipped histories)
    deg = page.locator('[data-testid="stRadio"]').filter(has_text="Shipped models trained on")
    assert deg.locator("label").filter(has_text="shapes").count() == 1  # its data-set choice
    assert page.get_by_text("error while training").count() >= 1  # the Degradation chart's title
    _small(page, wait_for_run, "2")
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_run()
    page.get_by_text("Saved as").first.wait_for()
    assert charts(3) >= 3  # live loss and accuracy curves, plus the Degradation chart
    assert page.locator('[data-testid="stProgress"]').count() == 1
    assert "Done." in page.locator('[data-testid="stProgress"]').inner_text()
    path = shot("train")
    assert path.stat().st_size > 20_000


def test_stop_button_ends_a_run(open_page, wait_for_run):
    page = open_page("train")
    _small(page, wait_for_run, "30")  # far longer than the test waits
    page.get_by_role("button", name="Train", exact=True).click()
    page.locator('[data-testid="stProgress"]').get_by_text("step").first.wait_for(timeout=120_000)
    page.get_by_role("button", name="Stop", exact=True).click()
    wait_for_run()
    warning = page.locator('[data-testid="stAlertContentWarning"]')
    warning.first.wait_for()
    assert "Stopped" in warning.first.inner_text()
