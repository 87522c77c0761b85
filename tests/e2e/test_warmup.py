"""The start-up warm-up (frame/warmup.py, issue 16) on a real server, seen through Streamlit's own counters
(/_stcore/metrics: every cached function's hits and misses): after it, a visit of every page at its defaults and of
every Lesson step computes nothing new, and it shows exactly what a visit of a cold server shows. Not timed: the
warm-up's seconds are in the server's log and in bench/load.py. No browser: the visits speak Streamlit's protocol
(frame/visitor.py), as the warm-up itself does."""

import re
import time
from pathlib import Path

import pytest

from bench.load import start_server, stop_server
from frame import warmup
from frame.visitor import run_to_end

# a whole warm-up (every page, every Lesson step, the switched views: 44 visits) runs inside these tests' set-up;
# on 2 quiet cores it takes minutes, more than the suite's default 600 s per test
pytestmark = pytest.mark.timeout(1800)

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "artifacts"
PATHS = ["" if p == "home" else p for p in re.findall(r'st\.Page\("pages/(\w+)\.py"', (ROOT / "app.py").read_text())]
LOOKUP = re.compile(r'^cache_lookups_total\{cache="([^"]+)",cache_type="([^"]+)",result="(hit|miss)"\} (\d+)', re.M)
# The zoo's listing is read again every 30 s by design (a model saved meanwhile appears); it computes no view
RELISTED = {"st_cache_data:frame.catalog._zoo_catalog"}
# Texts that say how long something took may differ between two runs of the same computation
TIMING = re.compile(r"\b(left|took|elapsed)\b|\bin \d+(\.\d+)? ?s\b")


def lookups(url: str) -> dict:
    """{(cached function, hit or miss): count} from the server's metrics."""
    import urllib.request

    with urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=30) as r:
        text = r.read().decode()
    return {(f"{t}:{c}", kind): int(n) for c, t, kind, n in LOOKUP.findall(text)}


def visit(url: str, switches: bool = True) -> list[tuple]:
    return run_to_end(warmup.visit_all(url, warmup.plan(PATHS, switches)))


def shown(results) -> dict:
    """{visit: its texts}, timing texts left out."""
    return {what: [t for t in texts if not TIMING.search(t)] for what, _, texts, _ in results}


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """A server whose first visit (Home) started the warm-up, once the warm-up has finished."""
    LOGS.mkdir(exist_ok=True)
    log = LOGS / "warmup-server.log"
    zoo = str(tmp_path_factory.mktemp("zoo"))  # (empty: the shipped models only; the cold server below uses it too)
    proc, url = start_server(log, env={"SKIPLAB_ZOO": zoo, "SKIPLAB_WARMUP": "1"})
    try:
        first = run_to_end(warmup.visit_all(url, [("", {})]))
        assert not first[0][3], first
        deadline = time.monotonic() + 1800
        while "warm-up finished" not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, "the warm-up did not finish in 30 minutes:\n" + log.read_text()[-3000:]
            time.sleep(2)
        assert ", 0 with errors" in log.read_text(), log.read_text()[-3000:]
        yield url, zoo
    finally:
        stop_server(proc)


def test_after_the_warm_up_every_default_view_comes_from_the_cache(warm):
    warm, _ = warm
    before = lookups(warm)
    results = visit(warm)
    after = lookups(warm)
    assert all(not errors for *_, errors in results), [r for r in results if r[3]]
    assert len(results) == len(warmup.plan(PATHS)) and all(s is not None for _, s, _, _ in results)
    new_misses = {k[0]: after[k] - before.get(k, 0) for k in after if k[1] == "miss" and after[k] > before.get(k, 0)
                  and k[0] not in RELISTED}
    assert new_misses == {}, f"computed again on a second visit: {new_misses}"
    hits = sum(after[k] - before.get(k, 0) for k in after if k[1] == "hit")
    assert hits >= len(PATHS), f"only {hits} cache hits over {len(results)} visits"


def test_the_warm_up_shows_what_a_visit_of_a_cold_server_shows(warm):
    warm, zoo = warm
    warm_texts = shown(visit(warm, switches=False))  # (the pages and the Lesson: the other views would take the cold
    # server minutes more; the test above shows they come from the cache)
    proc, url = start_server(LOGS / "cold-server.log", env={"SKIPLAB_ZOO": zoo, "SKIPLAB_WARMUP": "0"})
    try:
        cold = visit(url, switches=False)
        assert all(not errors for *_, errors in cold), [r for r in cold if r[3]]
    finally:
        stop_server(proc)
    cold_texts = shown(cold)
    assert list(cold_texts) == list(warm_texts)
    for what in cold_texts:
        assert warm_texts[what] == cold_texts[what], what
    numbers = sum(bool(re.search(r"\d\.\d", t)) for texts in cold_texts.values() for t in texts)
    assert numbers >= 10, "the pages' texts should carry computed numbers to compare"


def test_serve_py_warms_exactly_the_pages_of_the_navigation():
    """serve.py starts the warm-up with the server (tests/test_checklist.py follows it to "ready") over PAGE_PATHS,
    which must be app.py's navigation."""
    assert warmup.PAGE_PATHS == PATHS
