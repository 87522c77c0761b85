"""Through nginx in front of two replicas (deploy/replicas.py): Chromium uploads a photo on Inspect and gets its
block maps. Streamlit keeps an upload in the memory of the replica that holds the session, so this is the case that
breaks without sticky sessions; nginx's log shows the websocket and the upload reached the same replica."""

import shutil

import pytest
from PIL import Image

from deploy import replicas
from tests.deploy.test_replicas import access_log
from tests.e2e.conftest import IN_CI, _require_browser
from tests.models.test_uploads import photo

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    _require_browser()
    if not shutil.which("nginx"):
        (pytest.fail if IN_CI else pytest.skip)("nginx is not installed (apt-get install nginx)")
    run_dir = tmp_path_factory.mktemp("replicas-e2e")
    env = {"SKIPLAB_ZOO": str(tmp_path_factory.mktemp("zoo")), "SKIPLAB_WARMUP": "0"}
    with replicas.running(2, run_dir=run_dir, env=env) as state:
        yield state, run_dir


@pytest.fixture(scope="module")
def app_url(topology):  # (the e2e fixtures open pages here: nginx, not one server)
    return topology[0]["url"]


def test_upload_through_nginx_reaches_the_sessions_replica(open_page, wait_for_run, charts, topology, tmp_path):
    _, run_dir = topology
    path = tmp_path / "holiday.jpg"
    Image.fromarray(photo(320, 240, seed=3)).save(path, "JPEG", quality=90)
    page = open_page("inspect", "ins_src=Upload")
    uploader = page.locator('[data-testid="stFileUploader"]')
    with page.expect_file_chooser() as chooser:
        uploader.get_by_role("button", name="Upload", exact=True).click()
    chooser.value.set_files(str(path))
    wait_for_run()
    page.get_by_text("Top class:").first.wait_for()
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Every block", exact=True).click()
    wait_for_run()
    maps = page.locator(".js-plotly-plot").filter(has_text="Inside every block")
    maps.first.wait_for()
    charts(3)
    assert maps.locator(".hm image").count() >= 9  # x, F(x) and out for every block of the opened model
    route = next(c["value"] for c in page.context.cookies() if c["name"] == "skiplab_route")
    log = [row for row in access_log(run_dir) if row["route"] == route]
    uploads = {row["upstream"] for row in log if "/_stcore/upload_file/" in row["request"]}
    served = {row["upstream"] for row in log if row["upstream"] != "-"}  # (a static file nginx had cached: "-")
    assert uploads and len(served) == 1, (uploads, served)  # (the websocket is logged when it closes)
