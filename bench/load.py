"""A class at once, measured on the server alone: `python bench/load.py --mode link|own [--sessions 30] [--browsers 2]`.

Where the sessions go: one bare server (default); `--replicas N`: N replicas behind nginx (deploy/replicas.py, the
topology compose.yaml runs); `--url URL`: a server already running (its CPU and memory are not measured);
`--compare-replicas`: 1 replica, then 2, both behind nginx, printed side by side.

Starts the real server (`streamlit run app.py` on a free loopback port, SKIPLAB_ZOO an empty temp folder) and drives
N concurrent sessions through Streamlit's own websocket protocol (ws://127.0.0.1:PORT/_stcore/stream, protobuf
BackMsg/ForwardMsg, as the 1.67 frontend speaks it): no browser, so the server's work is measured alone.
  link: every session opens the teacher's link at the same moment, then changes one setting (a rerun with that
        widget's new value, its id taken from the first run's deltas).
  own:  every session visits several pages, each with settings of its own.
A run is finished at its script_finished FINISHED_SUCCESSFULLY; an exception element, an st.error, a compile error,
a page-not-found or a timeout is an error. Cross-talk checks: each run's captions name its session's own depth only and
its numbers equal what PyTorch computes here, as the page does. --browsers N adds N real Chromium sessions
(Playwright) alongside, as the end-to-end check. A warm-up session runs first (the teacher), and
the class starts once the app's own start-up warm-up (frame/warmup.py) has finished, as it would before a lesson.

Prints, per scenario: completed sessions, errors, cross-talk checks, p50/p95 seconds to a finished run (per step and
over all runs), server CPU seconds per session and the arithmetic that bounds the last session's wait (server CPU
seconds / cores), server RSS (VmRSS sampled every 0.2 s: idle, warm = after the warm-up session, peak, settled =
--settle s after the sessions closed; Streamlit 1.67 keeps a closed session 2 min for a reconnect), then the same sessions
once more, every result now cached (server CPU per cached run), the issues' goals met or not, and last, exactly:
`load: <mode> <completed>/<n> p95 <x> s, peak <y> MB`. Loopback only; everything bounded by --deadline seconds; the
server's process group is always killed at the end.
"""

import argparse
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.drivers import bounded, drive  # noqa: E402 (the sessions, websocket and Chromium)
from bench.server import (  # noqa: E402 (the server process: start, stop, memory and CPU from /proc)
    Sampler,
    cache_bytes,
    cpu_seconds,
    free_port,
    machine_busy_seconds,
    rss_mb,
    start_server,
    stop_server,
    total,
    wait_for_app_warmup,
)

# ==== SCENARIOS: the one table to adapt when pages change paths, widget keys or texts ===========================
# A step is (page url path, {widget key: value} sent as that page's query string: a link or a page switch), or
# ("change", widget key, value): a rerun of the current page with that one widget's new value.
GF, HOME = "gradient_flow", "home"
DEPTHS = [8, 14, 20, 26, 32, 38, 44]  # Gradient flow depths (6n+2) the sessions pick
HOME_DEPTHS = [8, 14, 20, 32, 44, 56, 110]  # Home's select_slider options
TEACHER = (GF, {"depth": 56})  # the teacher's link
SCENARIOS = {
    "link": lambda i: [TEACHER, ("change", "depth", DEPTHS[i % len(DEPTHS)])],
    "own": lambda i: [(GF, {"depth": DEPTHS[i % len(DEPTHS)], "seed": i}), (HOME, {"home_depth": HOME_DEPTHS[i % 7]}),
                      ("residuals", {}), ("inspect", {})],
}
WARMUP = {"link": [TEACHER], "own": SCENARIOS["own"](9_999)}  # the teacher's session, before the class
BROWSER = {"link": lambda j: TEACHER, "own": lambda j: (GF, {"depth": DEPTHS[j % len(DEPTHS)], "seed": 5_000 + j})}
BROWSER_CHARTS = 2  # Plotly charts a browser session's first view of Gradient flow draws (the picture, one chart)
# Each page's settings at their defaults (a link overrides them) and the texts a run must show for its settings,
# computed here with PyTorch as the page computes them (see expect()). DEPTH_RE: every depth a text names.
DEFAULTS = {GF: {"depth": 56, "seed": 0, "batch": 32}, HOME: {"home_depth": 56}}
DEPTH_OF = {GF: "depth", HOME: "home_depth"}
DEPTH_RE = re.compile(r"\b(?:ResNet|plain)-(\d+)\b")  # looked for in a run's captions (st.caption: its numbers)
GOALS = {"link_p95_s": 5.0, "peak_mb": 2000, "settled_vs_warm": 0.10, "cached_run_cpu_s": 0.15}  # issues 16, 25
# ================================================================================================================


# ---- the oracle: PyTorch, as the pages compute ----

def expect(page: str, s: dict, memo: dict) -> str | None:
    """The text a run of the page must show for settings s, computed here (None: no number to check)."""
    if page not in (GF, HOME):
        return None
    from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
    from models.resnet import ResNet, ResNetConfig
    from viz.charts import gradient_flow as charts
    from viz.probe import probe

    depth = int(s[DEPTH_OF[page]])
    # Home probes with Gradient flow's defaults (pages/home.py's GF_BATCH), so that both pages show one number
    seed, batch = (int(s["seed"]), int(s["batch"])) if page == GF else (0, DEFAULTS[GF]["batch"])
    key = (page, depth, seed, batch)
    if key not in memo:
        model = ResNet(ResNetConfig(depth=depth, mean=SHAPES_MEAN, std=SHAPES_STD), seed=seed)  # frame.ui.init_model
        x, y = make_shapes("test", n=batch, seed=seed)  # frame.ui.shapes_batch
        x = x.float() / 255
        traces = [probe(model, x, y, skip=[sk] * len(model.blocks), bn_mode="train") for sk in (True, False)]
        if page == GF:  # the caption under the charts
            memo[key] = "Loss on this batch: " + ", ".join(f"{t.name} {charts.fmt(t.loss)}" for t in traces) + "."
        else:  # Home's miniature: the layer-gradients caption
            memo[key] = charts.layer_gradients(traces)[1]
    return memo[key]


def depth_check(page: str, s: dict, captions) -> tuple[bool, str]:
    """The run's captions (the numbers under its charts) name the session's own depth, and no other."""
    if page not in DEPTH_OF:
        return True, ""
    named = {int(d) for t in captions for d in DEPTH_RE.findall(t)}
    own = int(s[DEPTH_OF[page]])
    return named == {own}, f"names depths {sorted(named)}, its own is {own}"


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))] if xs else float("nan")


def check(results, memo, budget_end):
    """Cross-talk checks on every finished run: (passed, failed, not computed) and the failures' lines."""
    ok = bad = skipped = 0
    lines = []
    for r in results:
        for run in r["runs"]:
            if run["t"] is None or run["errors"]:
                continue
            good, why = depth_check(run["page"], run["settings"], run["captions"])
            checks = [("names its own depth only", good, why)]
            if time.monotonic() < budget_end:
                want = expect(run["page"], run["settings"], memo)
                if want is not None:
                    checks.append(("its own numbers", any(want in t for t in run["texts"]), f"wanted {want!r}"))
            elif run["page"] in DEPTH_OF:
                skipped += 1
            for what, good, why in checks:
                ok, bad = ok + good, bad + (not good)
                if not good and len(lines) < 8:
                    lines.append(f"  session {r['i']} {run['name']} {run['settings']}: {what} failed: {why}"[:300])
    return ok, bad, skipped, lines


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=sorted(SCENARIOS), default="link")
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--browsers", type=int, default=0, help="real Chromium sessions alongside (Playwright)")
    ap.add_argument("--timeout", type=float, default=180, help="seconds one run may take to finish")
    ap.add_argument("--settle", type=float, default=15, help="seconds after the sessions closed to read settled RSS")
    ap.add_argument("--deadline", type=float, default=600, help="seconds for everything")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--url", help="drive this running server (e.g. nginx in front of replicas) instead")
    where.add_argument("--replicas", type=int, default=0, help="start N replicas behind nginx (deploy/replicas.py)")
    where.add_argument("--compare-replicas", action="store_true", help="1 replica, then 2, behind nginx")
    return ap.parse_args()


def start_topology(args, log: Path, env: dict, timeout: float):
    """(url, server pids, server logs, stop, the urls the teacher's warm-up session opens: each replica's own, as
    nginx would send it to one only): one bare server, --replicas N behind nginx, or the --url given."""
    if args.url:
        return args.url.rstrip("/"), [], [], lambda: None, [args.url.rstrip("/")]
    if args.replicas:
        from deploy import replicas

        run_dir = Path(tempfile.mkdtemp(prefix="skiplab-load-replicas-"))
        state = replicas.start(args.replicas, free_port(), run_dir, timeout=timeout, env=env)
        logs = [run_dir / f"replica-{i}.log" for i in range(args.replicas)]
        direct = [f"http://127.0.0.1:{r['port']}" for r in state["replicas"]]
        return state["url"], [r["pid"] for r in state["replicas"]], logs, lambda: replicas.stop(run_dir), direct
    proc, url = start_server(log, env=env, timeout=timeout)
    return url, [proc.pid], [log], lambda: stop_server(proc), [url]


def run(args) -> dict:
    """Start the server(s), run the warm-up session, then the scenario's sessions at once; the measurements."""
    end = time.monotonic() + args.deadline

    def left():
        return end - time.monotonic()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally below kills the server

    log = ROOT / "artifacts" / f"load-{args.mode}-server.log"
    log.parent.mkdir(exist_ok=True)
    zoo = tempfile.TemporaryDirectory(prefix="skiplab-load-zoo-")
    load0 = os.getloadavg()
    url, pids, logs, stop, warm_urls = start_topology(args, log, {"SKIPLAB_ZOO": zoo.name}, min(180, left()))
    sampler = Sampler(pids)
    sampler.start()
    try:
        time.sleep(1)
        idle = total(rss_mb, pids)
        t, warm_rec = time.monotonic(), {}
        for warm_url in warm_urls:  # (one warm-up session per replica; the last one's record is reported)
            warm_rec = {}
            bounded(drive(warm_url, lambda i: WARMUP[args.mode], args.timeout, [warm_rec], [], defaults=DEFAULTS),
                    left() - args.settle - 30, [warm_rec], "the warm-up session did not finish before the deadline")
        warm_s = time.monotonic() - t
        waits = [wait_for_app_warmup(x, t, min(900, left() / 2)) for x in logs]  # each replica warms up its own
        app_warm_s = max(waits) if waits and None not in waits else None
        time.sleep(min(3, max(0, left())))
        warm = total(rss_mb, pids)
        t0, cpu0, busy0, self0 = time.monotonic(), total(cpu_seconds, pids), machine_busy_seconds(), time.process_time()
        ws, br = [{} for _ in range(args.sessions)], [{} for _ in range(args.browsers)]
        bounded(drive(url, SCENARIOS[args.mode], args.timeout, ws, br, BROWSER[args.mode], DEFAULTS,
                    BROWSER_CHARTS), left() - args.settle - 5,
                ws + br, f"not finished within the {args.deadline:.0f} s deadline")
        t1, cpu1, busy1, self1 = time.monotonic(), total(cpu_seconds, pids), machine_busy_seconds(), time.process_time()
        time.sleep(min(args.settle, max(0, left())) if pids else 0)
        settled, settled_after = total(rss_mb, pids), time.monotonic() - t1
        peak = sampler.peak(t0, t1 + 1)
        caches = cache_bytes(url)
        cached = again(args, url, pids, left)
    finally:
        sampler.stop.set()
        stop()
        zoo.cleanup()
    return dict(end=end, load0=load0, log=log, idle=idle, warm_rec=warm_rec, warm_s=warm_s, app_warm_s=app_warm_s,
                warm=warm, ws=ws, br=br, cached=cached, measured=bool(pids),  # (--url: no CPU to read)
                wall=t1 - t0, server_cpu=cpu1 - cpu0, busy=busy1 - busy0, own_cpu=self1 - self0, settled=settled,
                settled_after=settled_after, peak=peak, caches=caches)


def again(args, url, pids, left) -> dict:
    """The class's sessions once more, after the settled reading: every result they ask for is cached now, so the
    server's CPU per run is what a cache hit costs (issue 25: GOALS["cached_run_cpu_s"]). {runs, cpu, errors, p95}."""
    ws = [{} for _ in range(args.sessions)]
    cpu0 = total(cpu_seconds, pids)
    bounded(drive(url, SCENARIOS[args.mode], args.timeout, ws, [], defaults=DEFAULTS), left() - 5, ws,
            "the cached round did not finish before the deadline")
    runs = [x for r in ws for x in r.get("runs", []) if x["t"] is not None]
    return {"runs": len(runs), "cpu": total(cpu_seconds, pids) - cpu0, "errors": error_count(ws),
            "p95": pct([x["t"] for x in runs], 0.95) if runs else float("nan")}


def print_run_times(ws) -> tuple[float, float]:
    """Print p50/p95/max seconds to a finished run, per step and over all runs; returns (p50, p95) over all runs."""
    runs = [x for r in ws for x in r["runs"] if x["t"] is not None and not x["errors"]]
    for name in dict.fromkeys(x["name"] for x in runs):
        ts = [x["t"] for x in runs if x["name"] == name]
        print(f"time to a finished run, {name:16s}: p50 {statistics.median(ts):6.2f} s, p95 {pct(ts, 0.95):6.2f} s, "
              f"max {max(ts):6.2f} s (n={len(ts)})")
    every = [x["t"] for x in runs]
    p95 = pct(every, 0.95)
    if every:
        print(f"time to a finished run, {'all runs':16s}: p50 {statistics.median(every):6.2f} s, p95 {p95:6.2f} s")
    return (statistics.median(every) if every else float("nan")), p95


def goals(mode: str, n: int, p95: float, peak: float, settled_change: float, all_clean: bool,
          cached_run_cpu: float) -> list[str]:
    """Issues 16's and 25's goals, each with yes or NO."""
    g = GOALS
    met = [f"peak < {g['peak_mb']} MB: {'yes' if peak < g['peak_mb'] else 'NO'}",
           f"a cached run <= {g['cached_run_cpu_s']} s of server CPU: "
           + ("yes" if cached_run_cpu <= g["cached_run_cpu_s"] else "NO"),
           f"settled within {g['settled_vs_warm']:.0%} of warm: "
           + ("yes" if abs(settled_change) <= g["settled_vs_warm"] else "NO")]
    if mode == "link":
        return [f"p95 < {g['link_p95_s']:.0f} s: {'yes' if p95 < g['link_p95_s'] else 'NO'}", *met]
    return [f"all {n} complete, no error, no cross-talk: {'yes' if all_clean else 'NO'}", *met]


def report(args, m: dict) -> int:
    """Print the scenario's lines (see the module's docstring); 0 when every session completed with no cross-talk."""
    end, load0, log, idle, warm_rec, warm_s, warm, ws, br = (m[k] for k in (
        "end", "load0", "log", "idle", "warm_rec", "warm_s", "warm", "ws", "br"))
    wall, server_cpu, busy, own_cpu, settled, settled_after, peak = (m[k] for k in (
        "wall", "server_cpu", "busy", "own_cpu", "settled", "settled_after", "peak"))
    cores = len(os.sched_getaffinity(0))
    n, total = args.sessions, args.sessions + args.browsers
    memo = {}
    ok_w, bad_w, skip_w, lines_w = check(ws, memo, end)
    failed = [r for r in ws if r["error"] or not r["runs"] or any(x["errors"] or x["t"] is None for x in r["runs"])
              or len(r["runs"]) < len(SCENARIOS[args.mode](r["i"]))]
    completed = n - len(failed)
    steps = [s if s[0] != "change" else f"change {s[1]}" for s in SCENARIOS[args.mode](0)]
    print(f"load: mode {args.mode}: {n} websocket sessions at once, each {' -> '.join(map(str, steps))}"
          f"{f', plus {args.browsers} Chromium session(s) alongside' if args.browsers else ''}; one server on "
          f"{cores} cores shared with other work (load average {load0[0]:.1f} before, {os.getloadavg()[0]:.1f} "
          "after: absolute times are noisy)")
    warm_errors = [e for x in warm_rec["runs"] for e in x["errors"]] + [warm_rec["error"]] * bool(warm_rec["error"])
    print(f"warm-up: one session {WARMUP[args.mode]} in {warm_s:.1f} s"
          + (f"; FAILED: {'; '.join(warm_errors)}"[:300] if warm_errors else "")
          + ("; the app's own warm-up (every page's default view, the Lesson's reveals) finished "
             f"{m['app_warm_s']:.1f} s after it started" if m["app_warm_s"] is not None else
             "; the app's own warm-up did not finish (or SKIPLAB_WARMUP=0): the class meets a cold server"))
    errs = error_count(ws)
    print(f"completed: {completed}/{n} sessions (every run FINISHED_SUCCESSFULLY, no exception or st.error) in "
          f"{wall:.1f} s; errors: {errs}" + (f" (server log: {log.relative_to(ROOT)})" if errs else ""))
    for r in failed[:8]:
        es = [f"{x['name']}: {'; '.join(x['errors']) or 'not finished'}" for x in r["runs"]
              if x["errors"] or x["t"] is None]
        print(f"  session {r['i']}: {r['error'] or ''} {' | '.join(es)}"[:300])
    print(f"cross-talk checks: {ok_w} passed, {bad_w} failed" + (f", {skip_w} numbers not computed (deadline)"
                                                                 if skip_w else "")
          + " (each run's captions name its own depth only; its loss / caption equals PyTorch's here)")
    for line in lines_w:
        print(line)
    p50, p95 = print_run_times(ws)
    print(f"server CPU: {server_cpu:.1f} s during the sessions = {server_cpu / total:.2f} s per session ({total}); "
          f"{server_cpu:.1f} s / {cores} cores = {server_cpu / cores:.1f} s: the least wall time the last session "
          f"can wait when all arrive at once (measured wall {wall:.1f} s: the server got "
          f"{server_cpu / (wall * cores):.0%} of the cores; the machine was busy {busy:.0f} s of the "
          f"{wall * cores:.0f} s its cores had, this bench's Python client {own_cpu:.1f} s of it)")
    c = m["cached"]
    per_run = c["cpu"] / c["runs"] if c["runs"] and m["measured"] else float("nan")
    print(f"cached runs: the {n} sessions again, every result cached: {c['runs']} runs, {c['errors']} errors, p95 "
          f"{c['p95']:.2f} s, server CPU {c['cpu']:.1f} s = {per_run:.3f} s per run (the first round: "
          f"{server_cpu / max(1, runs_done(ws)):.3f} s per run)")
    print(f"server RSS: idle {idle:.0f} MB, warm (after one warm-up session) {warm:.0f} MB, peak {peak:.0f} MB, "
          f"settled ({settled_after:.0f} s after the sessions closed) {settled:.0f} MB "
          f"({100 * (settled / warm - 1):+.1f}% vs warm)")
    top = sorted(m["caches"].items(), key=lambda kv: -kv[1])
    print(f"shared caches (Streamlit's count of what their entries hold): {sum(m['caches'].values()) / 2**20:.0f} MB; "
          + ", ".join(f"{k.split(':', 1)[1] or k} {v / 2**20:.1f} MB" for k, v in top[:6]))
    bad_b = report_browsers(args, br, memo, end) if args.browsers else 0
    all_clean = completed == n and not errs and not bad_w
    print("goals (issues 16, 25): " + "; ".join(goals(args.mode, n, p95, peak, settled / warm - 1, all_clean,
                                                         per_run)))
    print(f"load: {args.mode} {completed}/{n} p95 {p95:.2f} s, peak {peak:.0f} MB")
    m["summary"] = {"completed": f"{completed}/{n}", "errors": errs, "cross-talk failed": bad_w,
                    "p50 s": p50, "p95 s": p95,
                    "server CPU s per session": server_cpu / total, "peak RSS MB (all replicas)": peak,
                    "wall s": wall}
    return 0 if completed == n and not bad_w and not bad_b else 1


def error_count(ws) -> int:
    """Sessions that failed, plus the errors their runs showed."""
    return sum(bool(r.get("error")) + sum(len(x["errors"]) for x in r.get("runs", [])) for r in ws)


def runs_done(ws) -> int:
    return sum(1 for r in ws for x in r["runs"] if x["t"] is not None)


def report_browsers(args, br, memo, end) -> int:
    """The Chromium sessions' lines; returns how many of their checks failed."""
    ok_b, bad_b, skip_b, lines_b = check(br, memo, end)
    bt = [x["t"] for r in br for x in r["runs"] if not x["errors"]]
    bfail = [r for r in br if r["error"] or not r["runs"] or any(x["errors"] for x in r["runs"])]
    print(f"browsers: {args.browsers - len(bfail)}/{args.browsers} Chromium sessions finished "
          f"{BROWSER[args.mode](0)[0]} with {BROWSER_CHARTS} charts drawn"
          + (f", p50 {statistics.median(bt):.2f} s, max {max(bt):.2f} s" if bt else "")
          + f"; checks {ok_b} passed, {bad_b} failed" + (f", {skip_b} not computed" if skip_b else ""))
    for r in bfail[:4]:
        print(f"  {r['i']}: {r['error'] or '; '.join(e for x in r['runs'] for e in x['errors'])}"[:300])
    for line in lines_b:
        print(line)
    return bad_b


def compare_replicas(args) -> int:
    """The scenario against 1 replica, then 2 (both behind nginx, on this machine), and the two side by side."""
    rc, rows = 0, {}
    for n in (1, 2):
        print(f"== {n} replica{'s' * (n > 1)} behind nginx")
        one = argparse.Namespace(**{**vars(args), "replicas": n, "compare_replicas": False,
                                    "deadline": args.deadline / 2})
        m = run(one)
        rc |= report(one, m)
        rows[n] = m["summary"]
    print(f"== {args.mode}, {args.sessions} sessions: 1 replica vs 2 replicas behind nginx, same machine "
          f"({len(os.sched_getaffinity(0))} cores)")
    for key in rows[1]:
        cells = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in (rows[1][key], rows[2][key])]
        print(f"  {key:28s} {cells[0]:>10s} {cells[1]:>10s}")
    return rc


def main():
    args = parse_args()
    if args.compare_replicas:
        return compare_replicas(args)
    return report(args, run(args))


if __name__ == "__main__":
    raise SystemExit(main())
