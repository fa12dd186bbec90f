"""The SQLite store: results, history, prune and migrations."""

from __future__ import annotations

import os
import sqlite3

import pytest

from containerdag_widgets.cache import (
    MIGRATIONS,
    CacheError,
    NodeRecord,
    RunNotFound,
    Store,
    UnstorableValue,
    cache_root,
    database_path,
)
from containerdag_widgets.cache.store import ROW_OVERHEAD
from containerdag_widgets.model.files import stored_json

# ---- paths and opening -----------------------------------------------------------------------


def test_cache_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTAINERDAG_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
    assert database_path() == tmp_path / "mine" / "containerdag.sqlite"
    monkeypatch.delenv("CONTAINERDAG_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "containerdag_widgets"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "containerdag_widgets"


def test_open_creates_a_wal_database_at_the_default_path(cache_dir):
    with Store.open(busy_timeout=2.5) as store:
        assert store.path == cache_dir / "containerdag.sqlite"
        assert store.schema_version == len(MIGRATIONS)
    conn = sqlite3.connect(cache_dir / "containerdag.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = conn.execute("SELECT version FROM schema_version").fetchall()
    assert versions == [(n,) for n in range(1, len(MIGRATIONS) + 1)]
    conn.close()


def test_busy_timeout_is_set_on_the_connection(store):
    with store._read() as conn:
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


# ---- results ---------------------------------------------------------------------------------


def test_results_round_trip_exactly(store):
    outputs = {"z": 0.1 + 0.2, "tiny": 1e-300, "neg": -0.0, "big": 2**70, "s": "é\n",
               "nested": {"b": [1, 2.5, None, True]}}
    store.store_result("k1", outputs, run_id=None, node="a")
    hit = store.lookup("k1")
    assert hit.outputs == outputs
    assert repr(hit.outputs["z"]) == repr(0.1 + 0.2)
    assert repr(hit.outputs["neg"]) == "-0.0"
    assert (hit.node, hit.run_id, hit.key) == ("a", None, "k1")
    assert store.lookup("missing") is None
    assert store.lookup("k1").outputs is not hit.outputs  # callers may mutate what they get


def test_store_result_replaces_an_earlier_one(store):
    run = store.begin_run({})
    store.store_result("k", {"z": 1.0}, run, "a")
    store.store_result("k", {"z": 2.0}, run, "b")
    assert store.lookup("k").outputs == {"z": 2.0}
    assert store.info()["results"] == 1


def test_outputs_that_are_not_json_are_refused(store):
    with pytest.raises(UnstorableValue, match="node 'a'"):
        store.store_result("k", {"z": {1, 2}}, None, "a")
    assert store.lookup("k") is None


def test_store_results_writes_a_batch_and_names_what_it_left_out(store):
    with pytest.raises(UnstorableValue, match="node 'bad'"):
        store.store_results([("k1", {"z": 1}, None, "a"), ("k2", {"z": {1}}, None, "bad"),
                             ("k3", {"z": 3}, None, "c")])
    assert [k for k in ("k1", "k2", "k3") if store.lookup(k)] == ["k1", "k3"]


def test_lookup_updates_last_used_and_hits(cache_dir, clock):
    with Store.open(clock=clock) as store:
        store.store_result("k", {"z": 1}, None, "a")
        clock.now += 100
        store.lookup("k")
        clock.now += 100
        store.lookup("k")
        assert store.info()["hits"] == 2
        with store._read() as conn:
            row = conn.execute("SELECT created, last_used FROM results").fetchone()
        assert row == (1_700_000_000.0, 1_700_000_200.0)


def test_last_used_of_lookups_is_written_on_close(cache_dir, clock):
    with Store.open(clock=clock) as store:
        store.store_result("k", {"z": 1}, None, "a")
        clock.now += 50
        store.lookup("k")
    conn = sqlite3.connect(cache_dir / "containerdag.sqlite")
    assert conn.execute("SELECT last_used, hits FROM results").fetchone() == (1_700_000_050.0, 1)
    conn.close()


# ---- history ---------------------------------------------------------------------------------


def test_history_round_trip(store):
    spec = {"a": {"process": "add", "inputs": {"x": 1.0}},
            "b": {"process": "sub", "inputs": {"x": ("a", "z")}}}
    run = store.begin_run(spec, started=10.0)
    store.record_node(run, NodeRecord("a", "running", started=10.5))
    parts = {"kind": "container", "image_id": "sha256:" + "ab" * 32, "inputs": '{"x":1.0}'}
    store.record_nodes(run, [
        NodeRecord("a", "done", process="add", key="k1", key_parts=parts, inputs={"x": 1.0},
                   outputs={"z": 2.0}, log="hello\n", duration=0.25, started=10.5, ended=10.75,
                   image_id=parts["image_id"], worker="local", reason="ran: no earlier result"),
        NodeRecord("b", "failed", process="sub", inputs={"x": 2.0}, error="boom",
                   error_type="ProcessFailed"),
    ])
    store.finish_run(run, ended=11.0, summary={"done": 1, "failed": 1})

    loaded = store.load_run(run)
    assert (loaded.run_id, loaded.started, loaded.ended) == (run, 10.0, 11.0)
    assert loaded.spec["b"]["inputs"]["x"] == ["a", "z"]  # JSON has no tuples
    assert loaded.summary == {"done": 1, "failed": 1}
    assert list(loaded.nodes) == ["a", "b"]  # the order nodes were first recorded
    a = loaded.nodes["a"]
    assert (a.status, a.key, a.key_parts, a.outputs, a.log) == ("done", "k1", parts,
                                                                {"z": 2.0}, "hello\n")
    assert (a.duration, a.started, a.ended, a.worker, a.run_id) == (0.25, 10.5, 10.75, "local",
                                                                   run)
    assert (loaded.nodes["b"].error, loaded.nodes["b"].error_type) == ("boom", "ProcessFailed")
    assert loaded.pid == os.getpid()


def test_runs_lists_the_newest_first_with_counts(store):
    ids = []
    for i in range(5):
        run = store.begin_run({"i": i})
        store.record_nodes(run, [NodeRecord(f"n{j}", "done" if j else "cached")
                                 for j in range(i + 1)])
        store.finish_run(run, summary={"i": i})
        ids.append(run)
    listed = store.runs(limit=3)
    assert [r.run_id for r in listed] == ids[::-1][:3]
    assert listed[0].statuses == {"cached": 1, "done": 4}
    assert listed[0].nodes == 5
    assert listed[0].summary == {"i": 4}


def test_load_run_of_an_unknown_id_raises(store):
    with pytest.raises(RunNotFound, match="no run 99") as info:
        store.load_run(99)
    assert isinstance(info.value, KeyError)


def test_last_node_run_is_the_latest_with_key_parts(store):
    first = store.begin_run({})
    store.record_node(first, NodeRecord("a", "done", key="k1", key_parts={"kind": "python"}))
    second = store.begin_run({})
    store.record_node(second, NodeRecord("a", "skipped"))  # no parts: not comparable
    store.record_node(second, NodeRecord("other", "done", key="k9", key_parts={}))
    assert store.last_node_run("a").run_id == first
    assert store.last_node_run("a", with_parts=False).run_id == second
    assert store.last_node_run("a", before_run=first) is None
    assert store.last_node_run("nobody") is None


def test_node_records_need_a_recorded_run(store):
    with pytest.raises(CacheError):
        store.record_node(12345, NodeRecord("a", "done"))


def test_info_counts_results_and_runs(store):
    run = store.begin_run({}, started=5.0)
    store.store_result("k1", {"z": "abc"}, run, "a")
    store.store_result("k2", {"z": 1}, run, "b")
    info = store.info()
    assert info["path"] == str(store.path)
    assert (info["results"], info["runs"], info["oldest_run"]) == (2, 1, 5.0)
    assert info["result_bytes"] == len('{"z":"abc"}') + len('{"z":1}')
    assert info["bytes"] > 0 and info["oldest_result"] <= info["newest_result"]


def test_clear_removes_results_and_optionally_history(store):
    run = store.begin_run({})
    store.record_node(run, NodeRecord("a", "done"))
    store.store_result("k", {"z": 1}, run, "a")
    assert store.clear() == 1
    assert store.lookup("k") is None and store.runs() != []
    store.clear(history=True)
    assert store.runs() == [] and store.info()["node_runs"] == 0
    assert store.begin_run({}) > run  # run ids are never reused


# ---- prune -----------------------------------------------------------------------------------


def test_prune_by_age_removes_results_unused_for_that_long(cache_dir, clock):
    with Store.open(clock=clock) as store:
        store.store_result("old", {"z": 1}, None, "a")
        store.store_result("used", {"z": 2}, None, "b")
        clock.now += 10 * 86400
        store.lookup("used")  # used recently: kept although created as long ago
        store.store_result("new", {"z": 3}, None, "c")
        assert store.prune(older_than_days=5) == 1
        assert store.lookup("old") is None
        assert store.lookup("used") is not None and store.lookup("new") is not None
        assert store.prune(older_than_days=5) == 0


def test_prune_by_size_evicts_the_least_recently_used(cache_dir, clock):
    with Store.open(clock=clock) as store:
        blob = "x" * 300_000  # ~0.29 MB each
        for i in range(4):
            clock.now += 1
            store.store_result(f"k{i}", {"z": blob}, None, f"n{i}")
        clock.now += 1
        store.lookup("k0")  # k0 becomes the most recently used
        removed = store.prune(max_size_mb=0.6)  # room for two
        assert removed == 2
        assert [k for k in ("k0", "k1", "k2", "k3") if store.lookup(k)] == ["k0", "k3"]
        assert store.info()["result_bytes"] <= 0.6 * 1024 * 1024
        assert store.prune(max_size_mb=0) == 2
        with pytest.raises(ValueError):
            store.prune(older_than_days=-1)


def _on_disk(path):
    return sum(os.path.getsize(f"{path}{suffix}") for suffix in ("", "-wal")
               if os.path.exists(f"{path}{suffix}"))


def test_prune_to_size_counts_the_database_and_shrinks_its_files(cache_dir, clock):
    with Store.open(clock=clock) as store:
        blob = "x" * 20_000
        keys = [f"k{i:03}" for i in range(100)]
        for key in keys:
            clock.now += 1
            store.store_result(key, {"z": blob})
        before = _on_disk(store.path)
        assert before > 2 * 1024 * 1024
        limit = 1024 * 1024
        done = store.prune_to_size(limit, {})  # no files: the database alone
        kept = [key for key in keys if store.lookup(key) is not None]
        assert kept == keys[done.results:] and 40 < done.results < 100  # the oldest went
        row = len(stored_json({"z": blob})) + ROW_OVERHEAD
        assert done.database <= limit < done.database + row  # not one result more
        assert (done.files, done.history_files, done.dead) == (0, 0, 0) and done.fits
        # VACUUM and a checkpoint: the files shrank to (about) what the estimate says
        assert _on_disk(store.path) <= limit + 64 * 1024
        assert store.prune_to_size(limit, {}).results == 0  # fits already: nothing more


def test_history_keeps_the_latest_runs_and_forgets_older_ones_with_their_nodes(cache_dir):
    with Store.open() as store:
        store.keep_runs = 30
        store.store_result("k", {"z": 1}, None, "a")
        ids = []
        for i in range(120):  # run 100 prunes to the latest 30
            ids.append(store.begin_run({"a": i}))
            store.record_node(ids[-1], NodeRecord(node="a", status="done", process="p",
                                                  key="k", outputs={"z": i}))
        assert store.info()["runs"] == 50  # 30 kept at run 100, then 20 more
        with pytest.raises(RunNotFound):
            store.load_run(ids[69])
        assert store.load_run(ids[70]).nodes["a"].outputs == {"z": 70}
        assert store.prune_runs(5) == 45
        assert [r.run_id for r in store.runs(limit=10)] == ids[:-6:-1]
        assert store.info()["node_runs"] == 5
        assert store.lookup("k") is not None  # results do not depend on the history
        assert store.prune_runs(5) == 0
        with pytest.raises(ValueError):
            store.prune_runs(-1)


# ---- migrations ------------------------------------------------------------------------------

EXTRA = ("ALTER TABLE results ADD COLUMN note TEXT NOT NULL DEFAULT 'migrated'",
         "CREATE INDEX results_by_node ON results (node)")


def test_an_older_schema_is_migrated_and_keeps_its_rows(tmp_path):
    path = tmp_path / "db.sqlite"
    with Store.open(path) as old:
        run = old.begin_run({"a": 1})
        old.store_result("k", {"z": 1.5}, run, "a")
    with Store.open(path, migrations=(*MIGRATIONS, EXTRA)) as new:
        assert new.schema_version == len(MIGRATIONS) + 1
        assert new.lookup("k").outputs == {"z": 1.5}
        assert new.load_run(run).spec == {"a": 1}
        with new._read() as conn:
            assert conn.execute("SELECT note FROM results").fetchone() == ("migrated",)
            versions = [v for (v,) in conn.execute("SELECT version FROM schema_version")]
        assert versions == list(range(1, len(MIGRATIONS) + 2))


def test_a_failing_migration_changes_nothing(tmp_path):
    path = tmp_path / "db.sqlite"
    Store.open(path).close()
    broken = (*MIGRATIONS, ("CREATE TABLE half (x)", "THIS IS NOT SQL"))
    with pytest.raises(CacheError, match=f"migration {len(broken)} failed"):
        Store.open(path, migrations=broken)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchone() is None
    conn.close()
