"""Thirty students at once: `python bench/load.py --sessions 30`.

Starts the real server (`streamlit run app.py` on a free loopback port, as tests/e2e/conftest.py does), then
drives N concurrent sessions, each a Playwright browser context in one headless Chromium:

1. Gradient flow from a link of its own (`?depth=D&seed=S`, the URL binding): waits for the drawn charts and
   checks the page names its own depth and shows its own loss, computed here with PyTorch (no cross-talk
   between sessions that share cached models).
2. Inspect: uploads an image of its own size through the real file chooser and checks the page names that size.
3. Residuals: the trained models' residual sizes, drawn.

Prints completed sessions, errors, the median and 95th percentile of the time from opening a page to its
finished charts, and the server's memory (RSS, from /proc) idle, after one warm-up session, at the peak,
and after all sessions closed. Loopback only; bounded by --deadline seconds.
"""

import argparse
import asyncio
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHROMIUM = os.environ.get("SKIPLAB_CHROMIUM", "/usr/bin/chromium")
DEPTHS = [8, 14, 20, 26, 32, 38, 44]
APP = '[data-testid="stApp"]'
DRAWN = """n => document.querySelector('[data-testid="stException"]') ||
   [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('.main-svg .trace')).length >= n"""


def rss_mb(pid: int) -> float:
    """Resident memory of the server process (Streamlit serves every session from this one process)."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time all processes on the machine have used (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log_path: Path):
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.fileWatcherType", "none"]
    log = open(log_path, "w")  # noqa: SIM115 (open for the server's whole life)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise SystemExit(f"the server was not healthy after 180 s; see {log_path}")


def stop_server(proc):
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


def expected_losses(jobs):
    """The Gradient-flow page's loss caption for each (depth, seed), computed here: PyTorch is the oracle."""
    from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
    from models.resnet import ResNet, ResNetConfig
    from viz.style import fmt
    from viz.probe import probe

    out = {}
    for depth, seed in sorted(set(jobs)):
        cfg = ResNetConfig(depth=depth, mean=SHAPES_MEAN, std=SHAPES_STD)
        model = ResNet(cfg, seed=seed)  # as the page builds it (pages.ui.init_model)
        x, y = make_shapes("test", n=32, seed=seed)
        x = x.float() / 255
        res, plain = (probe(model, x, y, skip=[s] * len(model.blocks), bn_mode="train") for s in (True, False))
        out[depth, seed] = f"ResNet-{depth} {fmt(res.loss)}, plain-{depth} {fmt(plain.loss)}"
    return out


def image_png(w: int, h: int) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(w * 1000 + h)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 / w, yy * 255 / h, 128 + 0 * xx], -1) + rng.normal(0, 8, (h, w, 3))
    b = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(b, "PNG")
    return b.getvalue()


async def finished(page, timeout_ms, charts=1):
    await page.wait_for_selector(f'{APP}[data-test-script-state="notRunning"]', state="attached", timeout=timeout_ms)
    await page.wait_for_function(DRAWN, arg=charts, timeout=timeout_ms)
    if await page.locator('[data-testid="stException"]').count():
        raise RuntimeError("exception: " + (await page.locator('[data-testid="stException"]').first.inner_text())[:300])


async def session(browser, url, i, timeout_ms, results):
    depth, seed = DEPTHS[i % len(DEPTHS)], i
    w, h = 160 + i, 120 + i
    rec = {"i": i, "depth": depth, "seed": seed, "times": {}, "error": None, "checks": []}
    results.append(rec)
    ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = await ctx.new_page()
        page.set_default_timeout(timeout_ms)
        t = time.monotonic()
        await page.goto(f"{url}/gradient_flow?depth={depth}&seed={seed}", wait_until="domcontentloaded")
        await finished(page, timeout_ms, charts=3)
        rec["times"]["gradient_flow"] = time.monotonic() - t
        caps = " ".join(await page.locator('[data-testid="stCaptionContainer"]').all_inner_texts())
        rec["loss_caption"] = caps.split("Loss on this batch: ")[-1].rstrip(".")
        others = [d for d in DEPTHS if d != depth and f"ResNet-{d}:" in caps]
        rec["checks"].append(("names its depth", f"ResNet-{depth}:" in caps and not others))

        t = time.monotonic()
        await page.goto(f"{url}/inspect", wait_until="domcontentloaded")
        await page.wait_for_selector(f'{APP}[data-test-script-state="notRunning"]', state="attached")
        async with page.expect_file_chooser() as fc:
            await page.locator('[data-testid="stFileUploaderDropzone"] button').first.click()
        chooser = await fc.value
        await chooser.set_files({"name": f"student{i}.png", "mimeType": "image/png", "buffer": image_png(w, h)})
        await page.wait_for_function("s => document.body.innerText.includes(s) || "
                                     "[...document.querySelectorAll('.gtitle')].some(e => e.textContent.includes(s))",
                                     arg=f"{w} x {h}", timeout=timeout_ms)
        await finished(page, timeout_ms, charts=3)
        rec["times"]["inspect"] = time.monotonic() - t
        titles = await page.evaluate("() => [...document.querySelectorAll('.gtitle')].map(e => e.textContent)")
        rec["checks"].append(("its own upload", any(f"{w} x {h}" in s for s in titles)))

        t = time.monotonic()
        await page.goto(f"{url}/residuals", wait_until="domcontentloaded")
        await finished(page, timeout_ms, charts=1)
        rec["times"]["residuals"] = time.monotonic() - t
    except Exception as e:  # noqa: BLE001 (a bench records every failure and carries on)
        rec["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
    finally:
        await ctx.close()


async def drive(url, n, timeout_ms, deadline_s, pid, peak):
    from playwright.async_api import async_playwright

    results = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                           args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                                 "--disable-dev-shm-usage"])

        async def watch():
            while True:
                peak[0] = max(peak[0], rss_mb(pid))
                await asyncio.sleep(0.5)

        w = asyncio.create_task(watch())
        try:
            await asyncio.wait_for(asyncio.gather(*(session(browser, url, i, timeout_ms, results) for i in range(n))),
                                   deadline_s)
        except TimeoutError:
            for r in results:
                r["error"] = r["error"] or f"not finished within the {deadline_s} s deadline"
        finally:
            w.cancel()
            await browser.close()
    return results


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--timeout", type=float, default=180, help="seconds a page may take to finish")
    ap.add_argument("--deadline", type=float, default=900, help="seconds for the whole load")
    args = ap.parse_args()

    log = ROOT / "artifacts" / "load-server.log"
    log.parent.mkdir(exist_ok=True)
    proc, url = start_server(log)
    try:
        idle = rss_mb(proc.pid)
        warm = asyncio.run(drive(url, 1, int(args.timeout * 1000), args.deadline, proc.pid, [0]))[0]
        if warm["error"]:
            print(f"warm-up session failed: {warm['error']} (server log: {log})")
        time.sleep(3)
        base = rss_mb(proc.pid)
        peak = [base]
        t0, cpu0, busy0 = time.monotonic(), cpu_seconds(proc.pid), machine_busy_seconds()
        results = asyncio.run(drive(url, args.sessions, int(args.timeout * 1000), args.deadline, proc.pid, peak))
        wall, server_cpu, busy = time.monotonic() - t0, cpu_seconds(proc.pid) - cpu0, machine_busy_seconds() - busy0
        time.sleep(15)  # let the server notice the closed websockets and drop their sessions
        after = rss_mb(proc.pid)
    finally:
        stop_server(proc)

    expect = expected_losses([(r["depth"], r["seed"]) for r in results])
    for r in results:
        if "loss_caption" in r:
            r["checks"].append(("its own loss", r["loss_caption"] == expect[r["depth"], r["seed"]]))
    failed = [r for r in results if r["error"] or not all(ok for _, ok in r["checks"])]
    print(f"sessions: {args.sessions} concurrent (Chromium contexts), one server, {os.cpu_count()} CPUs "
          "(shared with other work on this machine: absolute times are noisy)")
    print(f"completed: {args.sessions - len(failed)} of {args.sessions} in {wall:.0f} s; "
          f"errors: {sum(bool(r['error']) for r in results)}; "
          f"failed checks: {sum(not ok for r in results for _, ok in r['checks'])}")
    for r in failed[:10]:
        bad = [c for c, ok in r["checks"] if not ok]
        print(f"  session {r['i']} (depth {r['depth']}, seed {r['seed']}): {r['error'] or ''} {bad or ''}")
    for what in ("gradient_flow", "inspect", "residuals"):
        ts = [r["times"][what] for r in results if what in r["times"]]
        if ts:
            print(f"time to a finished chart, {what:13s}: median {statistics.median(ts):5.1f} s, "
                  f"p95 {pct(ts, 0.95):5.1f} s, max {max(ts):5.1f} s (n={len(ts)})")
    every = [t for r in results for t in r["times"].values()]
    if every:
        print(f"time to a finished chart, all pages    : median {statistics.median(every):5.1f} s, "
              f"p95 {pct(every, 0.95):5.1f} s")
    cores = os.cpu_count()
    print(f"CPU during the sessions: the server {server_cpu:.0f} s ({server_cpu / args.sessions:.1f} s per session), "
          f"the whole machine {busy:.0f} s of the {wall * cores:.0f} s its {cores} cores had (the rest is the browser "
          f"and other work). Floor for the last session on a server of its own: {server_cpu / cores:.0f} s "
          f"(all sessions' server CPU spread over {cores} cores)")
    print(f"server RSS: idle {idle:.0f} MB, after one warm-up session {base:.0f} MB, peak {peak[0]:.0f} MB, "
          f"15 s after the {args.sessions} sessions closed {after:.0f} MB ({100 * (after / base - 1):+.1f}% vs warm)")
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
