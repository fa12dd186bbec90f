"""The SQLite store shared by threads and processes, and failing without failing a run."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import traceback
import warnings
from pathlib import Path

import pytest

from containerdag_widgets.cache import (
    MIGRATIONS,
    CacheError,
    CacheUnavailable,
    CacheWarning,
    NodeRecord,
    SafeStore,
    Store,
    remove_database,
)


def _only_warning(caught: list[warnings.WarningMessage]) -> CacheUnavailable:
    unavailable = [w.message for w in caught if isinstance(w.message, CacheUnavailable)]
    assert len(unavailable) == 1, [str(w.message) for w in caught]
    return unavailable[0]


# ---- concurrency -----------------------------------------------------------------------------


def test_threads_share_one_store(store):
    errors = []

    def work(label: int) -> None:
        try:
            for i in range(20):
                run = store.begin_run({"thread": label})
                store.record_node(run, NodeRecord("a", "done", key=f"{label}-{i}"))
                store.store_result(f"{label}-{i}", {"z": i}, run, "a")
                assert store.lookup(f"{label}-{i}").outputs == {"z": i}
                store.finish_run(run)
        except Exception:  # noqa: BLE001 - reported below
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    info = store.info()
    assert (info["runs"], info["results"], info["node_runs"]) == (160, 160, 160)


RUNS_PER_PROCESS = 50


def _record_runs(path: str, label: str, barrier, queue) -> None:
    """In a separate process: record RUNS_PER_PROCESS runs, as a kernel would."""
    try:
        with Store.open(path) as store:  # both create the file at about the same time
            barrier.wait(60)  # both are open: write at the same time
            ids = []
            for i in range(RUNS_PER_PROCESS):
                run = store.begin_run({"writer": label, "i": i})
                if i == 0:  # both have begun a run before either ends one: they overlap
                    barrier.wait(60)  # however the two processes are scheduled
                store.record_nodes(run, [
                    NodeRecord(f"n{j}", "done", key=f"{label}-{i}-{j}", inputs={"i": i},
                               outputs={"z": i * 1.5}) for j in range(3)])
                store.store_result(f"{label}-{i}", {"z": i * 1.5}, run, "n0")
                assert store.lookup(f"{label}-{i}") is not None
                store.finish_run(run, summary={"done": 3})
                ids.append(run)
        queue.put((label, ids, None))
    except BaseException:  # noqa: BLE001 - the parent reports it
        queue.put((label, [], traceback.format_exc()))


def test_two_processes_write_one_database_at_once(tmp_path):
    path = str(tmp_path / "shared" / "containerdag.sqlite")  # neither finds it: both create it
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_record_runs, args=(path, label, barrier, queue), daemon=True)
             for label in ("one", "two")]
    for proc in procs:
        proc.start()
    try:
        reports = [queue.get(timeout=300) for _ in procs]
    finally:
        for proc in procs:
            proc.join(60)
            if proc.is_alive():
                proc.kill()
                proc.join(10)
    assert [r[2] for r in reports] == [None, None], [r[2] for r in reports]
    assert all(proc.exitcode == 0 for proc in procs)

    ids = {label: run_ids for label, run_ids, _ in reports}
    with Store.open(path) as store:
        info = store.info()
        assert (info["runs"], info["results"], info["node_runs"]) == (100, 100, 300)
        assert sorted(ids["one"] + ids["two"]) == list(range(1, 101))
        spans = {label: (store.load_run(run_ids[0]).started, store.load_run(run_ids[-1]).ended)
                 for label, run_ids in ids.items()}
        assert spans["one"][0] < spans["two"][1] and spans["two"][0] < spans["one"][1], spans
        for label, run_ids in ids.items():
            assert run_ids == sorted(run_ids)
            for i, run_id in enumerate(run_ids):
                record = store.load_run(run_id)
                assert record.spec == {"writer": label, "i": i}
                assert record.ended is not None and len(record.nodes) == 3
                assert store.lookup(f"{label}-{i}").outputs == {"z": i * 1.5}


def _child_writes(store: Store, queue) -> None:
    try:
        run = store.begin_run({"from": "child"})
        store.store_result("child", {"z": 1}, run, "a")
        queue.put(run)
    except BaseException:  # noqa: BLE001
        queue.put(traceback.format_exc())


def test_a_forked_child_opens_its_own_connection(store):
    store.begin_run({"from": "parent"})
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_writes, args=(store, queue))
    child.start()
    child_run = queue.get(timeout=60)
    child.join(30)
    assert isinstance(child_run, int), child_run
    assert store.begin_run({"from": "parent"}) > child_run
    assert store.lookup("child").run_id == child_run


# ---- failing without failing -----------------------------------------------------------------


def test_a_corrupt_file_warns_once_and_turns_the_cache_off(cache_dir):
    cache_dir.mkdir(exist_ok=True)
    path = cache_dir / "containerdag.sqlite"
    path.write_bytes(b"this is not a database, just garbage " * 200)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        safe = SafeStore.open()
        assert not safe.enabled
        assert safe.lookup("k") is None
        assert safe.begin_run({}) is None
        safe.record_node(None, NodeRecord("a", "done"))
        assert safe.store_result("k", {"z": 1}) is False
        assert safe.runs() == [] and safe.load_run(1) is None and safe.prune(1) == 0
        assert safe.info() == {"path": str(path), "enabled": False, "reason": safe.reason}
    warning = _only_warning(caught)
    assert warning.path == str(path)
    assert str(path) in str(warning) and "corrupt" in str(warning)
    assert "not a database" in warning.reason
    with pytest.raises(CacheError, match="corrupt"):
        Store.open()
    remove_database()  # the way back: start afresh
    assert SafeStore.open().enabled


def test_a_cache_dir_that_cannot_be_created_warns_once(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("CONTAINERDAG_CACHE_DIR", str(blocker / "cache"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        safe = SafeStore.open()
        assert safe.begin_run({}) is None and safe.lookup("k") is None
    warning = _only_warning(caught)
    assert str(blocker / "cache" / "containerdag.sqlite") in str(warning)
    assert "Not a directory" in warning.reason


def _open_in_read_only_dir(directory: str, queue) -> None:
    """Drop root (which ignores file modes) and open a store in a directory we cannot write."""
    try:
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)
        writable = os.access(directory, os.W_OK)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            safe = SafeStore.open(Path(directory) / "containerdag.sqlite")
            run = safe.begin_run({})
        queue.put((writable, safe.enabled, run, [str(w.message) for w in caught]))
    except BaseException:  # noqa: BLE001
        queue.put(traceback.format_exc())


def test_a_read_only_cache_dir_warns_once(tmp_path):
    directory = tempfile.mkdtemp(prefix="containerdag-ro-")  # /tmp: reachable after dropping root
    try:
        os.chmod(directory, 0o555)
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=_open_in_read_only_dir, args=(directory, queue))
        child.start()
        report = queue.get(timeout=60)
        child.join(30)
        assert not isinstance(report, str), report
        writable, enabled, run, messages = report
        if writable:
            pytest.skip("this user can write a 0555 directory (a capability, not root's uid)")
        assert (enabled, run) == (False, None)
        assert len(messages) == 1, messages
        assert directory in messages[0] and "cannot create or open" in messages[0]
    finally:
        os.chmod(directory, 0o755)
        shutil.rmtree(directory)


def test_a_database_locked_past_the_busy_timeout_warns_once(tmp_path):
    path = tmp_path / "db.sqlite"
    with Store.open(path) as store:
        store.store_result("k", {"z": 1}, None, "a")
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            safe = SafeStore.open(path, busy_timeout=0.2)
            assert safe.lookup("k").outputs == {"z": 1}  # WAL: readers are not blocked
            started = time.monotonic()
            assert safe.begin_run({}) is None  # a writer waits busy_timeout, then gives up
            waited = time.monotonic() - started
            assert safe.store_result("k2", {"z": 2}) is False
            assert safe.lookup("k") is None  # off for the rest of its life, even for reads
        warning = _only_warning(caught)
        assert str(path) in str(warning) and "locked" in warning.reason
        assert "0.2 s" in warning.reason
        assert waited >= 0.15
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert SafeStore.open(path).enabled  # a new store (the next run) tries again


def test_an_unstorable_value_warns_but_keeps_the_cache_on(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        safe = SafeStore.open(tmp_path / "db.sqlite")
        assert safe.store_result("k", {"z": b"bytes"}, None, "a") is False
        assert safe.store_results([("k1", {"z": 1}, None, "a"), ("k2", {"z": b""}, None, "b")]) \
            is False
    assert safe.enabled and safe.lookup("k1") is not None
    assert [type(w.message) for w in caught] == [CacheWarning, CacheWarning]
    assert safe.store_result("k", {"z": 1}, None, "a") is True
    assert safe.lookup("k").outputs == {"z": 1}


def test_a_safe_store_works_like_a_store(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with SafeStore.open(tmp_path / "db.sqlite") as safe:
            run = safe.begin_run({"a": 1})
            safe.record_node(run, NodeRecord("a", "done", key="k", key_parts={"kind": "x"}))
            assert safe.store_result("k", {"z": 1}, run, "a")
            safe.finish_run(run, summary={"done": 1})
            assert safe.lookup("k").run_id == run
            assert safe.last_node_run("a").key == "k"
            assert safe.load_run(run).nodes["a"].status == "done"
            assert safe.runs()[0].run_id == run
            assert safe.info()["enabled"] is True
            assert safe.prune(max_size_mb=0) == 1 and safe.clear() == 0
        assert not safe.enabled and safe.lookup("k") is None  # closed: off, no warning


def test_a_newer_schema_is_refused_and_the_safe_store_warns(tmp_path):
    path = tmp_path / "db.sqlite"
    Store.open(path, migrations=(*MIGRATIONS, ("CREATE TABLE later (x)",))).close()
    with pytest.raises(CacheError, match="newer than this toolkit"):
        Store.open(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        safe = SafeStore.open(path)
    assert not safe.enabled
    assert "newer than this toolkit" in str(_only_warning(caught))
