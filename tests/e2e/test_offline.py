"""Offline: with every request not to loopback blocked (and recorded), every page of the app opens whole, and no page
even tried to reach another machine (the tab's icon, fonts, scripts, images: all served by the app itself)."""

from urllib.parse import urlparse

import pytest

from tests.e2e.conftest import RUN_TIMEOUT_MS, wait_for_app

pytestmark = pytest.mark.e2e
PAGES = ["", "lesson", "gradient_flow", "train", "inspect", "landscape", "shattered", "designs", "residuals"]
LOCAL = {"127.0.0.1", "localhost", "::1", "[::1]"}
SELECTOR = "link[rel~=icon], link[rel=stylesheet], link[rel=preload], script[src], img[src], iframe[src], source[src]"
ASSETS = f"""() => [...performance.getEntriesByType('resource').map(e => e.name),
    ...[...document.querySelectorAll('{SELECTOR}')].map(e => e.href || e.src)]"""


def local(url: str) -> bool:
    u = urlparse(url)
    return u.scheme in ("data", "blob", "about") or u.hostname in LOCAL


def test_every_page_renders_whole_with_the_network_blocked(browser, app_url):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")
    tried = []

    def guard(route):
        if local(route.request.url):
            route.continue_()
        else:
            tried.append(route.request.url)
            route.abort("internetdisconnected")

    ctx.route("**/*", guard)
    page = ctx.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    page.on("requestfailed", lambda r: None if local(r.url) else tried.append(r.url))
    try:
        for path in PAGES:
            page.goto(f"{app_url}/{path}", wait_until="domcontentloaded")
            wait_for_app(page)
            page.wait_for_load_state("load")
            assert page.locator("h1").count() >= 1, f"/{path}: no title"
            assert page.locator('[data-testid="stAlert"]').filter(has_text="Failed to fetch").count() == 0
            page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=60_000)
            remote = [u for u in page.evaluate(ASSETS) if u and not local(u)]
            assert not remote, f"/{path} loads from other machines: {remote}"
        icon = page.evaluate("() => [...document.querySelectorAll('link[rel~=icon]')].map(e => e.href)")
        assert icon and all(local(u) for u in icon), icon
    finally:
        ctx.close()
    assert not tried, f"requests that tried to leave the machine: {sorted(set(tried))}"
