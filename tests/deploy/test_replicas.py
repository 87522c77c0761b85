"""Two replicas behind Debian's nginx (deploy/replicas.py with deploy/nginx.conf): health through nginx, sticky
sessions, Streamlit's static files cached by nginx, and the load client's sessions through nginx without errors or
cross-talk. Needs nginx (CI installs it); skipped with the reason elsewhere, a failure under CI=true."""

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from deploy import replicas

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    if not shutil.which("nginx"):
        (pytest.fail if IN_CI else pytest.skip)("nginx is not installed (apt-get install nginx)")
    run_dir = tmp_path_factory.mktemp("replicas")
    env = {"SKIPLAB_ZOO": str(tmp_path_factory.mktemp("zoo")), "SKIPLAB_WARMUP": "0"}
    with replicas.running(2, run_dir=run_dir, env=env) as state:
        yield state, run_dir
    assert not (run_dir / "state.json").exists()
    for pid in [state["nginx_pid"]] + [r["pid"] for r in state["replicas"]]:  # every process stopped
        assert not replicas._alive(pid)


def access_log(run_dir: Path) -> list[dict]:
    """nginx's access log (deploy/nginx.conf's `skiplab` format) as {request, status, upstream, route, cache}."""
    rows = []
    for line in (run_dir / "access.log").read_text().splitlines():
        m = re.search(r'"(?P<request>[^"]*)" (?P<status>\d+) upstream=(?P<upstream>\S+) route=(?P<route>\S+) '
                      r'cache=(?P<cache>\S+)', line)
        if m:
            rows.append(m.groupdict())
    return rows


def test_health_through_nginx_and_each_replica(topology):
    state, _ = topology
    with urllib.request.urlopen(f"{state['url']}/_stcore/health", timeout=10) as r:
        assert r.status == 200 and r.read() == b"ok"
    assert len({r["port"] for r in state["replicas"]}) == 2
    for r in state["replicas"]:
        assert replicas.healthy(f"http://127.0.0.1:{r['port']}")


def test_a_browser_stays_on_one_replica_and_static_files_are_cached(topology):
    state, run_dir = topology
    browsers = []
    for _ in range(8):  # 8 browsers: each gets a cookie of its own, and all its requests reach one replica
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar := CookieJar()))
        html = opener.open(f"{state['url']}/", timeout=30).read().decode()
        route = next(c.value for c in jar if c.name == "skiplab_route")
        for _ in range(3):
            opener.open(f"{state['url']}/_stcore/health", timeout=30).read()
        browsers.append((route, html))
    log = access_log(run_dir)
    upstreams_of = {route: {row["upstream"] for row in log if row["route"] == route} for route, _ in browsers}
    assert all(len(u) == 1 for u in upstreams_of.values()), upstreams_of
    assert len(set().union(*upstreams_of.values())) == 2, "8 browsers all landed on one replica"
    script = re.search(r'src="\.?/?(static/js/[^"]+\.js)"', browsers[0][1]).group(1)
    for _ in range(2):
        with urllib.request.urlopen(f"{state['url']}/{script}", timeout=30) as r:
            assert r.status == 200 and len(r.read()) > 1000
    assert [row["cache"] for row in access_log(run_dir) if script in row["request"]][-1] == "HIT"


@pytest.mark.slow
def test_load_client_through_nginx(topology):
    state, _ = topology
    out = subprocess.run([sys.executable, "bench/load.py", "--url", state["url"], "--mode", "link", "--sessions", "6",
                          "--timeout", "240", "--deadline", "420"], cwd=ROOT, capture_output=True, text=True,
                         timeout=480, env=dict(os.environ, SKIPLAB_WARMUP="0"))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "completed: 6/6 sessions" in out.stdout and "errors: 0" in out.stdout, out.stdout[-3000:]
    passed, failed = map(int, re.search(r"cross-talk checks: (\d+) passed, (\d+) failed", out.stdout).groups())
    assert passed >= 12 and failed == 0, out.stdout[-3000:]
