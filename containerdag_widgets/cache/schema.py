"""The database schema as an ordered list of migrations, applied in one transaction.

Migration *n* (1-based) takes the schema from version n-1 to n. Append, never edit: a
database records each version it received in ``schema_version``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

__all__ = ["MIGRATIONS", "SchemaError", "current_version", "migrate"]


class SchemaError(Exception):
    """The database's schema cannot be used: newer than this toolkit, or a migration failed."""


MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: run history and result cache.
    (
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- the run id; never reused
            started REAL NOT NULL,                 -- unix time
            ended REAL,
            spec TEXT NOT NULL DEFAULT '{}',       -- the graph spec, JSON
            summary TEXT,                          -- JSON, e.g. status counts
            pid INTEGER,                           -- the process (kernel, CLI) that ran it
            host TEXT
        )""",
        """CREATE TABLE node_runs (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            node TEXT NOT NULL,
            process TEXT,
            status TEXT NOT NULL,
            key TEXT,
            key_parts TEXT,                        -- JSON: what the key was computed from
            inputs TEXT,                           -- JSON
            outputs TEXT,                          -- JSON
            error TEXT,
            error_type TEXT,
            log TEXT NOT NULL DEFAULT '',
            duration REAL,
            started REAL,
            ended REAL,
            image_id TEXT,
            worker TEXT,
            reason TEXT,
            PRIMARY KEY (run_id, node)
        )""",
        "CREATE INDEX node_runs_by_node ON node_runs (node, run_id)",
        "CREATE INDEX node_runs_by_key ON node_runs (key)",
        """CREATE TABLE results (
            key TEXT PRIMARY KEY,                  -- node_key(): sha256 hex
            outputs TEXT NOT NULL,                 -- JSON
            run_id INTEGER,                        -- the run that produced it (may be gone)
            node TEXT,
            created REAL NOT NULL,
            last_used REAL NOT NULL,
            size INTEGER NOT NULL,                 -- bytes of outputs
            hits INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID""",
        "CREATE INDEX results_by_last_used ON results (last_used)",
    ),
    # 2: values are stored by ``files.to_stored``, which no process output can pass for a file.
    # Before it, a process could print the stored form of a file (any host path, any hash):
    # results that hold one are dropped (they run again), and the history's are kept as plain
    # data under "$legacy" (shown, never turned back into files).
    (
        """DELETE FROM results WHERE outputs LIKE '%"$file"%'""",
        """UPDATE node_runs SET inputs = '{"$legacy":' || inputs || '}'
           WHERE inputs LIKE '%"$file"%'""",
        """UPDATE node_runs SET outputs = '{"$legacy":' || outputs || '}'
           WHERE outputs LIKE '%"$file"%'""",
    ),
    # 3: where a run came from: the spec file ``containerdag run`` read (an absolute path), so
    # ``containerdag history`` can name it and filter by it. NULL for runs before this column
    # and for runs of graphs built in Python (a notebook's).
    (
        "ALTER TABLE runs ADD COLUMN source TEXT",
    ),
)

_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    applied REAL NOT NULL
)"""


def current_version(conn: sqlite3.Connection) -> int:
    """The schema version of the database behind ``conn`` (0 for a new, empty one)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if exists is None:
        return 0
    return int(conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])


def migrate(conn: sqlite3.Connection,
            migrations: Sequence[Sequence[str]] = MIGRATIONS) -> int:
    """Bring the database up to ``len(migrations)`` in one transaction; return the version.

    ``conn`` must be in autocommit mode (``isolation_level=None``). An up-to-date database
    costs one read; two processes migrating at once serialize on ``BEGIN IMMEDIATE``.
    """
    target = len(migrations)
    version = current_version(conn)
    if version == target:
        return version
    if version > target:
        raise SchemaError(f"schema version {version} is newer than this toolkit's ({target})")
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_VERSION_TABLE)
        version = current_version(conn)  # another process may have migrated meanwhile
        if version > target:
            raise SchemaError(f"schema version {version} is newer than this toolkit's ({target})")
        for number in range(version + 1, target + 1):
            for statement in migrations[number - 1]:
                try:
                    conn.execute(statement)
                except sqlite3.Error as exc:
                    raise SchemaError(f"migration {number} failed: {exc}") from exc
            conn.execute("INSERT INTO schema_version (version, applied) VALUES (?, ?)",
                         (number, time.time()))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return target
