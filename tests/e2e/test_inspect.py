"""The Inspect page in a real browser: a photo through the real file chooser, predictions and block maps drawn."""

import pytest
from PIL import Image

from tests.models.test_uploads import photo

pytestmark = pytest.mark.e2e


def test_upload_a_photo_and_look_inside(open_page, wait_for_run, charts, shot, tmp_path):
    path = tmp_path / "holiday.jpg"
    Image.fromarray(photo(640, 480, seed=7)).save(path, "JPEG", quality=90)
    page = open_page("inspect", "ins_src=Upload")  # (the page opens on a gallery image)
    uploader = page.locator('[data-testid="stFileUploader"]')
    with page.expect_file_chooser() as chooser:  # what a user's click on "Browse files" opens
        uploader.get_by_role("button", name="Upload", exact=True).click()
    chooser.value.set_files(str(path))
    wait_for_run()
    page.get_by_text("Top class:").first.wait_for()
    assert charts(3) >= 3  # the photo, its 32x32 and the top-5, then the picture and the opened block
    # the product changed on purpose (issue 16): every block's maps and sizes are drawn on demand, one click away
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Every block", exact=True).click()
    wait_for_run()
    page.locator(".js-plotly-plot").filter(has_text="Inside every block").first.wait_for()
    charts(3)  # (the charts with SVG traces: top-5, the picture, ||F||/||x||; images and heat maps are drawn apart)
    maps = page.locator(".js-plotly-plot").filter(has_text="Inside every block")
    assert maps.count() == 1
    n_blocks = len(page.locator(".js-plotly-plot").filter(has_text="‖F(x)‖ / ‖x‖ per block").locator(".point").all())
    assert n_blocks >= 3
    assert maps.locator(".hm image").count() == 3 * n_blocks  # x, F(x), out: drawn heat maps for every block
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlert"]').filter(has_text="Could not").count() == 0
    assert page.get_by_text("Not square (640 x 480)").count() >= 1  # the centre crop is said
    path = shot("inspect")
    assert path.stat().st_size > 50_000
