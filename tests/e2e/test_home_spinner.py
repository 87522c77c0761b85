"""Home's first view says what it is building while it builds (issue 24): a spinner with words, not a blank."""

import pytest

from tests.e2e.test_first_screens import fresh, settle

pytestmark = pytest.mark.e2e

SPINNER = '[data-testid="stSpinner"]'


def test_home_shows_a_spinner_with_words_while_it_builds(browser, app_url):
    # depth 110: a probe no other test has cached, long enough to be seen on any machine
    with fresh(browser, f"{app_url}/?home_depth=110") as page:
        spinner = page.locator(SPINNER).filter(has_text="Building ResNet-110 and its plain twin")
        spinner.first.wait_for(state="visible", timeout=120_000)
        settle(page)
        assert page.locator(SPINNER).count() == 0, "the spinner stays after the page is built"
        assert page.locator(".js-plotly-plot").count() >= 1
