"""The session owns a run: its lifecycle closes in one place, its bus is safe from any thread,
plan and run share their decisions, concurrent runs share the executor (issue 19, bugs 1-6)."""

from __future__ import annotations

import _thread
import gc
import signal
import sqlite3
import threading
import time
import warnings

import pytest

from containerdag_widgets import Graph, Registry, RunFinished, process
from containerdag_widgets.cache import SafeStore, Store
from containerdag_widgets.cache.paths import cache_root
from containerdag_widgets.executors import ThreadExecutor

from .processes import add


class StartFails(ThreadExecutor):
    """An executor whose ``prepare`` raises, as a DaskExecutor does when its scheduler is gone."""

    def prepare(self, max_workers: int) -> None:
        raise ConnectionError("the scheduler at tcp://127.0.0.1:1 is gone")


def _seed() -> Graph:
    return Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 2.0}},
                            "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}}})


def test_a_run_that_cannot_start_still_finishes_and_closes_its_history():
    registry = Registry([add])
    seen = []
    with pytest.raises(ConnectionError, match="scheduler .* is gone"):
        _seed().run(registry, executor=StartFails(), listeners=[seen.append])
    finished = [e for e in seen if isinstance(e, RunFinished)]
    assert len(finished) == 1 and finished[0].outcome == "crashed"
    assert "ConnectionError" in finished[0].error
    assert finished[0].result.status == {"a": "cancelled", "b": "cancelled"}
    with Store.open() as store:
        [run] = store.runs()
        assert run.ended is not None  # the history row is closed


def test_a_widget_is_not_running_after_a_run_that_could_not_start_and_runs_again():
    from containerdag_widgets import GraphWidget

    registry = Registry([add])
    w = GraphWidget(_seed(), registry, executor=StartFails())
    handle = w.start()
    assert handle is not None
    with pytest.raises(ConnectionError):
        handle.wait(60)
    w.wait_idle(60)
    assert not w.running and not w.run_button.disabled and w.stop_button.disabled
    assert w.status == {"a": "cancelled", "b": "cancelled"}
    w.executor = None  # fixed: Run works again
    result = w.run(timeout=60)
    assert result.status == {"a": "done", "b": "done"} and not w.running


@pytest.fixture
def ctrl_c_raises():
    """SIGINT handled as at a terminal (KeyboardInterrupt), whatever this process inherited:
    a process started in the background by a non-interactive shell ignores it, and
    ``interrupt_main`` then does nothing."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_during_a_run_ends_it_cancelled_with_its_history_closed(ctrl_c_raises):
    began = threading.Event()

    @process(outputs={"z": 1.0})
    def slow(x: float = 1.0):
        began.set()
        time.sleep(0.3)  # what the process does: be slow (6 in a row: 1.8 s)
        return {"z": x}

    def ctrl_c() -> None:  # once a node runs (not at a fixed time: the run may start later)
        if began.wait(60):
            _thread.interrupt_main()

    registry = Registry([slow])
    graph = Graph.from_spec({f"n{i}": {"process": "slow", "inputs": {"x": 1.0}}
                             for i in range(6)})
    seen = []
    pressing = threading.Thread(target=ctrl_c, daemon=True)
    pressing.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            graph.run(registry, max_workers=1, listeners=[seen.append])
    finally:
        began.set()
        pressing.join(60)
    [finished] = [e for e in seen if isinstance(e, RunFinished)]
    assert finished.outcome == "cancelled"
    assert set(finished.result.status.values()) <= {"done", "cancelled"}
    assert "cancelled" in finished.result.status.values()
    with Store.open() as store:
        assert store.runs()[0].ended is not None


def test_subscribers_come_and_go_from_many_threads_while_runs_go_on():
    """Watchers added and removed (twice) from 8 threads, some dying unreferenced, during 20
    runs: no run breaks, every run ends with its RunFinished."""
    from containerdag_widgets import Session

    registry = Registry([add])
    session = Session(registry)
    graph = Graph.from_spec({f"n{i}": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}}
                             for i in range(20)})
    stop = threading.Event()
    errors = []

    class Watcher:
        def on(self, event):
            pass

    def churn():
        try:
            while not stop.is_set():
                unsubscribe = session.subscribe(Watcher().on, graph=graph)  # dies at once
                again = session.subscribe(lambda e: None)
                unsubscribe()
                again()
                again()
                gc.collect(0)
        except Exception as exc:  # noqa: BLE001 - any failure is the test's finding
            errors.append(exc)

    finished = []
    session.subscribe(lambda e: finished.append(e) if isinstance(e, RunFinished) else None)
    threads = [threading.Thread(target=churn) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        for _ in range(20):
            assert set(session.run(graph, cache=False).status.values()) == {"done"}
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == [] and len(finished) == 20
    assert all(e.outcome == "ok" for e in finished)


def test_events_are_data_and_cancel_goes_through_the_session():
    release = threading.Event()

    @process(outputs={"z": 1.0})
    def waits(x: float = 1.0):
        release.wait(60)  # held until the test has looked at the running run
        return {"z": x}

    from containerdag_widgets import Session

    registry = Registry([waits])
    session = Session(registry)
    graph = Graph.from_spec({f"n{i}": {"process": "waits", "inputs": {"x": 1.0}}
                             for i in range(8)})
    started = []
    session.subscribe(started.append)
    handle = session.start(graph, max_workers=1, cache=False)
    deadline = time.monotonic() + 60  # a bound for a stuck run, never reached
    while not started and time.monotonic() < deadline:
        time.sleep(0.01)
    run_started = started[0]
    assert vars(run_started).keys() == {"run", "nodes", "time"}  # nothing but data
    assert session.running == [run_started.run] == [handle.run_id]
    assert session.cancel(run_started.run) == 1
    release.set()
    result = handle.wait(60)
    assert "cancelled" in result.status.values() or "skipped" in result.status.values()
    assert session.running == []


def test_plan_without_the_cache_creates_no_database():
    registry = Registry([add])
    plan = _seed().plan(registry, cache=False)
    assert [s.action for s in plan] == ["run", "run"]
    assert not list(cache_root().glob("*.sqlite*"))


def test_two_concurrent_runs_share_the_default_executor_and_both_complete():
    """A widget's Run and a %dag run at once: prepare() of one (a bigger pool) must not shut
    down the pool the other is submitting to."""
    @process(outputs={"z": 1.0})
    def nap(x: float = 1.0):
        time.sleep(0.002)
        return {"z": x + 1}

    registry = Registry([nap])
    graph = Graph.from_spec({f"n{i}": {"process": "nap", "inputs": {"x": float(i)}}
                             for i in range(40)})
    for _ in range(5):
        results, errors = {}, []

        def run(workers: int, results: dict = results, errors: list = errors) -> None:
            try:
                results[workers] = graph.run(registry, max_workers=workers, cache=False)
            except Exception as exc:  # noqa: BLE001 - the test's finding
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(w,)) for w in (2, 5, 9, 17)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        for result in results.values():
            assert result.outputs == {f"n{i}": {"z": i + 1.0} for i in range(40)}


def test_a_bug_in_the_store_is_raised_a_database_failure_warns_with_where(monkeypatch, tmp_path):
    """SafeStore turns database failures into one warning (now with where it was raised);
    a bug (here a TypeError) is not hidden as 'cache off'."""
    safe = SafeStore.open(tmp_path / "db.sqlite")

    def broken(*_args, **_kw):
        raise TypeError("a bug in the store")

    monkeypatch.setattr(Store, "lookup", broken)
    with pytest.raises(TypeError, match="a bug in the store"):
        safe.lookup("k")
    assert safe.enabled

    def locked(*_args, **_kw):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(Store, "lookup", locked)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert safe.lookup("k") is None
    [warning] = caught
    assert "locked" in str(warning.message) and "in locked" in str(warning.message)
    assert not safe.enabled


def test_run_options_are_one_table_used_by_every_front_end():
    import argparse

    from containerdag_widgets import RunOptions
    from containerdag_widgets.run.options import OPTIONS, add_arguments

    graph = _seed()
    parser = argparse.ArgumentParser()
    added = add_arguments(parser)
    assert {o.name for o in added} == {o.name for o in OPTIONS if o.flag}
    ns = parser.parse_args(["--max-workers", "3", "--node", "b", "--no-cache",
                            "--force", "a", "--timeout", "2.5"])
    options = RunOptions.from_arguments(ns, graph)
    assert options == RunOptions.checked(graph, max_workers=3, nodes=["b"], cache=False,
                                         force=["a"], timeout=2.5)
    assert options.nodes == ("b",) and options.force == ("a",) and options.timeout == 2.5
    assert RunOptions.from_arguments(parser.parse_args([]), graph) == RunOptions()


def test_a_registry_run_through_its_default_session_can_still_be_freed():
    """Session.of keeps one session per registry: it must not keep the registry (its engine
    connections and containers) alive once the user lets it go."""
    import weakref

    registry = Registry([add])
    _seed().run(registry, cache=False)
    ref = weakref.ref(registry)
    del registry
    gc.collect()
    assert ref() is None
