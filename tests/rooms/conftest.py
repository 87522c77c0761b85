"""The room store's tests run once per store: SQLite (a file in tmp_path), and a REAL Postgres and Redis server
started here on a free local port in a temp folder (Debian's postgresql and redis-server; .ci/run installs them).
Without those binaries the Postgres/Redis runs skip with the reason, except under CI=true, where they fail."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from deploy.replicas import free_port as _free_port

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(why: str):
    if IN_CI:
        pytest.fail(f"CI=true and the store cannot be tested: {why}", pytrace=False)
    pytest.skip(why)


def _wait(check, what: str, log, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} did not start in {seconds:.0f} s:\n{log()}", pytrace=False)


def _pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def _as_user() -> dict:
    """Postgres refuses to run as root: then its processes run as the unprivileged `nobody`."""
    if os.getuid() != 0:
        return {}
    u = pwd.getpwnam("nobody")
    return dict(user=u.pw_uid, group=u.pw_gid)


@pytest.fixture(scope="session")
def postgres_url():
    bindir = _pg_bin()
    if bindir is None:
        _missing("no PostgreSQL binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    try:
        import psycopg
    except ImportError as e:
        _missing(f"psycopg is not installed ({e}); pip install -r requirements.txt")
    who = _as_user()  # (pytest's temp folders are private to root: a folder of its own that `nobody` can enter)
    base = Path(tempfile.mkdtemp(prefix="skiplab-pg-"))
    data, log = base / "data", base / "log.txt"
    if who:
        os.chown(base, who["user"], who["group"])
    init = subprocess.run([f"{bindir}/initdb", "-D", str(data), "-U", "skiplab", "--auth=trust", "-E", "UTF8"],
                          capture_output=True, text=True, **who)
    if init.returncode:
        pytest.fail(f"initdb failed:\n{init.stdout}{init.stderr}", pytrace=False)
    port = _free_port()
    with open(log, "w") as out:
        if who:
            os.chown(log, who["user"], who["group"])
        proc = subprocess.Popen([f"{bindir}/postgres", "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
                                 "-k", str(base), "-c", "fsync=off"], stdout=out, stderr=subprocess.STDOUT, **who)
    url = f"postgresql://skiplab@127.0.0.1:{port}/postgres"

    def up():
        try:
            psycopg.connect(url, connect_timeout=1).close()
            return True
        except psycopg.OperationalError:
            return proc.poll() is not None and pytest.fail(f"postgres exited:\n{log.read_text()}", pytrace=False)

    try:
        _wait(up, "postgres", log.read_text)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    exe = shutil.which("redis-server")
    if exe is None:
        _missing("no redis-server on PATH (apt-get install redis-server)")
    try:
        import redis
    except ImportError as e:
        _missing(f"redis (the client) is not installed ({e}); pip install -r requirements.txt")
    base, port = tmp_path_factory.mktemp("redis"), _free_port()
    log = base / "log.txt"
    with open(log, "w") as out:
        proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                 "--daemonize", "no", "--dir", str(base)], stdout=out, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"

    def up():
        try:
            return redis.Redis.from_url(url, socket_timeout=1).ping()
        except redis.ConnectionError:
            return proc.poll() is not None and pytest.fail(f"redis exited:\n{log.read_text()}", pytrace=False)

    try:
        _wait(up, "redis-server", log.read_text)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def store_url(request, tmp_path):
    """The URL of a fresh store of each kind (the servers are shared; room codes keep tests apart)."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'rooms.db'}"
    return request.getfixturevalue(f"{request.param}_url")
