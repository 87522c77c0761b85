"""A link asking for a pass over the memory budget is refused with one sentence, before anything is allocated."""

import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads RSS from /proc (Linux)")
def test_the_deepest_largest_gradient_flow_link_is_refused_at_once():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({"depth": "1202", "batch": "256"})
    at.run()
    before, t0 = rss_mb(), time.perf_counter()
    at.switch_page("pages/gradient_flow.py").run()
    assert not at.exception, [e.value for e in at.exception]
    said = [e.value for e in at.warning if "memory" in e.value]  # a notice that says what to lower, not an error box
    assert not at.error and len(said) == 1, [e.value for e in at.error] + said
    assert "Not run: " in said[0] and "ResNet-1202 at batch 256" in said[0] and "lower the batch size to" in said[0], said
    assert time.perf_counter() - t0 < 20 and rss_mb() - before < 300  # refused before the 30 GB pass, not after
    at.selectbox(key="depth").set_value(8).run()  # within budget at batch 256: the page runs it
    assert not at.error and not at.exception, [e.value for e in at.error]
    assert "ResNet-8" in " ".join(c.value for c in at.caption)
