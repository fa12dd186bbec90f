"""Run a graph: validate, then call nodes in topological order, independent ones in parallel.

A failed node's descendants are skipped with the reason; other branches go on. Listeners get
events (node started, node finished, run finished) from the scheduling thread.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import Cancelled, ContainerDagError, ProcessError, ProcessFailed, UpstreamFailed
from .graph import Graph, Ref

if TYPE_CHECKING:
    from .registry import Registry

__all__ = [
    "STATUSES",
    "NodeStarted",
    "NodeFinished",
    "RunFinished",
    "RunResult",
    "RunHandle",
    "run",
    "start",
]

#: Every status a node can have. ``cached`` is reserved for a result cache.
STATUSES = ("pending", "running", "done", "cached", "failed", "skipped", "cancelled")
FINAL = frozenset({"done", "cached", "failed", "skipped", "cancelled"})


@dataclass(frozen=True)
class NodeStarted:
    node: str
    inputs: dict[str, Any]
    time: float


@dataclass(frozen=True)
class NodeFinished:
    node: str
    status: str
    duration: float | None
    outputs: dict[str, Any] | None
    error: ContainerDagError | None
    log: str
    time: float


@dataclass(frozen=True)
class RunFinished:
    result: RunResult
    time: float


Event = NodeStarted | NodeFinished | RunFinished
Listener = Callable[[Event], None]


@dataclass
class RunResult:
    """Everything a run produced, per node. A failed node never hides the others' results."""

    status: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, ContainerDagError] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    #: ``(start, end)`` wall-clock timestamps of each node that ran.
    times: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(s in ("done", "cached") for s in self.status.values())

    @property
    def failed(self) -> list[str]:
        return [n for n, s in self.status.items() if s == "failed"]

    def raise_for_status(self) -> RunResult:
        """Raise the first failed or cancelled node's error (all errors stay in ``errors``)."""
        for node, status in self.status.items():
            if status in ("failed", "cancelled"):
                raise self.errors[node]
        return self

    def table(self) -> str:
        """A readable text table of every node's status, inputs, outputs and error."""
        rows = [("node", "status", "time", "inputs", "outputs / error")]
        for node, status in self.status.items():
            secs = self.durations.get(node)
            detail = (
                _fmt(self.outputs[node]) if node in self.outputs
                else str(self.errors.get(node, ""))
            )
            rows.append((node, status, f"{secs:.3f}s" if secs is not None else "-",
                         _fmt(self.inputs.get(node, {})), detail))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = []
        for i, r in enumerate(rows):
            lines.append("  ".join(r[j].ljust(widths[j]) for j in range(4)) + "  " + r[4])
            if i == 0:
                lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 15)
        return "\n".join(lines)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for s in self.status.values():
            counts[s] = counts.get(s, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        return f"<RunResult {summary}>"


def _fmt(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


class RunHandle:
    """A run going on in a background thread: ``cancel()``, ``wait()``, ``done``, ``result``."""

    def __init__(self, run: _Run):
        self._run = run
        self._thread = threading.Thread(target=run.execute, name="containerdag run", daemon=True)
        self._thread.start()

    @property
    def result(self) -> RunResult:
        """The result so far (complete once ``done``)."""
        return self._run.result

    @property
    def done(self) -> bool:
        return self._run.finished.is_set()

    def cancel(self) -> None:
        """Kill running calls and skip the nodes not started yet."""
        self._run.cancel.set()

    def wait(self, timeout: float | None = None) -> RunResult:
        """Block until the run finished; raise ``TimeoutError`` if it did not in ``timeout``."""
        if not self._run.finished.wait(timeout):
            raise TimeoutError(f"run not finished after {timeout} s")
        if self._run.crash is not None:
            raise self._run.crash
        return self._run.result


def run(graph: Graph, registry: Registry, **options: Any) -> RunResult:
    """Run ``graph`` to the end and return its ``RunResult``.

    Options: ``max_workers`` (default 4), ``timeout`` (seconds per node, default none; a node's
    own ``timeout`` wins), ``listeners`` (callables taking events), ``nodes`` (run only these
    and what they need).
    """
    r = _Run(graph, registry, **options)
    r.execute()
    if r.crash is not None:
        raise r.crash
    return r.result


def start(graph: Graph, registry: Registry, **options: Any) -> RunHandle:
    """Validate now, then run in a background thread; returns a ``RunHandle``."""
    return RunHandle(_Run(graph, registry, **options))


class _Run:
    def __init__(
        self,
        graph: Graph,
        registry: Registry,
        *,
        max_workers: int = 4,
        timeout: float | None = None,
        listeners: Iterable[Listener] = (),
        nodes: Iterable[str] | None = None,
    ):
        graph.validate(registry)  # raises before anything starts
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        self.graph = graph.copy()  # later edits to the user's graph do not touch this run
        if nodes is not None:
            self.graph = _subgraph(self.graph, nodes)
        self.registry = registry
        self.max_workers = max_workers
        self.timeout = timeout
        self.listeners = list(listeners)
        self.cancel = threading.Event()
        self.finished = threading.Event()
        self.crash: BaseException | None = None
        self.result = RunResult(status=dict.fromkeys(self.graph.order(), "pending"))

    def emit(self, event: Event) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken listener must not break the run
                import logging

                logging.getLogger(__name__).exception("listener %r failed", listener)

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
        res = self.result
        running: dict[Future, str] = {}
        ready: deque[str] = deque()
        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="containerdag node") as pool:
            while sorter.is_active():
                ready.extend(sorter.get_ready())
                # Submit no more than there are workers, so "running" means running.
                while ready and len(running) < self.max_workers:
                    name = ready.popleft()
                    if self._skip_if_needed(name):
                        sorter.done(name)
                        continue
                    inputs = self._resolve(name)
                    res.inputs[name] = inputs
                    res.status[name] = "running"
                    started = time.time()
                    self.emit(NodeStarted(name, inputs, started))
                    running[pool.submit(self._call, name, inputs, started)] = name
                if not running:
                    continue
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    name = running.pop(fut)
                    self._record(name, *fut.result())
                    sorter.done(name)
        self.emit(RunFinished(res, time.time()))

    def _resolve(self, name: str) -> dict[str, Any]:
        """The node's inputs with references replaced by upstream outputs (literals copied)."""
        outputs = self.result.outputs
        return {
            port: outputs[v.node][v.output] if isinstance(v, Ref) else copy.deepcopy(v)
            for port, v in self.graph[name].inputs.items()
        }

    def _skip_if_needed(self, name: str) -> bool:
        res = self.result
        node = self.graph[name]
        reason = None
        if self.cancel.is_set():
            reason = Cancelled("run cancelled before the node started", process=node.process)
        else:
            for up in node.upstream:
                if res.status.get(up) not in ("done", "cached"):
                    reason = UpstreamFailed(
                        f"skipped: upstream node {up!r} {res.status.get(up)}",
                        process=node.process, upstream=up,
                    )
                    break
        if reason is None:
            return False
        reason.node = name
        res.status[name] = "skipped"
        res.errors[name] = reason
        self.emit(NodeFinished(name, "skipped", None, None, reason, "", time.time()))
        return True

    def _call(self, name: str, inputs: dict[str, Any], started: float) -> tuple:
        node = self.graph[name]
        proc = self.registry.get(node.process)
        timeout = node.timeout if node.timeout is not None else self.timeout
        try:
            execution = proc.execute(inputs, timeout=timeout, cancel=self.cancel)
            return "done", execution.outputs, None, execution.log, started, time.time()
        except ProcessError as exc:
            error: ProcessError = exc
        except Exception as exc:  # noqa: BLE001 - any failure becomes this node's error
            error = ProcessFailed(f"{type(exc).__name__}: {exc}", process=proc.name)
            error.__cause__ = exc
        error.node = name
        status = "cancelled" if isinstance(error, Cancelled) else "failed"
        return status, None, error, error.log, started, time.time()

    def _record(self, name: str, status: str, outputs: dict | None,
                error: ContainerDagError | None, log: str, started: float, ended: float) -> None:
        res = self.result
        res.status[name] = status
        if outputs is not None:
            res.outputs[name] = outputs
        if error is not None:
            res.errors[name] = error
        res.logs[name] = log
        res.durations[name] = ended - started
        res.times[name] = (started, ended)
        self.emit(NodeFinished(name, status, ended - started, outputs, error, log, ended))


def _subgraph(graph: Graph, targets: Iterable[str]) -> Graph:
    keep: set[str] = set()
    stack = list(targets)
    while stack:
        name = stack.pop()
        if name not in keep:
            keep.add(name)
            stack.extend(graph[name].upstream)
    return Graph({n: node for n, node in graph.nodes.items() if n in keep})
