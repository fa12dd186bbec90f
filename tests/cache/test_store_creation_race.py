"""Many processes opening a new cache directory at the same moment (several kernels started
together, a Dask cluster's workers): none waits for the busy timeout, none turns its cache off.

Creating the database, migrating it and switching it to WAL happen under a file lock beside
the database (``Store._creation_lock``); without it, one of the openers sometimes waited the
whole busy timeout at ``PRAGMA journal_mode = WAL`` and warned "result cache off".
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import time
import traceback
import warnings
from pathlib import Path

from containerdag_widgets.cache import MIGRATIONS, SafeStore

PROCESSES = 8
ROUNDS = int(os.environ.get("CONTAINERDAG_RACE_ROUNDS", "50"))


def _open_new_caches(base: str, label: int, rounds: int, barrier, queue) -> None:
    """In a separate process: each round, open the round's (new) database at the same moment
    as the others, write a result and a run, read them back; report what happened."""
    try:
        for number in range(rounds):
            path = Path(base) / f"round-{number}" / "containerdag.sqlite"
            barrier.wait(120)  # every process is here: open together
            started = time.monotonic()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                safe = SafeStore.open(path)
                opened = time.monotonic() - started
                run = safe.begin_run({"opener": label})
                stored = safe.store_result(f"key-{label}", {"label": label}, run, "a")
                found = safe.lookup(f"key-{label}")
                safe.finish_run(run, summary={"done": 1})
                enabled = safe.enabled
                safe.close()
            queue.put((label, number, opened, enabled, run, stored,
                       None if found is None else found.outputs,
                       [f"{w.category.__name__}: {w.message}" for w in caught], None))
    except BaseException:  # noqa: BLE001 - the parent reports it
        queue.put((label, -1, 0.0, False, None, False, None, [], traceback.format_exc()))


def test_eight_processes_create_one_new_cache_at_once_fifty_times(tmp_path):
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter each, as kernels are
    barrier, queue = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_open_new_caches,
                         args=(str(tmp_path), label, ROUNDS, barrier, queue), daemon=True)
             for label in range(PROCESSES)]
    for proc in procs:
        proc.start()
    try:
        reports = []
        deadline = time.monotonic() + 600
        while len(reports) < PROCESSES * ROUNDS:
            report = queue.get(timeout=max(1.0, deadline - time.monotonic()))
            assert report[-1] is None, report[-1]
            reports.append(report)
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join(10)

    warned = [(r[0], r[1], r[7]) for r in reports if r[7]]
    slow = sorted(((r[2], r[0], r[1]) for r in reports), reverse=True)[:5]
    assert warned == [], f"{len(warned)} of {len(reports)} opens warned: {warned[:5]}"
    assert all(r[3] for r in reports), "a store turned itself off"
    assert all(r[5] and r[6] == {"label": r[0]} for r in reports), \
        [r for r in reports if not (r[5] and r[6] == {"label": r[0]})][:5]
    # Nobody waited anything like the busy timeout (10 s) to open; generous for a loaded box.
    assert slow[0][0] < 5.0, f"slowest opens (seconds, process, round): {slow}"

    for number in range(ROUNDS):  # every round's database: one schema, WAL, every write kept
        path = tmp_path / f"round-{number}" / "containerdag.sqlite"
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            versions = [v for (v,) in conn.execute("SELECT version FROM schema_version")]
            assert versions == list(range(1, len(MIGRATIONS) + 1))
            keys = sorted(k for (k,) in conn.execute("SELECT key FROM results"))
            assert keys == sorted(f"key-{label}" for label in range(PROCESSES))
            runs = conn.execute("SELECT count(*) FROM runs WHERE ended IS NOT NULL").fetchone()
            assert runs[0] == PROCESSES
        finally:
            conn.close()


def test_opening_waits_for_the_creation_lock_then_gives_up_with_a_reason(tmp_path):
    import fcntl
    import threading

    from containerdag_widgets.cache.store import lock_path

    path = tmp_path / "containerdag.sqlite"
    holder = os.open(lock_path(path), os.O_RDWR | os.O_CREAT)  # another opener, mid-creation
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            started = time.monotonic()
            safe = SafeStore.open(path, busy_timeout=0.3)
            waited = time.monotonic() - started
        assert not safe.enabled and waited >= 0.25
        messages = [str(w.message) for w in caught]
        assert len(messages) == 1 and "locked" in messages[0] and "creating it" in messages[0]

        releaser = threading.Timer(0.3, fcntl.flock, (holder, fcntl.LOCK_UN))
        releaser.start()  # the other opener finishes: this one goes on
        started = time.monotonic()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            safe = SafeStore.open(path, busy_timeout=60)
        assert safe.enabled and time.monotonic() - started >= 0.25
        assert safe.store_result("k", {"z": 1}) and safe.lookup("k").outputs == {"z": 1}
        safe.close()
        releaser.join()
    finally:
        os.close(holder)
