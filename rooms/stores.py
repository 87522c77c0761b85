"""The stores a room lives in: SQLite (the default, standard library, WAL mode), Postgres and Redis.

Every store has the same methods, each one atomic on its own: create, room, set_step, add_reveal, set_closed, seen,
present, vote (refused, returning False, once the step is revealed: checked in the same statement), votes, hit (a
counter per name and minute, for rate limits).
"""

import os
import sqlite3
import threading
from pathlib import Path

from rooms.sql import SCHEMA, SQL

DAY = 86400.0


def store_url(url: str | None = None) -> str:
    """The store's URL: url, else $SKIPLAB_ROOMS, else sqlite:///<data folder>/rooms.db."""
    if url or os.environ.get("SKIPLAB_ROOMS"):
        return url or os.environ["SKIPLAB_ROOMS"]
    data = Path(os.environ.get("SKIPLAB_DATA") or Path.home() / ".cache" / "skiplab").expanduser()
    return "sqlite:///" + (data.resolve() / "rooms.db").as_posix().lstrip("/")


def open_store(url: str | None = None):
    """A store for sqlite:///path, postgresql://... (or postgres://...) or redis://...; a clear sentence otherwise."""
    url = store_url(url)
    scheme = url.split("://", 1)[0].lower()
    if scheme == "sqlite":
        path = url.split("://", 1)[1]  # sqlite:///abs/path.db -> /abs/path.db
        return SqlStore.sqlite(":memory:" if path in ("/:memory:", ":memory:") else path)
    if scheme in ("postgresql", "postgres"):
        return SqlStore.postgres(url)
    if scheme in ("redis", "rediss"):
        from rooms.redis_store import RedisStore

        return RedisStore(url)
    raise ValueError(f"SKIPLAB_ROOMS={url!r} names no store skiplab knows: use sqlite:///path/rooms.db, "
                     "postgresql://user@host:port/db or redis://host:port/0.")


class SqlStore:
    """SQLite or Postgres through one set of statements (rooms/sql.py); one connection, one statement at a time."""

    def __init__(self, conn, placeholder: str, dialect: str):
        self.conn, self.lock, self.dialect = conn, threading.Lock(), dialect
        self.sql = {k: v.replace("?", placeholder) for k, v in SQL.items()}
        for statement in SCHEMA[dialect]:
            self._run(statement)

    @classmethod
    def sqlite(cls, path: str):
        if path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer; several processes may share it
        conn.execute("PRAGMA synchronous=NORMAL")
        return cls(conn, "?", "sqlite")

    @classmethod
    def postgres(cls, url: str):
        import psycopg

        return cls(psycopg.connect(url, autocommit=True), "%s", "postgres")

    def _run(self, statement: str, args=(), fetch: str | None = None):
        with self.lock:
            cur = self.conn.execute(statement, args)
            if fetch == "one":
                return cur.fetchone()
            if fetch == "all":
                return cur.fetchall()
            return cur.rowcount

    def create(self, code, key_hash, steps, now, expires):
        self._run(self.sql["forget"], (now - DAY,))  # rooms expired over a day ago go, with everything in them
        for table in ("reveals", "votes", "members"):
            self._run(self.sql[f"forget_{table}"])
        self._run(self.sql["forget_hits"], (int(now // 60) - 2,))
        self._run(self.sql["create"], (code, key_hash, steps, now, expires))

    def room(self, code):
        row = self._run(self.sql["room"], (code,), "one")
        if row is None:
            return None
        revealed = {r[0] for r in self._run(self.sql["revealed"], (code,), "all")}
        return dict(key_hash=row[0], steps=row[1], step=row[2], expires=row[3], closed=bool(row[4]), revealed=revealed)

    def set_step(self, code, step):
        self._run(self.sql["set_step"], (step, code))

    def add_reveal(self, code, step):
        self._run(self.sql["reveal"], (code, step))

    def set_closed(self, code):
        self._run(self.sql["close"], (code,))

    def seen(self, code, session, nickname, now):
        self._run(self.sql["seen"], (code, session, nickname, now))

    def present(self, code, since):
        return self._run(self.sql["present"], (code, since), "one")[0]

    def vote(self, code, session, step, choice, now) -> bool:
        return self._run(self.sql["vote"], (code, session, step, choice, now, code, step)) == 1

    def votes(self, code, step) -> dict:
        return dict(self._run(self.sql["votes"], (code, step), "all"))

    def hit(self, name, minute) -> int:
        return self._run(self.sql["hit"], (name, minute), "one")[0]
