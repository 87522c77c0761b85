"""A class in a room, measured over Streamlit's own protocol: `python bench/room.py [--students 60] [--steps 5]`.

Starts the real server (`streamlit run app.py` on a free loopback port, SQLite rooms in a temp folder, no warm-up)
and drives a teacher and N student sessions through the websocket protocol (frame/visitor.py's Session, as
bench/load.py does), each student's screen polling as the browser would: the server's st.fragment(run_every=...)
sends an auto_rerun message, and the client sends that fragment's rerun every `interval` seconds, as the frontend does.
  1. The teacher opens a room on the Lesson page (the "Open a room" button); all students join by its link.
  2. Every student votes on step 1 at a random moment within --vote-window seconds; the teacher's tally polls.
  3. The class sits idle in the room for --idle seconds (server CPU measured).
  4. The teacher clicks Next --steps times; each time the bench waits until every student's screen shows the step.
Prints the p95 seconds from a teacher's step to ALL students showing it (and per student), from a vote being stored
to the teacher's tally counting it, server CPU seconds per student per minute while idle in the room, errors, and
`--replicas 2`: the same through nginx in front of 2 replicas that share a Redis room store (deploy/replicas.py).
Last, exactly: `room: <n> students, step p95 <x> s, tally p95 <y> s, idle <z> cpu-s/student/min, errors <e>`.
"""

import argparse
import asyncio
import contextlib
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import cpu_seconds, start_server, stop_server  # noqa: E402
from frame import streamlit_compat as compat  # noqa: E402 (the protocol's messages)
from frame.visitor import Session, client_state  # noqa: E402
from viz.measures import lesson as L  # noqa: E402

QUESTIONS = {s.question: k for k, s in enumerate(L.STEPS, 1)}
ANSWERED = re.compile(r"(\d+) of (\d+) answered")


class Tap:
    """The session's websocket, with every auto_rerun message (a fragment's run_every) noted on the way in."""

    def __init__(self, ws, autoruns: dict):
        self.ws, self.autoruns = ws, autoruns

    async def recv(self):
        data = await self.ws.recv()
        f = compat.protocol().ForwardMsg.FromString(data)
        if f.WhichOneof("type") == "auto_rerun":
            self.autoruns[f.auto_rerun.fragment_id] = f.auto_rerun.interval
        return data

    async def send(self, data):
        await self.ws.send(data)

    async def close(self):
        await self.ws.close()


class Screen:
    """One browser screen: a Session, its fragments' polls, the step it shows and every error it saw."""

    def __init__(self, url: str):
        self.s, self.autoruns, self.errors, self.step, self.texts, self.widgets = Session(url), {}, [], None, [], {}
        self.lock = asyncio.Lock()  # one run at a time on a websocket: a click waits for a poll, and the reverse

    async def open(self, query: dict):
        await self.s.open()
        self.s.ws = Tap(self.s.ws, self.autoruns)
        await self.note(await self.s.step(("lesson", query), {}))

    async def note(self, result):
        t, texts, captions, errors = result
        self.errors += errors
        if texts:
            self.texts = texts
            shown = [QUESTIONS[q] for t_ in texts for q in QUESTIONS if q in t_]
            if shown:  # a full run of the page (a fragment's run draws only the fragment)
                self.step, self.widgets = shown[0], dict(self.s.widgets)
        return texts

    async def poll(self):
        """One round of the screen's fragments, as the frontend's timers send them."""
        for fid in list(self.autoruns):
            async with self.lock:
                await self.note(await self.s.run(_fragment_rerun(self.s, fid)))

    async def click(self, key: str, value=True):
        async with self.lock:
            self.s.widgets = self.widgets  # the page's widgets, not the last fragment's
            return await self.note(await self.s.step(("change", key, value), {}))


def _fragment_rerun(s: Session, fragment_id: str) -> bytes:
    m = compat.protocol().BackMsg.FromString(client_state(s.query, page_hash=s.page_hash))
    m.rerun_script.fragment_id, m.rerun_script.is_auto_rerun = fragment_id, True
    return m.SerializeToString()


async def poll_until(screen: Screen, stop: asyncio.Event, on_round=None):
    """Poll the screen's fragments at their own interval until stop is set."""
    while not stop.is_set():
        interval = min(screen.autoruns.values(), default=1.0)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        if stop.is_set():
            return
        try:
            await screen.poll()
        except Exception as e:  # noqa: BLE001 (a bench records failures and carries on)
            screen.errors.append(f"poll: {type(e).__name__}: {e}")
            return
        if on_round:
            on_round()


def p95(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))] if xs else float("nan")


async def class_in_a_room(url: str, args, pids: list[int]) -> dict:
    teacher = Screen(url)
    await teacher.open({})
    await teacher.click("room_open")
    code = dict(p.split("=", 1) for p in teacher.s.query.split("&") if "=" in p)["room"]
    students = [Screen(url) for _ in range(args.students)]
    await asyncio.gather(*(s.open({"room": code}) for s in students))
    out = dict(joined=sum(s.step == 1 for s in students), code=code)

    stop = asyncio.Event()
    counts = []  # (time, answered) of each tally the teacher's screen drew
    tally = asyncio.create_task(poll_until(teacher, stop, lambda: counts.extend(
        (time.monotonic(), int(m.group(1))) for t in teacher.texts for m in [ANSWERED.search(t)] if m)))
    polls = [asyncio.create_task(poll_until(s, stop)) for s in students]
    stored = await _votes(students, code, args.vote_window)
    await asyncio.sleep(5)
    c0, w0 = sum(map(cpu_seconds, pids)), time.monotonic()
    await asyncio.sleep(args.idle)  # (the tally keeps polling: a vote counted late is still measured)
    out["idle_cpu"] = (sum(map(cpu_seconds, pids)) - c0) / (time.monotonic() - w0) * 60 / args.students
    out["tally_s"] = [next((tc - tv for tc, n in counts if tc >= tv and n >= j), float("inf"))
                      for j, tv in enumerate(sorted(stored), 1)]
    stop.set()
    await asyncio.gather(tally, *polls)
    out["step_s"], out["each_s"] = await _steps(teacher, students, args.steps)
    out["errors"] = [e for s in (teacher, *students) for e in s.errors]
    await asyncio.gather(*(s.s.close() for s in (teacher, *students)), return_exceptions=True)
    return out


async def _votes(students, code: str, window: float) -> list[float]:
    """Each student votes on step 1 at a random moment in the window; returns when each vote was stored."""
    stored = []
    choices = L.choices(L.STEPS[0], L.STEPS[0].options[0])

    async def one(i, s):
        await asyncio.sleep(random.uniform(0, window))
        await s.click(f"room_vote_{code}_1", choices[i % len(choices)])
        stored.append(time.monotonic())

    await asyncio.gather(*(one(i, s) for i, s in enumerate(students)))
    return stored


async def _steps(teacher, students, steps: int, timeout: float = 30.0):
    """The teacher clicks Next; the time until every student shows the new step (their polls running meanwhile)."""
    alls, each = [], []
    for _ in range(steps):
        stop, shown, target = asyncio.Event(), {}, teacher.step + 1
        polls = [asyncio.create_task(poll_until(s, stop, lambda s=s, shown=shown, target=target:
                                                shown.setdefault(id(s), time.monotonic()) if s.step == target else None)) for s in students]
        t0 = time.monotonic()
        await teacher.click("lesson_next")
        deadline = t0 + timeout
        while len(shown) < len(students) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*polls)
        each += [shown.get(id(s), float("inf")) - t0 for s in students]
        alls.append(max(each[-len(students):]))
        if len(shown) < len(students):
            teacher.errors.append(f"step {target}: {len(students) - len(shown)} students never showed it")
        await asyncio.sleep(1.0)
    return alls, each


@contextlib.contextmanager
def one_server(tmp: Path):
    """(url, [pid]): one bare server, its rooms in SQLite."""
    env = dict(SKIPLAB_ROOMS=f"sqlite://{tmp / 'rooms.db'}", SKIPLAB_WARMUP="0", SKIPLAB_ZOO=str(tmp / "zoo"))
    proc, url = start_server(tmp / "server.log", env=env)
    try:
        yield url, [proc.pid]
    finally:
        stop_server(proc)


@contextlib.contextmanager
def replicas_behind_nginx(tmp: Path, n: int):
    """(nginx's url, the replicas' pids): n replicas behind nginx (deploy/replicas.py), their rooms in one shared
    store, a real redis-server on a free loopback port (the deployment's SKIPLAB_ROOMS=redis://...)."""
    from deploy import replicas

    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("--replicas needs redis-server (apt-get install redis-server) for the shared room store")
    port = replicas.free_port()
    redis = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                              "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    env = dict(SKIPLAB_ROOMS=f"redis://127.0.0.1:{port}/0", SKIPLAB_WARMUP="0", SKIPLAB_ZOO=str(tmp / "zoo"))
    try:
        state = replicas.start(n, replicas.free_port(), tmp / "run", env=env)
        try:
            yield state["url"], [r["pid"] for r in state["replicas"]]
        finally:
            replicas.stop(tmp / "run")
    finally:
        redis.terminate()
        redis.wait(20)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=60)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--vote-window", type=float, default=20.0)
    ap.add_argument("--idle", type=float, default=30.0, help="seconds idle in the room for the CPU figure")
    ap.add_argument("--replicas", type=int, default=0, help="N replicas behind nginx sharing a Redis room store "
                    "(0: one bare server, rooms in SQLite)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="skiplab-room-bench-"))
    (tmp / "run").mkdir()
    where = replicas_behind_nginx(tmp, args.replicas) if args.replicas else one_server(tmp)
    with where as (url, pids):
        out = asyncio.run(class_in_a_room(url, args, pids))
    print(f"where: {f'{args.replicas} replicas behind nginx, rooms in Redis' if args.replicas else 'one server, rooms in SQLite'}")
    n, errors = args.students, out["errors"]
    print(f"room {out['code']}: {out['joined']} of {n} students joined and showed step 1")
    print(f"teacher's step -> all {n} students show it: p95 {p95(out['step_s']):.2f} s over {len(out['step_s'])} steps "
          f"({', '.join(f'{x:.2f}' for x in out['step_s'])}); per student p95 {p95(out['each_s']):.2f} s")
    print(f"vote stored -> the teacher's tally counts it: p95 {p95(out['tally_s']):.2f} s over {len(out['tally_s'])} "
          f"votes (median {sorted(out['tally_s'])[len(out['tally_s']) // 2]:.2f} s)")
    print(f"idle in the room: {out['idle_cpu']:.3f} server CPU-seconds per student per minute "
          f"({out['idle_cpu'] * n / 60:.2f} of a core for {n} students)")
    print(f"errors: {len(errors)}" + "".join(f"\n  {e}" for e in errors[:10]))
    print(f"room: {n} students, step p95 {p95(out['step_s']):.2f} s, tally p95 {p95(out['tally_s']):.2f} s, "
          f"idle {out['idle_cpu']:.3f} cpu-s/student/min, errors {len(errors)}")


if __name__ == "__main__":
    main()
