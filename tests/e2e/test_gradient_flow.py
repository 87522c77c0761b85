"""The Gradient-flow page in a real browser: server up, script finished, Plotly charts drawn."""

import pytest

pytestmark = pytest.mark.e2e


def test_gradient_flow_renders_charts(open_page, charts, shot):
    page = open_page("gradient_flow")
    # Plotly draws after the script run: the picture and the chart under it, each holding drawn data (an SVG trace);
    # the product changed on purpose (issue 16): a first view draws those two, the other five are one click away
    assert charts(2) >= 2
    assert page.locator('[data-testid="stException"]').count() == 0
    # the navigation is its own message: wait for it (CI, 2 busy cores, once drew the charts before the sidebar)
    page.locator('[data-testid="stSidebar"] [data-testid="stPageLink"]').get_by_text("Gradient flow").first.wait_for(
        timeout=30_000)
    path = shot("gradient_flow")
    assert path.stat().st_size > 10_000  # a real picture, not a blank page


def _captions(page):
    return page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()


def _radio(page, label: str, option: str):
    """Click `option` of the st.radio labelled `label`, as a user would."""
    group = page.locator('[data-testid="stRadio"]').filter(has_text=label)
    group.locator("label").filter(has_text=option).first.click()


def test_gradient_flow_reruns_in_the_browser(open_page, wait_for_run, charts, shot):
    """Change settings over the websocket: the page reruns, redraws its charts and rewrites its captions.

    Sigmoid without normalisation is where gradients vanish, down to exact zeros in float32 for a deep
    plain net: the log-scale charts and the captions must survive it.
    """
    page = open_page("gradient_flow")
    charts(2)  # (the picture and the chart under it: a first view draws two)
    before = _captions(page)
    _radio(page, "Normalization", "none")
    wait_for_run()
    _radio(page, "Activation", "sigmoid")
    wait_for_run()
    assert charts(2) >= 2
    after = _captions(page)
    assert after and after != before, "the captions did not change after switching to sigmoid without BatchNorm"
    shot("gradient_flow_sigmoid_nonorm")


def test_a_table_downloads_as_csv_when_clicked(open_page, charts, tmp_path):
    """The CSV is written when its button is clicked (frame.draw.csv_download passes a callable), not on every run:
    the file holds the table the page shows, and the click reruns nothing."""
    page = open_page("gradient_flow", "depth=8")
    charts(2)
    page.get_by_text("The tables behind the charts").click()
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download layers (CSV)").click()
    path = tmp_path / "layers.csv"
    dl.value.save_as(path)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("network,") and "grad_norm" in lines[0], lines[0]
    assert {line.split(",")[0] for line in lines[1:]} == {"ResNet-8", "plain-8"}
    assert dl.value.suggested_filename == "gradient_flow_layers.csv"
    assert page.locator('[data-testid="stException"]').count() == 0
