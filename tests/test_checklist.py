"""docs/teacher.md's "Before class" checklist, followed as written: its start command (on a free port instead of 8501)
starts a server whose warm-up begins with it (serve.py), counts its visits up to "ready" while a visitor meanwhile
gets the page, the ready signal it names appears in the server's output in bounded time, and the links it says to
put on the board and on the projector answer."""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from deploy.replicas import free_port
from frame import warmup
from frame.visitor import run_to_end, visit_once

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "docs" / "teacher.md"  # the teacher's guide holds the checklist (the README links to it)
READY_S = float(os.environ.get("SKIPLAB_CHECKLIST_READY_S", "780"))  # 196 s on 2 idle cores (2026-12-07); CI is busier


def checklist() -> str:
    """The text under the teacher's guide's "Before class" heading, up to the next heading."""
    text = README.read_text()
    start = re.search(r"^#+ Before class\s*$", text, re.M)
    assert start, "docs/teacher.md has no 'Before class' heading"
    end = re.search(r"^#+ ", text[start.end():], re.M)
    return text[start.end():start.end() + end.start()] if end else text[start.end():]


def commands(section: str) -> list[str]:
    """The lines of the section's fenced bash blocks."""
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    return [line.strip() for b in blocks for line in b.splitlines() if line.strip()]


def test_the_checklist_names_a_start_command_a_ready_signal_and_links():
    section = checklist()
    assert [c for c in commands(section) if c.startswith("streamlit run serve.py")]
    assert "`warm-up finished`" in section and '`"state":"ready"`' in section
    assert "http://localhost:8501/warmup" in section
    assert re.search(r"http://<[^>]+>:8501/\w*", section) and "?present=true" in section
    assert "websocket" in section


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode(errors="replace")


def warmup_progress(port: int) -> dict | None:
    """The warm-up's progress from the checklist's /warmup link ({"state", "done", "total"}), or None while the server
    does not answer."""
    try:
        p = json.loads(fetch(f"http://127.0.0.1:{port}/warmup")[1])
        return p if "state" in p else None
    except (OSError, ValueError):
        return None


def during_warmup(url: str) -> list[str]:
    """A visitor during the warm-up, over Streamlit's protocol: Lesson step 3 shows its question, with no error."""
    _, texts, _, errors = run_to_end(visit_once(url, ("lesson", {"step": "3"}), timeout=300))
    assert not errors and any("Degradation" in t or "training error" in t for t in texts), (texts, errors)
    return texts


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_following_the_checklist_brings_a_ready_server(tmp_path):
    section = checklist()
    start = next(c for c in commands(section) if c.startswith("streamlit run serve.py"))
    port = free_port()
    argv = shlex.split(start.replace("--server.port 8501", f"--server.port {port}"))
    assert f"--server.port {port}" in " ".join(argv), "the start command names no --server.port 8501 to move"
    ready = re.search(r"`(warm-up finished)`", section).group(1)
    log = tmp_path / "server.log"
    env = dict(os.environ, SKIPLAB_ZOO=str(tmp_path / "zoo"), PYTHONUNBUFFERED="1")
    env.pop("SKIPLAB_WARMUP", None)  # the checklist's server warms up
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    try:
        deadline, seen, visited = time.monotonic() + READY_S, [], None
        while (p := warmup_progress(port)) is None or p["state"] != "ready":
            assert proc.poll() is None, f"the server exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"not ready after {READY_S:.0f} s:\n{log.read_text()[-3000:]}"
            if p is not None and p["state"] == "warming up":
                assert p["total"] == len(warmup.plan(warmup.PAGE_PATHS)), p
                seen.append(p["done"])
                if visited is None:  # a visitor meanwhile gets the page, not a blank
                    visited = during_warmup(f"http://127.0.0.1:{port}")
            time.sleep(2)
        text = log.read_text(errors="replace")
        assert ready in text and ", 0 with errors" in text, f"the terminal never said '{ready}' with no errors"
        assert "warm-up: starting with the server" in text  # at start, not at the first visit
        assert seen == sorted(seen) and p["done"] == p["total"], (seen, p)  # "warming up: n of m" only grows
        assert visited is not None, "the warm-up was never seen under way"
        board = re.search(r"http://<[^>]+>:8501(/\w*)", section).group(1)
        projector = re.search(r"http://localhost:8501(/\w*\?present=true)", section).group(1)
        for path in (board, projector):
            status, body = fetch(f"http://127.0.0.1:{port}{path}")
            assert status == 200 and "<div id=\"root\">" in body, f"{path}: {status}"
        assert fetch(f"http://127.0.0.1:{port}/_stcore/health") == (200, "ok")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
