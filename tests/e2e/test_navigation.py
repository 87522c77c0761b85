"""What a fresh server's first visitor sees (issue 22): the sidebar never lists anything but the navigation's pages,
not even for a moment, and a page's own link opens the page inside the frame (the sidebar with the links and the
presentation switch), never the page file alone.

Each test starts a server of its own, because the first visit of a fresh server is the case: Streamlit starts in its
legacy multipage mode while a pages/ folder exists, until a session calls st.navigation (frame/framing.py). The
sidebar's links are sampled every few milliseconds from the first paint until the run has finished."""

import ast
import time
from pathlib import Path

import pytest

from bench.load import start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
SETTLED_S = 2.0  # the run counts as done once the app has said "not running" for this long


def navigation_titles() -> list[str]:
    """The titles of app.py's st.Page entries, in order."""
    calls = [n for n in ast.walk(ast.parse((ROOT / "app.py").read_text()))
             if isinstance(n, ast.Call) and ast.unparse(n.func) == "st.Page"]
    return [kw.value.value for c in calls for kw in c.keywords if kw.arg == "title"]


TITLES = navigation_titles()

# Every link the sidebar shows (Streamlit's own navigation and the frame's page links), as its label without the
# icon's ligature text; whether a "Page not found" dialog or the presentation switch shows; the run's state.
SAMPLE = """() => {
  const label = a => a.innerText.split('\\n').map(s => s.trim()).filter(Boolean).pop() || '';
  const side = document.querySelector('[data-testid="stSidebar"]');
  const links = side ? [...side.querySelectorAll('[data-testid="stSidebarNav"] a, [data-testid="stPageLink"] a')] : [];
  const dialog = document.querySelector('[role="dialog"]');
  const app = document.querySelector('[data-testid="stApp"]');
  return {links: links.map(label),
          toggle: !!side && [...side.querySelectorAll('label')].some(l => l.innerText.includes('Presentation mode')),
          dialog: dialog ? dialog.innerText : null,
          heading: (document.querySelector('h1') || {}).innerText || null,
          state: app ? app.getAttribute('data-test-script-state') : null};
}"""


@pytest.fixture
def fresh_server(tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    proc, url = start_server(ARTIFACTS / "navigation-server.log",
                             env={"SKIPLAB_WARMUP": "0", "SKIPLAB_ZOO": str(tmp_path / "zoo")})
    try:
        yield url
    finally:
        stop_server(proc)


def watch(page, url: str, timeout_s: float = 240) -> list[dict]:
    """Open url and sample the sidebar from the first paint until the run has settled; the distinct samples."""
    page.goto(url, wait_until="commit")
    samples, settled_since, t0 = [], None, time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        s = page.evaluate(SAMPLE)
        if not samples or s != samples[-1]:
            samples.append(s)
        if s["state"] == "notRunning":
            settled_since = settled_since or time.monotonic()
            if time.monotonic() - settled_since > SETTLED_S:
                return samples
        else:
            settled_since = None
        page.wait_for_timeout(20)
    pytest.fail(f"the page did not finish in {timeout_s:.0f} s; last: {samples[-1]}", pytrace=False)


def test_the_navigation_titles_are_read_from_app_py():
    assert len(TITLES) == 11 and TITLES[0] == "Home" and "Gradient flow" in TITLES


@pytest.mark.slow
@pytest.mark.parametrize("path, heading", [("gradient_flow?depth=20", "Gradient flow"), ("", "skiplab")])
def test_a_fresh_servers_first_visitor_sees_only_the_navigation_inside_the_frame(fresh_server, page, path, heading):
    samples = watch(page, f"{fresh_server}/{path}")
    strangers = {label for s in samples for label in s["links"] if label not in TITLES}
    assert not strangers, f"the sidebar listed {sorted(strangers)}, which are not navigation pages"
    assert not [s["dialog"] for s in samples if s["dialog"]], "a dialog showed (Page not found?)"
    last = samples[-1]
    assert last["links"] == TITLES  # the frame's links, each page once, in the navigation's order
    assert last["toggle"], "no presentation switch in the sidebar: the page ran outside the frame"
    assert last["heading"] == heading
    assert page.url.endswith(f"/{path}")  # the link kept its page and query
    assert page.locator('[data-testid="stException"]').count() == 0
