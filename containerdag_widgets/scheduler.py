"""Run a graph: validate, then hand ready nodes to an executor, independent ones in parallel.

One thread owns the run's state and talks to listeners (as dask's ``local.py`` does): the
executor's futures and the nodes' live logs arrive on one queue, the scheduler folds them into
the ``RunResult`` and emits the events. A failed node's descendants are skipped with the
reason; other branches go on.
"""

from __future__ import annotations

import graphlib
import logging
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .cache.decisions import Decision, RunCache, default_store
from .errors import Cancelled, ProcessFailed, UpstreamFailed
from .events import (
    Event,
    Listener,
    NodeFinished,
    NodeLog,
    NodeStarted,
    RunFinished,
    RunStarted,
)
from .execution import NodeCall, ThreadExecutor, execute_call
from .graph import Graph, Ref
from .options import RunOptions
from .result import RunResult
from .status import SUCCESS

if TYPE_CHECKING:
    from .registry import Registry

__all__ = ["RunHandle", "run", "start", "Listener"]

log = logging.getLogger(__name__)

#: Seconds a crashed or interrupted run waits for its killed calls to end.
CANCEL_GRACE = 5.0

_default_executor: ThreadExecutor | None = None
_default_lock = threading.Lock()


def default_executor() -> ThreadExecutor:
    """The process-wide ``ThreadExecutor``: its threads are reused from run to run."""
    global _default_executor
    with _default_lock:
        if _default_executor is None:
            _default_executor = ThreadExecutor()
        return _default_executor


def run(graph: Graph, registry: Registry, options: RunOptions) -> RunResult:
    """Run ``graph`` to the end and return its ``RunResult`` (see ``Graph.run``)."""
    r = _Run(graph, registry, options)
    r.execute()
    if r.crash is not None:
        raise r.crash
    return r.result


def start(graph: Graph, registry: Registry, options: RunOptions) -> RunHandle:
    """Validate now, then run in a background thread; returns a ``RunHandle``."""
    return RunHandle(_Run(graph, registry, options))


class RunHandle:
    """A run going on in a background thread: ``cancel()``, ``wait()``, ``done``, ``result``."""

    def __init__(self, run: _Run):
        self._run = run
        self._thread = threading.Thread(target=run.execute, name="containerdag run", daemon=True)
        self._thread.start()

    @property
    def result(self) -> RunResult:
        """The final result once ``done``; before that, a snapshot of the run so far."""
        if self.done:
            return self._run.result
        return self._run.snapshot()

    @property
    def done(self) -> bool:
        return self._run.finished.is_set()

    def cancel(self) -> None:
        """Kill running calls and skip the nodes not started yet."""
        self._run.request_cancel()

    def wait(self, timeout: float | None = None) -> RunResult:
        """Block until the run finished; raise ``TimeoutError`` if it did not in ``timeout``."""
        if not self._run.finished.wait(timeout):
            raise TimeoutError(f"run not finished after {timeout} s")
        if self._run.crash is not None:
            raise self._run.crash
        return self._run.result


class _Run:
    def __init__(self, graph: Graph, registry: Registry, options: RunOptions):
        order = graph.validate(registry)  # raises before anything starts
        self.graph = graph.copy()  # later edits to the user's graph do not touch this run
        if options.nodes is not None:
            self.graph = _subgraph(self.graph, options.nodes)
            order = [n for n in order if n in self.graph]
        self.registry = registry
        self.listeners = options.listeners
        self.max_workers = options.max_workers
        self.timeout = options.timeout
        self.watched = graph  # its watchers (widgets showing it) get this run's events
        self.executor = options.executor or default_executor()
        self.cache = _run_cache(options)
        self.decisions: dict[str, Decision] = {}
        self.id = uuid.uuid4().hex[:8]
        self.cancel = threading.Event()
        self.finished = threading.Event()
        self.crash: BaseException | None = None
        self.result = RunResult.pending(order)
        self._lock = threading.Lock()  # guards self.result against snapshot() readers
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def request_cancel(self) -> None:
        self.cancel.set()
        self._inbox.put(None)  # wake the scheduler

    def snapshot(self) -> RunResult:
        with self._lock:
            return self.result.snapshot()

    def emit(self, event: Event) -> None:
        """Fold the event into the result, then tell every listener (a broken one is logged)."""
        with self._lock:
            self.result.apply(event)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken listener must not break the run
                log.exception("listener %r failed", listener)
        self.watched.notify(event)

    def execute(self) -> None:
        try:
            self._schedule()
        except BaseException as exc:  # noqa: BLE001 - reported through wait()
            self.crash = exc
        finally:
            self.finished.set()

    def _schedule(self) -> None:
        sorter = self.graph.sorter()
        sorter.prepare()
        started = time.time()
        self.result.run_id = self.cache.begin(self.graph.to_spec(), started)
        self.emit(RunStarted(self.id, tuple(self.result.status), started, self.request_cancel))
        self.executor.prepare(self.max_workers)
        running: dict[Future, str] = {}
        try:
            self._loop(sorter, running)
        except BaseException:
            # Ctrl-C (or any crash) in the scheduler: kill the running calls before leaving.
            self.cancel.set()
            wait_futures(list(running), timeout=CANCEL_GRACE)
            self.cache.finish(time.time(), self.result.counts())
            raise
        self._drain_logs()
        self.cache.finish(time.time(), self.result.counts())
        self.emit(RunFinished(self.result, time.time()))

    def _loop(self, sorter: graphlib.TopologicalSorter, running: dict[Future, str]) -> None:
        ready: deque[str] = deque()
        report: Callable[[Event], None] = self._inbox.put
        while sorter.is_active():
            ready.extend(sorter.get_ready())
            # Submit no more than there are workers, so "running" means running.
            while ready and len(running) < self.max_workers:
                name = ready.popleft()
                if self._skip_if_needed(name):
                    sorter.done(name)
                    continue
                call = self._call_of(name)
                self.emit(NodeStarted(name, call.inputs, time.time()))
                decision = self.decisions[name] = self._decide(call)
                if decision.reuse or self._inline(call):
                    self._ended(self._reused(call, decision) if decision.reuse else
                                execute_call(call, cancel=None, report=self.emit))
                    sorter.done(name)
                    continue
                future = self.executor.submit(call, cancel=self.cancel, report=report)
                running[future] = name
                future.add_done_callback(self._inbox.put)
            if not running:
                continue
            item = self._inbox.get()
            if self.cancel.is_set():
                self._abandon(sorter, running)
            if isinstance(item, NodeLog):
                self.emit(item)
            elif isinstance(item, Future) and item in running:
                name = running.pop(item)
                self._ended(self._finished_event(name, item))
                sorter.done(name)

    def _decide(self, call: NodeCall) -> Decision:
        """Reuse or run: the cache's decision for a node about to start."""
        refs = {port: (v.node, v.output) for port, v in self.graph[call.node].refs.items()}
        return self.cache.decide(call.node, call.process, call.inputs, refs)

    @staticmethod
    def _reused(call: NodeCall, decision: Decision) -> NodeFinished:
        now = time.time()
        assert decision.hit is not None
        return NodeFinished(call.node, "cached", 0.0, dict(decision.hit.outputs), None, "", now,
                            started=now, reason=decision.reason)

    def _ended(self, event: NodeFinished) -> None:
        """A node ended, however: give it its reason, record it, tell the listeners."""
        decision = self.decisions.get(event.node)
        if decision is not None and not event.reason:
            event = replace(event, reason=decision.reason)
        node = self.graph[event.node]
        self.cache.finished(event, decision, node.process, self.result.inputs.get(event.node))
        self.emit(event)

    def _abandon(self, sorter: graphlib.TopologicalSorter,
                 running: dict[Future, str]) -> None:
        """On cancel, give up the in-process calls at once: a Python call cannot be killed.

        Their threads finish in the background; what they return is dropped.
        """
        for future, name in list(running.items()):
            proc = self.graph[name].process
            if self.registry.get(proc).in_process and not future.done():
                del running[future]
                error = Cancelled("cancelled while running; the Python call was abandoned "
                                  "(it cannot be killed) and its result will be dropped",
                                  process=proc)
                error.node = name
                self._ended(NodeFinished(name, "cancelled", None, None, error, "", time.time()))
                sorter.done(name)

    def _inline(self, call: NodeCall) -> bool:
        runs_inline = getattr(self.executor, "runs_inline", None)
        return runs_inline is not None and runs_inline(call)

    def _drain_logs(self) -> None:
        """Logs that arrived after their node's future (none are lost, none come late)."""
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, NodeLog) and self.result.status.get(item.node) == "running":
                self.emit(item)

    def _finished_event(self, name: str, future: Future) -> NodeFinished:
        try:
            return future.result()
        except BaseException as exc:  # noqa: BLE001 - an executor's own failure
            proc = self.graph[name].process
            error = (Cancelled(f"the executor cancelled the call: {exc}", process=proc)
                     if future.cancelled() else
                     ProcessFailed(f"the executor failed: {type(exc).__name__}: {exc}",
                                   process=proc))
            error.node = name
            return NodeFinished(name, "cancelled" if future.cancelled() else "failed", None,
                                None, error, "", time.time())

    def _call_of(self, name: str) -> NodeCall:
        node = self.graph[name]
        outputs = self.result.outputs
        # Literals are this run's own copies (Graph.copy), so they are passed as they are.
        inputs = {port: outputs[v.node][v.output] if isinstance(v, Ref) else v
                  for port, v in node.inputs.items()}
        timeout = node.timeout if node.timeout is not None else self.timeout
        return NodeCall(name, self.registry.get(node.process), inputs, timeout, run=self.id)

    def _skip_if_needed(self, name: str) -> bool:
        status = self.result.status
        node = self.graph[name]
        reason = None
        if self.cancel.is_set():
            reason = Cancelled("run cancelled before the node started", process=node.process)
        else:
            for up in node.upstream:
                if status.get(up) not in SUCCESS:
                    reason = UpstreamFailed(f"skipped: upstream node {up!r} {status.get(up)}",
                                            process=node.process, upstream=up)
                    break
        if reason is None:
            return False
        reason.node = name
        self._ended(NodeFinished(name, "skipped", None, None, reason, "", time.time()))
        return True


def _run_cache(options: RunOptions) -> RunCache:
    """The run's view of the cache: the given store, or the default one."""
    if options.cache is False:  # neither reads nor writes: no store at all
        return RunCache(None, force=options.force)
    store = options.cache if not isinstance(options.cache, bool) else default_store()
    return RunCache(store, force=options.force)


def _subgraph(graph: Graph, targets: Iterable[str]) -> Graph:
    keep = graph.needs(targets)
    return Graph({n: node for n, node in graph.nodes.items() if n in keep})
