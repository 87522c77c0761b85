"""Browser tests: a real `streamlit run app.py` server and headless Chromium (Playwright, sync API).

Fixtures
- `app_url` (session): the server's base URL, e.g. "http://127.0.0.1:53817". Started once, killed
  (whole process group) at the end; its log is attached to every failing e2e test's report.
- `browser` (session): a Chromium launched from /usr/bin/chromium (or $SKIPLAB_CHROMIUM).
- `page` (function): a fresh 1400x1000 page; a failing test leaves `artifacts/screenshots/FAILED-<test>.png`.

- `open_page` (function): `open_page("gradient_flow", query="depth=56")` loads a page of the app and
  waits until its script run finished; fails if it shows an exception. Returns the Playwright page.
- `wait_for_run` (function): `wait_for_run(rerun=True)` after a widget change: waits for the rerun to
  start and finish, then fails if an exception is shown.
- `charts` (function): `charts(3)` waits until at least 3 Plotly charts hold drawn traces (fails at
  once if an exception shows instead) and returns how many are drawn.
- `shot` (function): `shot("gradient_flow")` saves `artifacts/screenshots/gradient_flow.png` (full page).

Without Chromium or Playwright the e2e tests skip with the reason, except in CI (env CI=true),
where that is a failure: a CI run must never pass by skipping the browser.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from deploy.replicas import free_port as _free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
SHOTS = ARTIFACTS / "screenshots"
CHROMIUM = os.environ.get("SKIPLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
STARTUP_S = float(os.environ.get("SKIPLAB_E2E_STARTUP_S", "120"))  # torch import on 2 busy cores is slow
RUN_TIMEOUT_MS = int(os.environ.get("SKIPLAB_E2E_RUN_TIMEOUT_MS", "120000"))

_server_log: Path | None = None


def _missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        return f"playwright is not installed ({e}); pip install -r requirements-dev.txt"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set SKIPLAB_CHROMIUM)"
    return None


def _require_browser():
    why = _missing_browser()
    if why is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true and the browser tests cannot run: {why}", pytrace=False)
    pytest.skip(why)


def log_tail(n: int = 60) -> str:
    """The last n lines of the Streamlit server's log (empty if no server was started)."""
    if _server_log is None or not _server_log.exists():
        return ""
    lines = _server_log.read_text(errors="replace").splitlines()
    return "\n".join(lines[-n:])


def _kill(proc: subprocess.Popen):
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """Start `streamlit run app.py` on a free port, wait for /_stcore/health, yield the base URL."""
    global _server_log
    _require_browser()
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    _server_log = ARTIFACTS / "e2e-server.log"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.fileWatcherType", "none"]
    # the server saves runs trained in the browser to a zoo of its own, not to the machine's user zoo;
    env = dict(os.environ, PYTHONUNBUFFERED="1", SKIPLAB_ZOO=str(tmp_path_factory.mktemp("e2e-zoo")),
               SKIPLAB_WARMUP="0",  # each test measures the pages it opens; test_warmup.py starts servers of its own
               SKIPLAB_ROOMS=f"sqlite://{tmp_path_factory.mktemp('e2e-rooms') / 'rooms.db'}")  # not the user's rooms
    with open(_server_log, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # own process group: teardown kills it whole
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode} before it was healthy:\n{log_tail()}",
                            pytrace=False)
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit not healthy after {STARTUP_S:.0f} s:\n{log_tail()}", pytrace=False)
            time.sleep(0.25)
        yield url
    finally:
        _kill(proc)


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, request):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    p = ctx.new_page()
    p.set_default_timeout(RUN_TIMEOUT_MS)
    try:
        yield p
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            try:
                screenshot(p, f"FAILED-{request.node.name}")
            except Exception:  # a crashed page cannot be photographed; the report still has the log
                pass
        ctx.close()


def wait_for_app(page, timeout_ms: int = RUN_TIMEOUT_MS, rerun: bool = False):
    """Wait until Streamlit finished running the script, then fail if it shows an exception.

    Streamlit 1.67 marks the root `[data-testid="stApp"]` with `data-test-script-state`
    ("initial" -> "running" -> "notRunning"). After a widget change pass `rerun=True` to first
    wait for the new run to start (a click can return before the rerun has begun).
    """
    app = '[data-testid="stApp"]'
    page.wait_for_selector(app, state="attached", timeout=timeout_ms)
    if rerun:
        try:
            page.wait_for_selector(f'{app}:not([data-test-script-state="notRunning"])', state="attached",
                                   timeout=5000)
        except Exception:  # the rerun may already have finished: fine, the next wait settles it
            pass
    page.wait_for_selector(f'{app}[data-test-script-state="notRunning"]', state="attached", timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]',
                           state="detached", timeout=timeout_ms)
    page.wait_for_timeout(300)  # the last deltas (an exception box among them) can land just after the flag
    assert_no_exception(page)


def wait_for_charts(page, n: int = 1, timeout_ms: int = RUN_TIMEOUT_MS) -> int:
    """Wait until at least n Plotly charts hold drawn traces, or an exception shows (then fail fast).

    Returns the number of drawn charts. Plotly draws after the script run has finished.
    """
    page.wait_for_function(
        """n => document.querySelector('[data-testid="stException"]') ||
              [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('.main-svg .trace')).length >= n""",
        arg=n, timeout=timeout_ms)
    assert_no_exception(page)
    return page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('.main-svg .trace')).length")


def assert_no_exception(page):
    exc = page.locator('[data-testid="stException"]')
    if exc.count():
        pytest.fail(f"the page shows an exception:\n{exc.first.inner_text()[:2000]}", pytrace=False)


def screenshot(page, name: str, full: bool = True) -> Path:
    """Save a PNG of the whole page to artifacts/screenshots/<name>.png and return its path.

    Streamlit scrolls inside `[data-testid="stMain"]`, not the document, so Playwright's
    `full_page` alone stops at the viewport: the viewport is stretched to the content's
    height for the shot, then restored.
    """
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...['stMain', 'stSidebarContent'].map(t => "
        "(document.querySelector(`[data-testid=\"${t}\"]`) || {}).scrollHeight || 0))"
    )
    stretch = full and size is not None and height > size["height"]
    if stretch:
        page.set_viewport_size({"width": size["width"], "height": min(int(height), 12000)})
        page.wait_for_timeout(500)  # let the charts re-lay-out
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if stretch:
            page.set_viewport_size(size)
    return path


@pytest.fixture
def open_page(page, app_url):
    """`open_page("gradient_flow")` -> the page, loaded and finished running (no exception shown)."""

    def _open(path: str = "", query: str = ""):
        url = f"{app_url}/{path.strip('/')}" + (f"?{query}" if query else "")
        page.goto(url, wait_until="domcontentloaded")
        wait_for_app(page)
        return page

    return _open


@pytest.fixture
def wait_for_run(page):
    """`wait_for_run(rerun=True)` after a click or a widget change; see `wait_for_app`."""
    return lambda rerun=True, timeout_ms=RUN_TIMEOUT_MS: wait_for_app(page, timeout_ms=timeout_ms, rerun=rerun)


@pytest.fixture
def charts(page):
    """`charts(3)` -> waits until at least 3 Plotly charts are drawn (fails fast on an exception); their count."""
    return lambda n=1, timeout_ms=RUN_TIMEOUT_MS: wait_for_charts(page, n, timeout_ms)


@pytest.fixture
def shot(page):
    """`shot("name")` -> saves artifacts/screenshots/name.png of the current page."""
    return lambda name: screenshot(page, name)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
    if rep.failed and item.get_closest_marker("e2e") is not None:
        tail = log_tail()
        if tail:
            rep.sections.append(("streamlit server log (tail)", tail))
