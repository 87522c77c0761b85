"""N skiplab replicas behind Debian's nginx, without containers (a teacher's laptop, the tests):

    python -m deploy.replicas start --replicas 2 --port 8080   # returns once nginx and every replica are healthy
    python -m deploy.replicas stop                             # stops them all (PID files in --run-dir)
    python -m deploy.replicas run --replicas 2 --port 8080     # the same in the foreground; Ctrl-C stops all

Each replica is `streamlit run app.py` on a free loopback port; nginx listens on --port with deploy/nginx.conf (the
template compose.yaml uses too): sticky sessions, the websocket on /_stcore/stream, Streamlit's static files cached.
All replicas share one cookie secret ($SKIPLAB_COOKIE_SECRET, else a random one kept in the run folder, mode 0600)
and the disk folders SKIPLAB_DATA and SKIPLAB_ZOO (as set in the environment). Each replica gets its first visit
(Gradient flow, through the websocket) from the script before nginx sends it anyone: cold replicas met by a whole class at
once have failed runs with "ImportError: cannot import name 'ui' from 'pages'" (concurrent first imports).
"""

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx.conf")
DEFAULT_RUN = Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp") / f"skiplab-replicas-{os.getuid()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render_nginx(listen: str, upstreams: list[str], run_dir: Path) -> str:
    """deploy/nginx.conf with its placeholders filled: listen address, one `server` line per replica, run folder."""
    servers = "\n        ".join(f"server {u} max_fails=0;" for u in upstreams)
    text = TEMPLATE.read_text()
    for key, value in (("@LISTEN@", listen), ("@UPSTREAMS@", servers), ("@RUN@", str(run_dir))):
        text = text.replace(key, value)
    if os.geteuid() == 0:  # workers as root too: the run folder may sit in a folder only root can enter
        text = "user root;\n" + text
    return text


def cookie_secret(run_dir: Path) -> str:
    """One secret for every replica (Streamlit signs its cookies with it): the environment's, else the run folder's."""
    if os.environ.get("SKIPLAB_COOKIE_SECRET"):
        return os.environ["SKIPLAB_COOKIE_SECRET"]
    path = run_dir / "cookie-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=3) as r:
            return r.status == 200
    except OSError:
        return False


def _spawn(cmd, log: Path, env=None) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})))


def start(replicas: int, port: int, run_dir: Path = DEFAULT_RUN, timeout: float = 180.0, env=None,
          warm: bool = True) -> dict:
    """Start `replicas` Streamlit servers and nginx on `port`; wait until all are healthy (warm: and each has had its
    first visit, see the module's docstring). Returns the state written to run_dir/state.json:
    {"url", "replicas": [{"port", "pid"}], "nginx_pid"}. Anything that fails on the way stops what was started."""
    if not shutil.which("nginx"):
        raise SystemExit("nginx is not installed (Debian: apt-get install nginx-light or nginx).")
    run_dir.mkdir(parents=True, exist_ok=True)
    if (run_dir / "state.json").exists():
        stop(run_dir)
    env = {"STREAMLIT_SERVER_COOKIE_SECRET": cookie_secret(run_dir), **(env or {})}
    state = {"url": f"http://127.0.0.1:{port}", "replicas": [], "nginx_pid": None}
    try:
        for i in range(replicas):
            p = free_port()
            cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                   "--browser.gatherUsageStats", "false", "--server.port", str(p), "--server.address", "127.0.0.1",
                   "--server.fileWatcherType", "none"]
            proc = _spawn(cmd, run_dir / f"replica-{i}.log", env)
            state["replicas"].append({"port": p, "pid": proc.pid})
            _save(run_dir, state)
        _wait_healthy(state, run_dir, timeout, through_nginx=False)
        if warm:
            for r in state["replicas"]:
                first_visit(f"http://127.0.0.1:{r['port']}", timeout)
        conf = run_dir / "nginx.conf"
        conf.write_text(render_nginx(f"127.0.0.1:{port}", [f"127.0.0.1:{r['port']}" for r in state["replicas"]],
                                     run_dir))
        nginx = _spawn(["nginx", "-c", str(conf), "-p", str(run_dir), "-g", "daemon off;"], run_dir / "nginx.out")
        state["nginx_pid"] = nginx.pid
        _save(run_dir, state)
        _wait_healthy(state, run_dir, timeout)
    except BaseException:
        stop(run_dir)
        raise
    return state


def _save(run_dir: Path, state: dict):
    tmp = run_dir / "state.json.tmp"
    tmp.write_text(json.dumps(state))
    tmp.replace(run_dir / "state.json")


def first_visit(url: str, timeout: float):
    """One session opens Gradient flow on this replica and waits for its run to finish (the imports, its caches)."""
    from frame.visitor import Session

    async def visit():
        s = Session(url)
        try:
            await s.open()
            return (await s.step(("gradient_flow", {}), {}))[3]
        finally:
            await s.close()

    with ThreadPoolExecutor(1) as pool:  # a thread of its own: the caller may be inside an event loop (Playwright)
        errors = pool.submit(asyncio.run, asyncio.wait_for(visit(), timeout)).result()
    if errors:
        raise SystemExit(f"the first visit of {url} failed: {'; '.join(errors)[:500]}")


def _wait_healthy(state: dict, run_dir: Path, timeout: float, through_nginx: bool = True):
    urls = [f"http://127.0.0.1:{r['port']}" for r in state["replicas"]] + [state["url"]] * through_nginx
    pids = [r["pid"] for r in state["replicas"]] + [state["nginx_pid"]] * through_nginx
    end = time.monotonic() + timeout
    while urls and time.monotonic() < end:
        for pid in pids:
            if not _alive(pid):
                raise SystemExit(f"process {pid} exited at start; see the logs in {run_dir}")
        urls = [u for u in urls if not healthy(u)]
        time.sleep(0.3 if urls else 0)
    if urls:
        raise SystemExit(f"not healthy after {timeout:.0f} s: {', '.join(urls)}; see the logs in {run_dir}")


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # our own child: reap it if it exited
        return waited == 0
    except ChildProcessError:  # not our child (started by an earlier `start`)
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False


def stop(run_dir: Path = DEFAULT_RUN, wait: float = 15.0):
    """Stop nginx and every replica listed in run_dir/state.json (each its own process group): TERM, then KILL."""
    path = run_dir / "state.json"
    if not path.exists():
        return
    state = json.loads(path.read_text())
    pids = [p for p in [state.get("nginx_pid")] + [r["pid"] for r in state["replicas"]] if p]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, sig)
        end = time.monotonic() + wait
        while (pids := [p for p in pids if _alive(p)]) and time.monotonic() < end:
            time.sleep(0.1)
        if not pids:
            break
    path.unlink()


@contextlib.contextmanager
def running(replicas: int, port: int | None = None, run_dir: Path = DEFAULT_RUN, **kw):
    """The topology for the length of a `with` block; stopped on the way out, whatever happened."""
    state = start(replicas, port or free_port(), run_dir, **kw)
    try:
        yield state
    finally:
        stop(run_dir)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["start", "stop", "run"])
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--run-dir", type=Path, default=DEFAULT_RUN, help=f"PID files, logs, nginx.conf ({DEFAULT_RUN})")
    args = ap.parse_args()
    if args.command == "stop":
        stop(args.run_dir)
        print(f"stopped (run folder {args.run_dir})")
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops everything
    state = start(args.replicas, args.port, args.run_dir)
    print(f"{args.replicas} replicas behind nginx at {state['url']} (logs in {args.run_dir})", flush=True)
    if args.command == "run":
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
        finally:
            stop(args.run_dir)


if __name__ == "__main__":
    main()
