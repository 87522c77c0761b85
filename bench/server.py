"""The server a load bench drives, as a process: start it on a free port, stop it, and read its memory, CPU time
and cache sizes from /proc and its own metrics (bench/load.py)."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from deploy.replicas import free_port

ROOT = Path(__file__).resolve().parents[1]


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


def start_server(log_path: Path, env=None, timeout=180.0, script="app.py"):
    """`streamlit run <script>` on a free port (script: app.py, or serve.py for the warm-up at server start)."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.fileWatcherType", "none"]
    log = open(log_path, "w")  # noqa: SIM115 (open for the server's whole life)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise SystemExit(f"the server was not healthy after {timeout:.0f} s; see {log_path}")


def stop_server(proc):
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


class Sampler(threading.Thread):
    """VmRSS of the server (all its replicas together) every 0.2 s."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.samples, self.stop = pids, [], threading.Event()

    def run(self):
        while self.pids and not self.stop.is_set():
            with contextlib.suppress(OSError, StopIteration):
                self.samples.append((time.monotonic(), total(rss_mb, self.pids)))
            self.stop.wait(0.2)

    def peak(self, t0, t1=float("inf")):
        return max((r for t, r in self.samples if t0 <= t <= t1), default=float("nan"))


def cache_bytes(url: str) -> dict:
    """{cached function: bytes its entries hold} from the server's /_stcore/metrics (Streamlit's own accounting)."""
    with urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=30) as r:
        text = r.read().decode()
    out = {}
    for kind, name, n in re.findall(r'^cache_memory_bytes\{cache_type="([^"]+)",cache="([^"]*)"\} (\d+)', text, re.M):
        out[f"{kind}:{name}"] = out.get(f"{kind}:{name}", 0) + int(n)
    return out


def wait_for_app_warmup(log: Path, since: float, limit: float):
    """Seconds from `since` until the app's own start-up warm-up (frame/warmup.py, started by the first visit) logged
    that it finished, as before a class; None when it did not within `limit` seconds or is switched off."""
    end = time.monotonic() + limit
    while time.monotonic() < end and os.environ.get("SKIPLAB_WARMUP", "1") != "0":
        if "warm-up finished" in log.read_text(errors="replace"):
            return time.monotonic() - since
        time.sleep(1)
    return None


def total(measure, pids) -> float:
    """A measure (rss_mb, cpu_seconds) summed over the server processes (nan when none is known: --url)."""
    return sum(measure(p) for p in pids) if pids else float("nan")
