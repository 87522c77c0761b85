"""The Gradient-flow page in a real browser: server up, script finished, Plotly charts drawn."""

import pytest

pytestmark = pytest.mark.e2e


def test_gradient_flow_renders_charts(open_page, shot):
    page = open_page("gradient_flow")
    # Plotly draws asynchronously after the script run: wait for at least 3 chart roots ...
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 3")
    # ... each holding drawn data (an SVG trace group), not an empty frame.
    page.wait_for_function(
        "[...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('.main-svg .trace')).length >= 3"
    )
    charts = page.locator(".js-plotly-plot")
    assert charts.count() >= 3
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stSidebarNav"]').get_by_text("Gradient flow").count() >= 1
    path = shot("gradient_flow")
    assert path.stat().st_size > 10_000  # a real picture, not a blank page
