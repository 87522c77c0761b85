"""The load bench's sessions (bench/load.py): websocket sessions speaking Streamlit's protocol (frame/visitor.py) and
Chromium sessions, run at once, each filling its record (runs, texts, captions, errors, seconds) in place."""

import asyncio
import contextlib
import os
import time
from urllib.parse import urlencode

from frame.visitor import Session

CHROMIUM = os.environ.get("SKIPLAB_CHROMIUM", "/usr/bin/chromium")


async def ws_session(url, i, steps, timeout, rec, defaults):
    rec.update(i=i, runs=[], error=None, steps=len(steps))
    s, settings = Session(url, defaults), {}
    try:
        async with asyncio.timeout(timeout * (len(steps) + 1)):
            await s.open()
            for step in steps:
                name = step[0] if step[0] != "change" else f"change {step[1]}"
                async with asyncio.timeout(timeout):
                    t, texts, captions, errors = await s.step(step, settings)
                page = step[0] if step[0] != "change" else rec["runs"][-1]["page"]
                rec["runs"].append({"name": name, "page": page, "t": t, "texts": texts, "captions": captions,
                                    "errors": errors,
                                    "settings": dict(settings)})
                if errors:
                    break
    except Exception as e:  # noqa: BLE001 (a bench records every failure and carries on)
        rec["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else 'timed out'}"
    finally:
        with contextlib.suppress(Exception):
            await s.close()


async def browser_session(browser, url, j, step, timeout, rec, defaults, charts):
    page_name, query = step
    rec.update(i=f"browser {j}", runs=[], error=None)
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await ctx.new_page()
        page.set_default_timeout(timeout * 1000)
        t = time.monotonic()
        await page.goto(f"{url}/{page_name}?{urlencode(query)}", wait_until="domcontentloaded")
        await page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', state="attached")
        await page.wait_for_selector('[data-testid="stStatusWidgetRunningIcon"]', state="detached")
        await page.wait_for_function("""n => document.querySelector('[data-testid="stException"]') ||
            [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('.main-svg .trace')).length
            >= n""", arg=charts)
        await page.wait_for_timeout(300)  # (the last deltas can land just after the flag)
        errors = [f"exception: {x[:200]}" for x in await page.locator('[data-testid="stException"]').all_inner_texts()]
        texts = [await page.locator('[data-testid="stMain"]').inner_text()]
        captions = await page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
        rec["runs"].append({"name": f"{page_name} (Chromium)", "page": page_name, "t": time.monotonic() - t,
                            "texts": texts, "captions": captions, "errors": errors,
                            "settings": {**defaults.get(page_name, {}), **query}})
    except Exception as e:  # noqa: BLE001
        rec["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
    finally:
        await ctx.close()


async def drive(url, steps_of, timeout, ws, br, browser_step=None, defaults=None, charts=1):
    """Run len(ws) websocket sessions and len(br) Chromium sessions at once; each fills its record in place.
    defaults: each page's widget defaults ({page: {key: value}}); charts: Plotly charts a browser's page must draw."""
    defaults = defaults or {}
    jobs = [ws_session(url, i, steps_of(i), timeout, rec, defaults) for i, rec in enumerate(ws)]
    if not br:
        await asyncio.gather(*jobs)
        return
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        try:
            b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                               "--disable-dev-shm-usage"])
        except Exception as e:  # noqa: BLE001 (no browser: the websocket sessions still run)
            for j, rec in enumerate(br):
                rec.update(i=f"browser {j}", runs=[], error=f"Chromium did not start: {str(e).splitlines()[0][:200]}")
            await asyncio.gather(*jobs)
            return
        try:
            await asyncio.gather(*jobs, *(browser_session(b, url, j, browser_step(j), timeout, rec, defaults, charts)
                                          for j, rec in enumerate(br)))
        finally:
            await b.close()


def bounded(coro, seconds, recs, why):
    """Run coro for at most seconds; records still unfinished then get why as their error."""
    try:
        asyncio.run(asyncio.wait_for(coro, max(1, seconds)))
    except TimeoutError:
        for i, r in enumerate(recs):
            r.setdefault("i", i)
            r.setdefault("runs", [])
            if not r.get("error") and len(r["runs"]) < r.get("steps", 1):
                r["error"] = why
