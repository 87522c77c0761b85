"""The start-up warm-up (issue 16): once per server process, right after its first visit, a headless visitor
(frame/visitor.py) opens every page of the navigation at its defaults, reveals every Lesson step, then opens the
other views a class switches to (SWITCHES), over Streamlit's own protocol, as a browser would. The pages' own code computes each default view and keeps it in the
caches all sessions share (st.cache_data, st.cache_resource), so a class's first clicks find it there. Nothing is
stored or written by hand: the cache is filled by the real computation, as any visitor's visit would fill it.

Its runs take the CPU only when nobody else wants it: the visitor says who it is in a header, and app.py calls
`yield_to_visitors()` first, which gives the run's thread (and the PyTorch threads it starts) the lowest priority,
so a real visitor's page runs first.

Served with `streamlit run serve.py`, it starts when the server starts (st.App's lifespan, `start_when_served`); with
`streamlit run app.py`, at the first visit. The sidebar shows "warming up: n of m" and then "ready" (`badge`);
`progress()` is the same as a dict (serve.py's /warmup route).

Off with SKIPLAB_WARMUP=0 (for a measurement of cold pages). Its progress and timings go to the server's log
(logger "skiplab.warmup"), one line per visit and a last line "warm-up finished ...". Not a page."""

import asyncio
import logging
import os
import threading
import time

import streamlit as st

from frame import streamlit_compat as compat
from frame.visitor import Session
from models import registry
from viz.measures.lesson import STEPS

LOG = logging.getLogger("skiplab.warmup")  # to the server's log (stderr), as Streamlit's own lines
if not LOG.handlers:
    _to_stderr = logging.StreamHandler()
    _to_stderr.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d %(message)s", "%Y-%m-%d %H:%M:%S"))
    LOG.addHandler(_to_stderr)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False
HEADER = "X-Skiplab-Warmup"  # sent by the warm-up's visitor
TIMEOUT_S = 600.0  # one visit's limit: a visit this slow is logged and the warm-up goes on with the next page
# After a page's default view, the other views a class switches to, each a change of one control from the page's
# defaults (widget key, value as the control shows it). A renamed key is a logged error (tests/e2e/test_warmup.py).
SWITCHES = {
    "gradient_flow": [("source", "Trained")],
    "inspect": [("ins_show", "Why (Captum)")],
    "residuals": [("res_view", "Lesions"), ("res_lesion", "k random blocks"), ("res_view", "Gradient paths"),
                  ("res_view", "Switches")],
    "shattered": [("sh_show", "Image classifiers")],
    "landscape": [("ls_dims", "2-D surface")],
    "beyond": [("by_view", "Without batch norm")],
}
_started = threading.Lock()  # taken once per process, by the run that starts the warm-up
_progress = {"state": "not started", "done": 0, "total": 0}  # this process's warm-up, as progress() reports it
PAGE_PATHS = ["", "lesson", "gradient_flow", "train", "inspect", "landscape", "shattered", "designs", "residuals", "beyond",
              "transformer"]  # app.py's navigation (tests/e2e/test_warmup.py checks)


def plan(page_paths: list[str], switches: bool = True) -> list[tuple]:
    """The visits, in the order a class meets them: every page of the navigation at its defaults (its URL path, no
    settings), then each Lesson step opened by its link and its Reveal button pressed, then (switches) each page's
    other views of SWITCHES, from its defaults."""
    visits = [(path, {}) for path in page_paths]
    if "lesson" in page_paths:
        for k, step in enumerate(STEPS):
            visits += [("lesson", {"step": str(k)}), ("change", f"lesson_reveal_{step.key}", True)]
    for path in (p for p in SWITCHES if switches and p in page_paths):
        visits += [(path, {})] + [("change", key, value) for key, value in SWITCHES[path]]
    return visits


def yield_to_visitors():
    """In a run of the warm-up's session: the lowest CPU priority (nice 19) for this run's thread, before any
    PyTorch work (the OpenMP threads it starts inherit it). Linux sets the nice value per thread."""
    if st.context.headers.get(HEADER) and hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except OSError as e:  # (not allowed here: the warm-up still runs, at normal priority)
            LOG.warning("warm-up: could not lower its priority (%s)", e)


def enabled() -> bool:
    return os.environ.get("SKIPLAB_WARMUP", "1") != "0"


def progress() -> dict:
    """{"state": "not started" | "warming up" | "ready" | "off", "done": visits made, "total": visits planned}."""
    return {**_progress, **({"state": "off"} if not enabled() else {})}


def start(page_paths: list[str]) -> bool:
    """Start the warm-up in a background thread unless it has started in this process, is switched off, or the
    app is not being served (AppTest, a bare `python app.py`). True when this call started it."""
    if not enabled() or not compat.serving():
        return False
    if not _started.acquire(blocking=False):
        return False
    registry.models()  # every card read once, before the first page asks for one
    url = own_url()
    threading.Thread(target=lambda: asyncio.run(visit_all(url, plan(page_paths))), name="skiplab-warmup",
                     daemon=True).start()
    return True


def start_when_served(page_paths: list[str] = PAGE_PATHS, timeout: float = 300.0) -> bool:
    """At server start (serve.py's lifespan, before the server listens): a thread waits until the server answers
    its health check, then runs the warm-up. True when this call started it."""
    if not enabled() or not _started.acquire(blocking=False):
        return False

    def wait_then_visit():
        import urllib.request

        url, deadline = own_url(), time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        LOG.info("warm-up: starting with the server at %s", url)
        asyncio.run(visit_all(url, plan(page_paths)))

    threading.Thread(target=wait_then_visit, name="skiplab-warmup", daemon=True).start()
    return True


def badge():
    """The sidebar's word on the warm-up: "warming up: n of m" (redrawn every 3 s while it runs), then "ready";
    nothing when it is off or has not started, and nothing for the warm-up's own visitor."""
    if st.context.headers.get(HEADER) or progress()["state"] in ("off", "not started"):
        return

    @st.fragment(run_every=3 if _progress["state"] == "warming up" else None)
    def show():
        p = progress()
        if p["state"] == "ready":
            st.caption(":material/check_circle: ready", help="Every page's default view is computed and cached.")
        else:
            st.caption(f":material/hourglass_top: warming up: {p['done']} of {p['total']}",
                       help="The server computes every page's default view once, so a class's first clicks are quick; "
                            "pages open meanwhile, a little slower.")

    with st.sidebar:
        show()


async def visit_all(url: str, visits: list[tuple], timeout: float = TIMEOUT_S) -> list[tuple]:
    """Run each visit in one session of the server at `url`; returns (visit, seconds, texts shown, errors) per visit
    and logs the seconds. A failed visit is logged and skipped: the warm-up never stops the server or a session."""
    done, t0 = [], time.monotonic()
    _progress.update(state="warming up", done=0, total=len(visits))
    session = Session(url, headers={HEADER: "1"})
    try:
        await session.open()
        for visit in visits:
            what = f"{visit[1]}={visit[2]}" if visit[0] == "change" else f"{visit[0] or 'home'} {visit[1] or ''}"
            try:
                async with asyncio.timeout(timeout):
                    seconds, texts, _, errors = await session.step(visit, {})
            except Exception as e:  # noqa: BLE001 (logged; the next visit still runs)
                seconds, texts, errors = None, [], [f"{type(e).__name__}: {e}"]
            done.append((what.strip(), seconds, texts, errors))
            _progress["done"] = len(done)
            LOG.info("warm-up: %s in %s%s", what.strip(), "-" if seconds is None else f"{seconds:.1f} s",
                     f" ({'; '.join(errors)})" if errors else "")
    except Exception as e:  # noqa: BLE001 (no connection: nothing is warmed, the pages compute on their first visit)
        LOG.warning("warm-up: could not visit the server at %s (%s: %s)", url, type(e).__name__, e)
    finally:
        await session.close()
    _progress.update(state="ready", done=len(done))
    LOG.info("warm-up finished: %d visits in %.1f s, %d with errors", len(done), time.monotonic() - t0,
             sum(bool(e) for *_, e in done))
    return done


def own_url() -> str:
    """This server's own address as seen from the machine it runs on: http://host:port[/base]."""
    host = st.get_option("server.address") or "127.0.0.1"
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "localhost") else host
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"http://{host}:{st.get_option('server.port')}" + (f"/{base}" if base else "")
