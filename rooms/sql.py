"""The statements SqlStore runs, written once for SQLite and Postgres (`?` becomes `%s` for Postgres)."""

_TABLES = [
    "CREATE TABLE IF NOT EXISTS rooms (code TEXT PRIMARY KEY, key_hash TEXT NOT NULL, steps INTEGER NOT NULL, "
    "step INTEGER NOT NULL DEFAULT 1, created DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION NOT NULL, "
    "closed INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS reveals (code TEXT NOT NULL, step INTEGER NOT NULL, PRIMARY KEY (code, step))",
    "CREATE TABLE IF NOT EXISTS votes (code TEXT NOT NULL, session TEXT NOT NULL, step INTEGER NOT NULL, "
    "choice TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, PRIMARY KEY (code, step, session))",
    "CREATE TABLE IF NOT EXISTS members (code TEXT NOT NULL, session TEXT NOT NULL, nickname TEXT NOT NULL, "
    "seen DOUBLE PRECISION NOT NULL, PRIMARY KEY (code, session))",
    "CREATE TABLE IF NOT EXISTS hits (name TEXT NOT NULL, minute BIGINT NOT NULL, n INTEGER NOT NULL, "
    "PRIMARY KEY (name, minute))",
]
SCHEMA = {"sqlite": _TABLES, "postgres": _TABLES}

SQL = dict(
    forget="DELETE FROM rooms WHERE expires < ?",
    forget_reveals="DELETE FROM reveals WHERE code NOT IN (SELECT code FROM rooms)",
    forget_votes="DELETE FROM votes WHERE code NOT IN (SELECT code FROM rooms)",
    forget_members="DELETE FROM members WHERE code NOT IN (SELECT code FROM rooms)",
    forget_hits="DELETE FROM hits WHERE minute < ?",
    create="INSERT INTO rooms (code, key_hash, steps, created, expires) VALUES (?, ?, ?, ?, ?)",
    room="SELECT key_hash, steps, step, expires, closed FROM rooms WHERE code = ?",
    revealed="SELECT step FROM reveals WHERE code = ?",
    set_step="UPDATE rooms SET step = ? WHERE code = ?",
    reveal="INSERT INTO reveals (code, step) VALUES (?, ?) ON CONFLICT DO NOTHING",
    close="UPDATE rooms SET closed = 1 WHERE code = ?",
    seen="INSERT INTO members (code, session, nickname, seen) VALUES (?, ?, ?, ?) "
         "ON CONFLICT (code, session) DO UPDATE SET nickname = excluded.nickname, seen = excluded.seen",
    present="SELECT count(*) FROM members WHERE code = ? AND seen >= ?",
    # one statement: the vote lands only while its step is unrevealed, and replaces the session's earlier vote
    vote="INSERT INTO votes (code, session, step, choice, at) SELECT ?, ?, ?, ?, ? "
         "WHERE NOT EXISTS (SELECT 1 FROM reveals WHERE code = ? AND step = ?) "
         "ON CONFLICT (code, step, session) DO UPDATE SET choice = excluded.choice, at = excluded.at",
    votes="SELECT session, choice FROM votes WHERE code = ? AND step = ?",
    hit="INSERT INTO hits (name, minute, n) VALUES (?, ?, 1) "
        "ON CONFLICT (name, minute) DO UPDATE SET n = hits.n + 1 RETURNING n",
)
