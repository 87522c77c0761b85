"""The image (deploy/Dockerfile) builds on Debian's own packages and serves: `python -m deploy.image build`, then a
container answers /_stcore/health, runs as a non-root user and Docker's HEALTHCHECK calls it healthy. Needs a Docker
daemon (started here when none answers and we are root); skipped with the reason where none can run, a failure
under CI=true. A fresh machine pays for debootstrap and pip (about 11 minutes on 2 busy cores); later runs reuse the
cached root tarball and Docker's layers."""

import os
import secrets
import time
import urllib.request

import pytest

from deploy import image
from deploy.replicas import free_port

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TAG = "skiplab:test"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def daemon():
    why = image.start_daemon(image.cache_dir() / "dockerd.log")
    if why is not None:
        (pytest.fail if IN_CI else pytest.skip)(why)


def wait_until(check, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(1)
    return False


def health(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=3) as r:
            return r.read() == b"ok"
    except OSError:
        return False


@pytest.mark.timeout(1800)
def test_the_image_builds_and_a_container_is_healthy(daemon):
    built = image.build(TAG)
    print(f"image: base {built['base']:.0f} s, docker build {built['build']:.0f} s")
    port = free_port()
    run = image.docker("run", "-d", "--rm", "-p", f"127.0.0.1:{port}:8501", "-e", "SKIPLAB_WARMUP=0",
                       "-e", f"STREAMLIT_SERVER_COOKIE_SECRET={secrets.token_hex(16)}", TAG, capture=True)
    cid = run.stdout.strip()
    try:
        assert wait_until(lambda: health(f"http://127.0.0.1:{port}"), 180), image.docker(
            "logs", cid, check=False, capture=True).stdout[-2000:]
        uid = image.docker("exec", cid, "id", "-u", capture=True).stdout.strip()
        assert uid != "0"
        torch = image.docker("exec", cid, "python", "-c", "import torch; print(torch.__version__)", capture=True)
        assert torch.stdout.strip().endswith("+cpu")

        def status():
            return image.docker("inspect", "--format", "{{.State.Health.Status}}", cid, capture=True).stdout.strip()

        assert wait_until(lambda: status() == "healthy", 150), status()  # Docker's own HEALTHCHECK
    finally:
        image.docker("rm", "-f", cid, check=False, capture=True)
