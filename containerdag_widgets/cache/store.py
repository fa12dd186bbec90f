"""Store: the result cache and run history in one SQLite file, shared by threads and processes.

WAL mode lets readers run beside one writer; every write is a short ``BEGIN IMMEDIATE``
transaction that waits up to ``busy_timeout`` for another process. Opening (creating the file,
switching it to WAL, migrating the schema) happens under an exclusive ``fcntl`` lock on a file
beside the database (``<name>.lock``), so any number of processes can open a new cache
directory at the same moment: SQLite's own locks cannot order that step (two connections that
both read the new file and then both want to write it are a deadlock that SQLite breaks by
failing one at once with "database is locked", without waiting). One connection per
process, guarded by a lock, serves every thread. Database failures raise :class:`CacheError`;
:class:`~.safe.SafeStore` turns them into one :class:`CacheUnavailable` warning instead.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ..model.files import File, files_in, loads_stored, stored_json
from .failures import (
    CacheError,
    CacheUnavailable,
    CacheWarning,
    RunNotFound,
    UnstorableValue,
    describe_failure,
)
from .paths import database_path
from .records import CachedResult, NodeRecord, RunRecord, RunSummary
from .rows import (
    NODE_COLUMNS,
    SHA256,
    UPSERT_NODE,
    UPSERT_RESULT,
    dump,
    load,
    node_record,
    node_row,
)
from .schema import MIGRATIONS, SchemaError, migrate

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the pragma's retry below is all there is
    fcntl = None  # type: ignore[assignment]

__all__ = ["CacheError", "CacheUnavailable", "CacheWarning", "RunNotFound", "SizePrune", "Store",
           "UnstorableValue", "describe_failure"]

_TOUCH_BATCH = 256  # lookups remembered before their last_used is written
#: What a result's row takes in the database besides its outputs (key, columns, index entries):
#: ``prune_to_size``'s estimate of what forgetting it frees.
ROW_OVERHEAD = 160
LOCK_SUFFIX = ".lock"  # the creation lock: ``containerdag.sqlite.lock`` beside the database


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The file whose ``fcntl`` lock orders the opening (creation, WAL, migration) of ``path``."""
    path = Path(path)
    return path.with_name(path.name + LOCK_SUFFIX)


@contextlib.contextmanager
def creation_lock(path: str | os.PathLike[str], timeout: float) -> Iterator[None]:
    """Hold the exclusive creation lock of the database at ``path`` (waiting up to ``timeout``).

    Where the lock file cannot be made (a read-only directory, a file system without locks)
    it is skipped: opening then fails or succeeds on its own, with SQLite's reason.
    Raises ``sqlite3.OperationalError`` ("... is locked") when another process holds it past
    ``timeout``.
    """
    if fcntl is None:  # pragma: no cover - not POSIX
        yield
        return
    where = lock_path(path)
    try:
        fd = os.open(where, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError:
        yield
        return
    try:
        deadline = time.monotonic() + timeout
        delay = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    break  # no locks here (e.g. some network file systems): go on without
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError(
                        f"database is locked: another process is creating it ({where})") from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _execute_retrying(conn: sqlite3.Connection, sql: str, timeout: float) -> None:
    """Execute ``sql``, retrying with backoff while SQLite answers "locked" or "busy" at once
    (a connection outside the creation lock, e.g. an older toolkit or the sqlite3 shell)."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            conn.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


class Store:
    """The result cache and run history in one SQLite file. Thread- and process-safe."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 10.0,
                 clock: Callable[[], float] = time.time,
                 migrations: Sequence[Sequence[str]] = MIGRATIONS):
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._clock = clock
        self._migrations = migrations
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._closed = False
        self._inherited: list[sqlite3.Connection] = []  # from a parent process: never touched
        self._touched: dict[str, list[float]] = {}  # key -> [last_used, hits] not yet written
        self.schema_version = 0

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, busy_timeout: float = 10.0,
             clock: Callable[[], float] = time.time,
             migrations: Sequence[Sequence[str]] = MIGRATIONS) -> Store:
        """Open (creating and migrating) the database at ``path``, default ``database_path()``.

        Raises :class:`CacheError` when it cannot be used (corrupt, locked, unwritable).
        """
        store = cls(path if path is not None else database_path(), busy_timeout=busy_timeout,
                    clock=clock, migrations=migrations)
        with store._lock:
            store._connection()
        return store

    # ---- connection and transactions ---------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn database and file-system failures into CacheError naming the path and reason."""
        try:
            yield
        except (sqlite3.Error, OSError, SchemaError) as exc:
            raise CacheError(self.path, describe_failure(exc, self.busy_timeout)) from exc

    def _connection(self) -> sqlite3.Connection:
        """This process's connection, opened (and the schema migrated) on first use."""
        if self._closed:
            raise CacheError(self.path, "the store is closed")
        if self._pid != os.getpid():  # forked: a connection must not cross fork
            if self._conn is not None:
                self._inherited.append(self._conn)
            self._conn, self._pid, self._touched = None, os.getpid(), {}
        if self._conn is None:
            with self._guard():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with creation_lock(self.path, self.busy_timeout):
                    conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout,
                                           isolation_level=None, check_same_thread=False)
                    try:
                        _execute_retrying(conn, "PRAGMA journal_mode = WAL", self.busy_timeout)
                        # WAL with synchronous NORMAL: durable but for power loss.
                        conn.execute("PRAGMA synchronous = NORMAL")
                        conn.execute("PRAGMA foreign_keys = ON")
                        self.schema_version = migrate(conn, self._migrations)
                    except BaseException:
                        conn.close()
                        raise
            self._conn = conn
        return self._conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """The connection under the lock, for statements that only read."""
        with self._lock, self._guard():
            yield self._connection()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (pending lookups' last_used included), committed at the end."""
        with self._lock, self._guard():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._flush_touches(conn)
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _flush_touches(self, conn: sqlite3.Connection) -> None:
        """Write the last_used time and hit count of the results looked up since the last write."""
        if self._touched:
            rows = [(used, hits, key) for key, (used, hits) in self._touched.items()]
            conn.executemany("UPDATE results SET last_used = max(last_used, ?), hits = hits + ? "
                             "WHERE key = ?", rows)
            self._touched = {}

    def close(self) -> None:
        """Write pending last_used times and close the connection; later calls raise."""
        with self._lock:
            if self._closed:
                return
            try:
                if self._touched and self._conn is not None and self._pid == os.getpid():
                    with self._write():
                        pass
            finally:
                if self._conn is not None and self._pid == os.getpid():
                    self._conn.close()
                self._conn, self._closed = None, True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # ---- result cache -----------------------------------------------------------------------

    def lookup(self, key: str) -> CachedResult | None:
        """The stored result for ``key``, or None. One indexed read; last_used is batched."""
        with self._read() as conn:
            row = conn.execute("SELECT outputs, run_id, node, created FROM results "
                               "WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            touched = self._touched.get(key)
            if touched is None:
                self._touched[key] = [self._clock(), 1]
            else:
                touched[0], touched[1] = self._clock(), touched[1] + 1
            flush = len(self._touched) >= _TOUCH_BATCH
        if flush:
            with self._write():
                pass
        outputs = loads_stored(row[0])
        if not all(_stored_artifact(f) for f in files_in(outputs, json_form=False)):
            return None  # an output file was pruned from the artifact store: run again
        return CachedResult(key=key, outputs=outputs, run_id=row[1], node=row[2],
                            created=row[3])

    def store_result(self, key: str, outputs: Any, run_id: int | None = None,
                     node: str | None = None) -> None:
        """Store (or replace) the outputs for ``key``; only succeeded, cacheable nodes belong here.

        Raises :class:`UnstorableValue` when the outputs are not JSON.
        """
        self.store_results([(key, outputs, run_id, node)])

    def store_results(self, results: Iterable[tuple[str, Any, int | None, str | None]]) -> None:
        """Store several ``(key, outputs, run_id, node)`` results in one transaction.

        Outputs that are not JSON are left out; :class:`UnstorableValue` then names their nodes
        after the others are stored.
        """
        rows, refused = [], []
        now = self._clock()
        for key, outputs, run_id, node in results:
            try:
                text = stored_json(outputs)
            except (TypeError, ValueError) as exc:
                refused.append(f"outputs of node {node!r} are not JSON: {exc}")
                continue
            rows.append((key, text, run_id, node, now, now, len(text.encode("utf-8"))))
        if rows:
            with self._write() as conn:
                for row in rows:
                    self._touched.pop(row[0], None)
                conn.executemany(UPSERT_RESULT, rows)
        if refused:
            raise UnstorableValue("; ".join(refused))

    def clear(self, *, history: bool = False) -> int:
        """Remove every stored result (and with ``history=True`` every run); return the count."""
        with self._write() as conn:
            removed = conn.execute("DELETE FROM results").rowcount
            if history:
                conn.execute("DELETE FROM node_runs")
                conn.execute("DELETE FROM runs")
        return removed

    def prune(self, older_than_days: float | None = None,
              max_size_mb: float | None = None) -> int:
        """Remove results unused for ``older_than_days``, then least recently used ones until
        the results total at most ``max_size_mb``; return how many were removed."""
        for name, value in (("older_than_days", older_than_days), ("max_size_mb", max_size_mb)):
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0, not {value!r}")
        removed = 0
        with self._write() as conn:
            if older_than_days is not None:
                cutoff = self._clock() - older_than_days * 86400.0
                removed += conn.execute("DELETE FROM results WHERE last_used < ?",
                                        (cutoff,)).rowcount
            if max_size_mb is not None:
                limit = max_size_mb * 1024 * 1024
                total = conn.execute("SELECT coalesce(sum(size), 0) FROM results").fetchone()[0]
                victims = []
                if total > limit:
                    rows = conn.execute("SELECT key, size FROM results "
                                        "ORDER BY last_used, created").fetchall()
                    for key, size in rows:
                        if total <= limit:
                            break
                        victims.append((key,))
                        total -= size
                conn.executemany("DELETE FROM results WHERE key = ?", victims)
                removed += len(victims)
        return removed

    def prune_to_size(self, limit: int, file_sizes: Mapping[str, int]) -> SizePrune:
        """Forget results, least recently used first, until the database plus the artifact
        files still named fit in ``limit`` bytes; ``file_sizes`` is the artifact store's
        bytes by content hash (``ArtifactStore.sizes()``).

        A result naming a file missing from ``file_sizes`` is forgotten first, whatever the
        size (it could never be reused). A file counts while a result that stays or a recorded
        run names it; the files of the run history cannot be freed here (``prune_runs``).
        The database counts by its used pages; when results went, VACUUM and a WAL checkpoint
        shrink its files to that (best effort: skipped while another process writes).
        The caller then removes the files no longer named (``ArtifactStore.prune`` with
        ``file_hashes()``).
        """
        if limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit!r}")
        with self._write() as conn:
            pinned: set[str] = set()
            for query in ("SELECT inputs FROM node_runs WHERE inputs LIKE '%\"$file\"%'",
                          "SELECT outputs FROM node_runs WHERE outputs LIKE '%\"$file\"%'"):
                for (text,) in conn.execute(query):
                    pinned.update(SHA256.findall(text or ""))
            rows = [(key, size, set(SHA256.findall(text or ""))) for key, size, text in
                    conn.execute("SELECT key, size, CASE WHEN outputs LIKE '%\"$file\"%' "
                                 "THEN outputs END FROM results "
                                 "ORDER BY last_used, created, key")]
            named: dict[str, int] = {}  # hash -> how many results name it
            for _, _, hashes in rows:
                for sha in hashes:
                    named[sha] = named.get(sha, 0) + 1
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            database = (pages - free) * page_size
            history = sum(file_sizes.get(sha, 0) for sha in pinned)
            files = history + sum(file_sizes.get(sha, 0) for sha in named if sha not in pinned)
            total = database + files
            victims: list[str] = []

            def forget(key: str, size: int, hashes: set[str]) -> None:
                nonlocal total, database, files
                victims.append(key)
                freed = min(size + ROW_OVERHEAD, database)
                database -= freed
                total -= freed
                for sha in hashes:
                    named[sha] -= 1
                    if named[sha] == 0 and sha not in pinned:
                        files -= file_sizes.get(sha, 0)
                        total -= file_sizes.get(sha, 0)

            dead = [row for row in rows if any(sha not in file_sizes for sha in row[2])]
            for row in dead:
                forget(*row)
            gone = {row[0] for row in dead}
            for row in rows:
                if total <= limit:
                    break
                if row[0] not in gone:
                    forget(*row)
            conn.executemany("DELETE FROM results WHERE key = ?", [(key,) for key in victims])
        if victims:
            self._shrink()
        return SizePrune(results=len(victims), dead=len(dead), database=database, files=files,
                         history_files=history, limit=limit)

    def _shrink(self) -> None:
        """VACUUM the database and truncate its WAL, unless another connection is busy."""
        with self._lock, self._guard():
            conn = self._connection()
            for statement in ("VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"):
                try:
                    conn.execute(statement)
                except sqlite3.OperationalError as exc:
                    text = str(exc).lower()
                    if "locked" not in text and "busy" not in text:
                        raise

    # ---- run history ------------------------------------------------------------------------

    #: The history keeps this many runs: every 100th run forgets the older ones.
    keep_runs = 1000

    def begin_run(self, spec: Mapping[str, Any], started: float | None = None, *,
                  source: str | None = None) -> int:
        """Record the start of a run of the graph ``spec`` (read from ``source``, e.g. the
        spec file the command line ran); return its run id."""
        started = self._clock() if started is None else started
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (started, spec, pid, host, source) VALUES (?, ?, ?, ?, ?)",
                (started, dump(dict(spec)), os.getpid(), socket.gethostname(), source))
            run_id = int(cursor.lastrowid)
        if run_id % 100 == 0:
            self.prune_runs(self.keep_runs)
        return run_id

    def prune_runs(self, keep: int) -> int:
        """Forget every run but the latest ``keep``, with their nodes; return how many went.
        (Cached results stay: they do not depend on the history.)"""
        if keep < 0:
            raise ValueError(f"keep must be >= 0, not {keep!r}")
        with self._write() as conn:
            row = conn.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?",
                               (keep,)).fetchone()
            if row is None:
                return 0
            conn.execute("DELETE FROM node_runs WHERE run_id <= ?", (row[0],))
            return conn.execute("DELETE FROM runs WHERE id <= ?", (row[0],)).rowcount

    def record_node(self, run_id: int, record: NodeRecord) -> None:
        """Record (or update) one node of run ``run_id``."""
        self.record_nodes(run_id, [record])

    def record_nodes(self, run_id: int, records: Iterable[NodeRecord]) -> None:
        """Record (or update) several nodes of run ``run_id`` in one transaction."""
        rows = [node_row(run_id, record) for record in records]
        if not rows:
            return
        with self._write() as conn:
            conn.executemany(UPSERT_NODE, rows)

    def finish_run(self, run_id: int, ended: float | None = None,
                   summary: Mapping[str, Any] | None = None) -> None:
        """Record the end of run ``run_id`` and its summary (e.g. counts per status)."""
        ended = self._clock() if ended is None else ended
        with self._write() as conn:
            conn.execute("UPDATE runs SET ended = ?, summary = ? WHERE id = ?",
                         (ended, dump(dict(summary or {})), run_id))

    def last_node_run(self, node: str, *, before_run: int | None = None,
                      with_parts: bool = True) -> NodeRecord | None:
        """The latest record of a node named ``node`` (with key parts, by default), or None.

        ``before_run`` ignores that run and later ones, e.g. the run now in progress.
        """
        sql = f"SELECT run_id, {', '.join(NODE_COLUMNS)} FROM node_runs WHERE node = ?"
        args: list[Any] = [node]
        if with_parts:
            sql += " AND key_parts IS NOT NULL"
        if before_run is not None:
            sql += " AND run_id < ?"
            args.append(before_run)
        with self._read() as conn:
            row = conn.execute(sql + " ORDER BY run_id DESC LIMIT 1", args).fetchone()
        return None if row is None else node_record(row)

    def runs(self, limit: int = 20, *, source: str | None = None) -> list[RunSummary]:
        """The latest ``limit`` runs, newest first, with their node counts per status; with
        ``source``, only the runs whose source is it or ends in ``/`` and it."""
        where, args = "", [limit]
        if source is not None:
            where = "WHERE source = ? OR substr(source, -?) = ? "
            args = [source, len(source) + 1, "/" + source, limit]
        with self._read() as conn:
            rows = conn.execute("SELECT id, started, ended, summary, pid, host FROM runs "
                                f"{where}ORDER BY id DESC LIMIT ?", args).fetchall()
            counts: dict[int, dict[str, int]] = {row[0]: {} for row in rows}
            if rows:
                low, high = rows[-1][0], rows[0][0]
                for run_id, status, n in conn.execute(
                        "SELECT run_id, status, count(*) FROM node_runs WHERE run_id BETWEEN ? "
                        "AND ? GROUP BY run_id, status", (low, high)):
                    if run_id in counts:
                        counts[run_id][status] = n
        return [RunSummary(run_id=r[0], started=r[1], ended=r[2], summary=load(r[3]) or {},
                           statuses=counts[r[0]], pid=r[4], host=r[5]) for r in rows]

    def sources(self, run_ids: Iterable[int]) -> dict[int, str | None]:
        """Where each of these runs came from (``begin_run``'s ``source``), by run id."""
        ids = set(run_ids)
        if not ids:
            return {}
        with self._read() as conn:
            rows = conn.execute("SELECT id, source FROM runs WHERE id BETWEEN ? AND ?",
                                (min(ids), max(ids))).fetchall()
        return {run_id: source for run_id, source in rows if run_id in ids}

    def load_run(self, run_id: int) -> RunRecord:
        """Run ``run_id`` with every node's record; :class:`RunNotFound` if there is none."""
        with self._read() as conn:
            conn.execute("BEGIN")  # one snapshot for both reads
            try:
                run = conn.execute("SELECT id, started, ended, spec, summary, pid, host "
                                   "FROM runs WHERE id = ?", (run_id,)).fetchone()
                rows = conn.execute(f"SELECT run_id, {', '.join(NODE_COLUMNS)} FROM node_runs "
                                    "WHERE run_id = ? ORDER BY rowid", (run_id,)).fetchall()
            finally:
                conn.execute("COMMIT")
        if run is None:
            raise RunNotFound(self.path, run_id)
        nodes = {row[1]: node_record(row) for row in rows}
        return RunRecord(run_id=run[0], started=run[1], ended=run[2], spec=load(run[3]) or {},
                         summary=load(run[4]) or {}, nodes=nodes, pid=run[5], host=run[6])

    def file_hashes(self) -> set[str]:
        """The content hashes of the files that cached results and recorded runs name (what
        the artifact store keeps when it is pruned)."""
        found: set[str] = set()
        with self._read() as conn:
            for query in ("SELECT outputs FROM results WHERE outputs LIKE '%\"$file\"%'",
                          "SELECT inputs FROM node_runs WHERE inputs LIKE '%\"$file\"%'",
                          "SELECT outputs FROM node_runs WHERE outputs LIKE '%\"$file\"%'"):
                for (text,) in conn.execute(query):
                    found.update(SHA256.findall(text or ""))
        return found

    def info(self) -> dict[str, Any]:
        """Where the database is, how big, and how many results and runs it holds."""
        if self._touched:  # pending last_used times first; otherwise only read
            with self._write():
                pass
        with self._read() as conn:
            results = conn.execute("SELECT count(*), coalesce(sum(size), 0), "
                                   "coalesce(sum(hits), 0), min(created), max(created) "
                                   "FROM results").fetchone()
            runs = conn.execute("SELECT count(*), min(started), max(started) FROM runs").fetchone()
            node_runs = conn.execute("SELECT count(*) FROM node_runs").fetchone()[0]
        size = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                size += self.path.with_name(self.path.name + suffix).stat().st_size
        return {
            "path": str(self.path), "bytes": size, "schema_version": self.schema_version,
            "results": results[0], "result_bytes": results[1], "hits": results[2],
            "oldest_result": results[3], "newest_result": results[4],
            "runs": runs[0], "oldest_run": runs[1], "newest_run": runs[2],
            "node_runs": node_runs,
        }


class SizePrune(NamedTuple):
    """What ``Store.prune_to_size`` did: results forgotten (``dead`` of them for a missing
    file) and the bytes left by its estimate, the database's and the files' still named
    (``history_files`` of them named by recorded runs, which it cannot free)."""

    results: int
    dead: int
    database: int
    files: int
    history_files: int
    limit: int

    @property
    def total(self) -> int:
        return self.database + self.files

    @property
    def fits(self) -> bool:
        return self.total <= self.limit


def _stored_artifact(file: File) -> bool:
    """Whether ``file`` is still an artifact as the store wrote it: under ``<sha[:2]>/<sha>/``
    of its own hash, a regular file of its recorded size (an output is never anything else)."""
    parent = file.path.parent
    if parent.name != file.sha256 or parent.parent.name != file.sha256[:2]:
        return False
    try:
        return file.path.is_file() and file.path.stat().st_size == file.size
    except OSError:
        return False
