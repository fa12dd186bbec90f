"""The scheduler: validate, then hand ready nodes to an executor, independent ones in parallel.

One thread owns a run's state (as dask's ``local.py`` does): the executor's futures and the
nodes' live logs arrive on one queue, the scheduler folds them into the ``RunResult`` and
emits the events. A failed node's descendants are skipped with the reason; other branches go
on. ``Run.execute`` closes the run in one place: whatever raises, wherever, the history is
closed and ``RunFinished`` (with how the run ended) is sent to every listener.

``inputs_of`` and ``references_of`` are how a node's call is made from the outputs so far;
``plan`` uses them too, so a plan asks the cache exactly what the run will.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING, Any

from ..model import scatter
from ..model.errors import Cancelled, ProcessFailed, ScatterError, UpstreamFailed
from ..model.files import Glob
from ..model.graph import Graph
from ..model.node import Node, Ref
from ..model.ordering import Ordering, Ready
from ..model.status import FINAL, SUCCESS
from .decisions import Decision, RunCache, references_of
from .elements import Elements
from .events import (
    ElementStarted,
    Event,
    NodeFinished,
    NodeLog,
    NodeProgress,
    NodeStarted,
    Outcome,
    RunFinished,
    RunStarted,
)
from .execution import Executor, NodeCall
from .options import RunOptions
from .result import RunResult

if TYPE_CHECKING:
    from ..processes.registry import Registry

__all__ = ["Run", "RunHandle", "inputs_of", "references_of", "subgraph", "CANCEL_GRACE"]

log = logging.getLogger(__name__)

#: Seconds a crashed or interrupted run waits for its killed calls to end.
CANCEL_GRACE = 5.0


def inputs_of(node: Node, outputs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The inputs of ``node``'s call: its literals (a glob: the files it matches now), and its
    references read from ``outputs``."""
    return {port: outputs[v.node][v.output] if isinstance(v, Ref) else
            v.files() if isinstance(v, Glob) else v
            for port, v in node.inputs.items()}


def subgraph(graph: Graph, targets: Iterable[str]) -> Graph:
    """The nodes ``targets`` and every node they read from, directly or not."""
    keep = graph.needs(targets)
    return Graph({n: node for n, node in graph.nodes.items() if n in keep})


class RunHandle:
    """A run going on in a background thread: ``cancel()``, ``wait()``, ``done``, ``result``."""

    def __init__(self, run: Run):
        self._run = run
        self._thread = threading.Thread(target=run.execute, name="containerdag run", daemon=True)
        self._thread.start()

    @property
    def run_id(self) -> str:
        """The run's id, as its events carry it."""
        return self._run.id

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
        """Block until the run finished; raise ``TimeoutError`` if it did not in ``timeout``,
        or what crashed the run."""
        if not self._run.finished.wait(timeout):
            raise TimeoutError(f"run not finished after {timeout} s")
        if self._run.crash is not None:
            raise self._run.crash
        return self._run.result


class Run:
    """One run of a graph: built (and validated) in the caller's thread, executed in one."""

    def __init__(self, graph: Graph, registry: Registry, options: RunOptions, *,
                 executor: Executor, cache: RunCache,
                 publish: Callable[[Event], None] = lambda _event: None):
        # Validated first (raises before anything starts, and before a copy is tried of a
        # value that cannot be copied), then copied: later edits to the user's graph do not
        # touch this run. The copy has the same nodes and references: the same ordering.
        self.ordering: Ordering = graph.check(registry)
        self.graph = graph.copy()
        order = self.ordering.order
        if options.nodes is not None:
            self.graph = subgraph(self.graph, options.nodes)
            self.ordering = self.graph.ordering()
            order = [n for n in order if n in self.graph]
        self.registry = registry
        self.listeners = options.listeners
        self.max_workers = options.max_workers  # None: the executor's slots (at the start)
        self.timeout = options.timeout
        self.executor = executor
        self.cache = cache
        self.publish = publish
        self.decisions: dict[str, Decision] = {}
        self.calls: dict[str, NodeCall] = {}
        #: Scattered nodes under way, and their elements' cache decisions.
        self.scatters: dict[str, Elements] = {}
        self._element_decisions: dict[tuple[str, int], Decision] = {}
        #: Nodes handed to the executor in a chain or a bundle, before their turn: their
        #: futures. A chained node's turn comes when its upstream node ends (it reads from it);
        #: a bundled one's when the node before it in its bundle ends (``bundled``).
        self.chained: dict[str, Future] = {}
        self.bundled: dict[str, str] = {}
        self._prepared: dict[str, NodeCall] = {}  # bundled nodes' calls, made as bundled
        # Node names, and (node, index) for the elements of a scattered node.
        self._ready: deque[Any] = deque()
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
        """Fold the event into the result, then tell every listener (a broken one is logged)
        and the session's subscribers."""
        with self._lock:
            self.result.apply(event)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken listener must not break the run
                log.exception("listener %r failed", listener)
        self.publish(event)

    def execute(self) -> None:
        """Run to the end. Whatever raises (an executor that cannot start, Ctrl-C, a bug), the
        running calls are killed, unfinished nodes end cancelled, the history is closed and
        ``RunFinished`` says how the run ended; what crashed it is kept in ``crash``."""
        started = time.time()
        running: dict[Future, Any] = {}  # -> a node, or (node, element index)
        outcome: Outcome = "crashed"
        error: str | None = None
        try:
            self.emit(RunStarted(self.id, tuple(self.result.status), started))
            self.result.run_id = self.cache.begin(self.graph.to_spec, started)
            self.executor.prepare(self.max_workers or 4)  # a cluster: is it there?
            self.max_workers = self.max_workers or self.executor.slots or 4
            self._loop(running)
            outcome = self._outcome()
        except BaseException as exc:  # noqa: BLE001 - kept in self.crash, raised by wait()
            self.crash = exc
            outcome = "cancelled" if isinstance(exc, KeyboardInterrupt) else "crashed"
            error = f"{type(exc).__name__}: {exc}"
            self._end_unfinished(running, error)
        finally:
            try:
                self._drain_logs()
                self.cache.finish(time.time(), self.result.counts())
            except Exception as exc:  # noqa: BLE001 - a broken store must not hide the end
                log.exception("closing the run's history failed")
                if self.crash is None:
                    self.crash, outcome, error = exc, "crashed", f"{type(exc).__name__}: {exc}"
            self.emit(RunFinished(self.result, time.time(), self.id, outcome, error))
            self.finished.set()

    def _outcome(self) -> Outcome:
        if self.cancel.is_set():
            return "cancelled"
        return "ok" if all(s in SUCCESS for s in self.result.status.values()) else "failed"

    def _end_unfinished(self, running: dict[Future, Any], why: str) -> None:
        """After a crash: kill the running calls, wait a little for them, and end every node
        that has not ended (what finished meanwhile keeps its result)."""
        self.cancel.set()
        wait_futures(list(running), timeout=CANCEL_GRACE)
        for future, name in list(running.items()):
            if future.done():
                del running[future]
                if isinstance(name, tuple):
                    self._element_ended(*name, self._finished_event(name[0], future))
                else:
                    self._ended(self._finished_event(name, future))
        for name, elements in list(self.scatters.items()):
            for index in range(len(elements.calls)):
                if index not in elements.ended and not elements.done:
                    error = Cancelled(f"the run ended before this element did ({why})",
                                      process=elements.node.process)
                    error.node = name
                    self._element_ended(name, index, NodeFinished(
                        name, "cancelled", None, None, error, "", time.time()))
        for name, status in list(self.result.status.items()):
            if status not in FINAL:
                node = self.graph[name]
                error = Cancelled(f"the run ended before this node did ({why})",
                                  process=node.process)
                error.node = name
                self._ended(NodeFinished(name, "cancelled", None, None, error, "", time.time()))

    def _loop(self, running: dict[Future, Any]) -> None:
        sorter = self.ordering.ready()
        ready = self._ready
        report: Callable[[Event], None] = self._inbox.put
        while sorter.active:
            if self.chained:  # a chained node first: it runs already, right after its upstream
                for name in sorter.take():
                    (ready.appendleft if name in self.chained else ready.append)(name)
            else:
                ready.extend(sorter.take())
            # Submit no more than there are workers, so "running" means running.
            while ready and len(running) < self.max_workers:
                name = ready.popleft()
                if isinstance(name, tuple):
                    self._start_element(*name, running)
                    if self.scatters[name[0]].done:
                        sorter.done(name[0])
                    continue
                if self._skip_if_needed(name):
                    sorter.done(name)
                    continue
                if self.graph[name].scatter:
                    items = self._expand(name)
                    if items:
                        ready.extendleft(reversed(items))
                    else:  # no element, or lists that cannot be paired: it ended already
                        sorter.done(name)
                    continue
                call = self.calls[name] = (self._prepared.pop(name, None)
                                           or self._call_of(name))
                self.emit(NodeStarted(name, call.inputs, time.time()))
                decision = self.decisions[name] = self.cache.decide(
                    self.graph[name], call.process, call.inputs)
                chained = self.chained.pop(name, None)
                if decision.reuse or (chained is None and self.executor.runs_inline(call)):
                    self._ended(self._reused(call, decision) if decision.reuse else
                                self.executor.run_inline(call, report=self.emit))
                    sorter.done(name)
                    continue
                future = (chained if chained is not None else
                          self._submit(name, call, report, len(running)))
                running[future] = name
                future.add_done_callback(self._inbox.put)
            if not running:
                continue
            item = self._inbox.get()
            if self.cancel.is_set():
                self._abandon(sorter, running)
            if isinstance(item, (NodeLog, NodeProgress)):
                self.emit(item)
            elif isinstance(item, Future) and item in running:
                name = running.pop(item)
                if isinstance(name, tuple):  # an element
                    self._element_ended(*name, self._finished_event(name[0], item))
                    if self.scatters[name[0]].done:
                        sorter.done(name[0])
                else:
                    self._ended(self._finished_event(name, item))
                    sorter.done(name)

    def _submit(self, name: str, call: NodeCall, report: Callable[[Event], None],
                running: int) -> Future:
        """Hand ``call`` to the executor (``running`` calls under way). When the executor runs
        chains, with the nodes that follow it in a line (a chain), or else with some of the
        nodes waiting for a slot (a bundle: their calls one after another in this call's
        slot); their futures wait in ``chained`` until their turn."""
        limit = self.executor.chain_limit(call.process)
        if limit <= 1:
            return self.executor.submit(call, cancel=self.cancel, report=report)
        calls = [call]
        after = self._chain_after(name, limit)
        for later in after:
            node = self.graph[later]
            timeout = node.timeout if node.timeout is not None else self.timeout
            calls.append(NodeCall(later, self.registry.get(node.process), dict(node.inputs),
                                  timeout, run=self.id))
        if not after:
            after = self._bundle(running, self.executor.chain_limit(call.process, bundle=True))
            calls += [self._prepared[later] for later in after]
            self.bundled.update(zip([name, *after], after, strict=False))  # each: the next
        if not after:
            return self.executor.submit(call, cancel=self.cancel, report=report)
        futures = self.executor.submit_chain(calls, cancel=self.cancel, report=report)
        self.chained.update(zip(after, futures[1:], strict=True))
        return futures[0]

    def _bundle(self, running: int, limit: int) -> list[str]:
        """When more nodes wait than there are free slots: this slot's share of them, taken
        from the front of the queue (nodes the executor may chain, not scattered, run
        whatever the cache holds), their calls made now (``_prepared``)."""
        ready = self._ready
        slots = self.max_workers - running  # this one's and the other free ones
        share = min(-(-(len(ready) + 1) // slots), limit) - 1
        taken: list[str] = []
        while len(taken) < share and ready and isinstance(ready[0], str):
            name = ready[0]
            node = self.graph[name]
            proc = self.registry.get(node.process)
            if (node.scatter or self.executor.chain_limit(proc, bundle=True) <= 1
                    or self.cache.may_reuse(name, proc) or self.cancel.is_set()
                    or any(self.result.status.get(up) not in SUCCESS
                           for up in self.ordering.upstream[name])):
                break
            self._prepared[name] = self._call_of(name)
            taken.append(ready.popleft())
        return taken

    def _chain_after(self, name: str, limit: int) -> list[str]:
        """The nodes that can run right after ``name`` where it runs, in a line: each the only
        reader of the one before and reading from nothing else, that the executor may chain
        (``chain_limit``), not scattered, without a glob, and run whatever its inputs (the
        cache could not reuse it)."""
        after: list[str] = []
        downstream, upstream = self.ordering.downstream, self.ordering.upstream
        while len(after) < limit - 1:
            readers = downstream[name]
            if len(readers) != 1 or upstream[readers[0]] != [name]:
                break
            node = self.graph[readers[0]]
            proc = self.registry.get(node.process)
            if (node.scatter or self.executor.chain_limit(proc) <= 1
                    or self.cache.may_reuse(node.name, proc)
                    or any(isinstance(v, Glob) for v in node.inputs.values())):
                break
            name = node.name
            after.append(name)
        return after

    # ---- scattered nodes: a call per element, gathered at the end ----------------------------

    def _expand(self, name: str) -> list[tuple[str, int]]:
        """Start scattered node ``name``: its elements to run (none: it ended already)."""
        node = self.graph[name]
        proc = self.registry.get(node.process)
        inputs = inputs_of(node, self.result.outputs)
        self.emit(NodeStarted(name, inputs, time.time()))
        try:
            each = scatter.elements(node, inputs)
        except ScatterError as exc:
            exc.process = proc.name
            self._ended(NodeFinished(name, "failed", None, None, exc, "", time.time()))
            return []
        timeout = node.timeout if node.timeout is not None else self.timeout
        calls = [NodeCall(name, proc, element, timeout, run=self.id, element=i)
                 for i, element in enumerate(each)]
        self.scatters[name] = Elements(node, calls, [scatter.label(node, e) for e in each])
        if not calls:
            self._gather(name)
            return []
        return [(name, i) for i in range(len(calls))]

    def _start_element(self, name: str, index: int, running: dict[Future, Any]) -> None:
        elements = self.scatters[name]
        call = elements.calls[index]
        self.emit(ElementStarted(name, index, elements.labels[index], call.inputs, time.time()))
        if self.cancel.is_set():
            error = Cancelled("run cancelled before the element started", process=call.process.name)
            error.node = name
            self._element_ended(name, index, NodeFinished(name, "cancelled", None, None, error,
                                                          "", time.time()))
            return
        decision = self._element_decisions[(name, index)] = self.cache.decide(
            self.graph[name], call.process, call.inputs, explain_run=False)
        if decision.reuse:
            self._element_ended(name, index, self._reused(call, decision))
        elif self.executor.runs_inline(call):
            self._element_ended(name, index, self.executor.run_inline(call, report=self.emit))
        else:
            future = self.executor.submit(call, cancel=self.cancel, report=self._inbox.put)
            running[future] = (name, index)
            future.add_done_callback(self._inbox.put)

    def _element_ended(self, name: str, index: int, event: NodeFinished) -> None:
        decision = self._element_decisions.get((name, index))
        self.cache.element_finished(name, event.status, event.outputs, decision)
        reason = decision.reason if decision is not None and decision.reuse else ""
        elements = self.scatters[name]
        self.emit(elements.end(index, event, reason))
        if elements.done:
            self._gather(name)

    def _gather(self, name: str) -> None:
        """Every element ended: the node ends, its outputs lists in element order."""
        elements = self.scatters[name]
        proc = self.registry.get(elements.node.process)
        last = self.cache.last_elements(name)
        keys = {i: d.key for (n, i), d in self._element_decisions.items() if n == name}
        reused = {i for i, e in elements.ended.items() if e.status == "cached"}
        why: dict[str, list[str]] = {"no earlier result:": [], "new": [], "changed": [],
                                     "again (no result kept):": [], "not cacheable:": []}
        for i, label in enumerate(elements.labels):
            if i in reused:
                continue
            key = keys.get(i)
            word = ("not cacheable:" if key is None else "no earlier result:" if not last
                    else "new" if label not in last else "changed" if last[label] != key
                    else "again (no result kept):")
            why[word].append(label)
        event = elements.gathered(list(proc.outputs), process=proc.name,
                                  summary=elements.summary(reused, why))
        parts = {"kind": "scatter", "name": proc.name, "elements": [
            {"label": label, "key": keys.get(i)} for i, label in enumerate(elements.labels)]}
        self.decisions[name] = Decision(name, "reuse" if event.status == "cached" else "run",
                                        event.reason, None, parts)
        self._ended(event)

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
            event = event.with_reason(decision.reason)
        node = self.graph[event.node]
        self.cache.finished(event, decision, node.process, self.result.inputs.get(event.node))
        self.emit(event)
        if self.bundled:
            after = self.bundled.pop(event.node, None)
            if after is not None:  # its turn: it runs already, in this one's slot
                self._ready.appendleft(after)

    def _abandon(self, sorter: Ready,
                 running: dict[Future, Any]) -> None:
        """On cancel, give up the in-process calls at once: a Python call cannot be killed.

        Their threads finish in the background; what they return is dropped.
        """
        for future, key in list(running.items()):
            name = key[0] if isinstance(key, tuple) else key
            call = (self.scatters[name].calls[key[1]] if isinstance(key, tuple)
                    else self.calls[name])
            if call.process.in_process and not future.done():
                del running[future]
                error = Cancelled("cancelled while running; the Python call was abandoned "
                                  "(it cannot be killed) and its result will be dropped",
                                  process=call.process.name)
                error.node = name
                ended = NodeFinished(name, "cancelled", None, None, error, "", time.time())
                if isinstance(key, tuple):
                    self._element_ended(name, key[1], ended)
                    if self.scatters[name].done:
                        sorter.done(name)
                else:
                    self._ended(ended)
                    sorter.done(name)

    def _drain_logs(self) -> None:
        """Logs that arrived after their node's future (none are lost, none come late)."""
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if (isinstance(item, (NodeLog, NodeProgress))
                    and self.result.status.get(item.node) == "running"):
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
        # Literals are this run's own copies (Graph.copy), so they are passed as they are.
        timeout = node.timeout if node.timeout is not None else self.timeout
        return NodeCall(name, self.registry.get(node.process),
                        inputs_of(node, self.result.outputs), timeout, run=self.id)

    def _skip_if_needed(self, name: str) -> bool:
        status = self.result.status
        node = self.graph[name]
        reason = None
        if self.cancel.is_set():
            reason = Cancelled("run cancelled before the node started", process=node.process)
        else:
            for up in self.ordering.upstream[name]:
                if status.get(up) not in SUCCESS:
                    reason = UpstreamFailed(f"skipped: upstream node {up!r} {status.get(up)}",
                                            process=node.process, upstream=up)
                    break
        if reason is None:
            return False
        reason.node = name
        self._ended(NodeFinished(name, "skipped", None, None, reason, "", time.time()))
        return True
