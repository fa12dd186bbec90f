"""The runs of a graph as one widget sees them: folded from events, under one lock.

Events arrive in the run's scheduling thread, which only queues them (and counts runs begun
and ended): folding them is left to the reader, the widget's flusher thread, which takes what
changed (``take``) and pushes it to the page, so a run is not slowed by the widget watching it.
Neither reads a runner's live result.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..run.events import (
    ElementFinished,
    ElementStarted,
    Event,
    NodeFinished,
    NodeLog,
    NodeProgress,
    NodeStarted,
    RunFinished,
    RunStarted,
)
from ..run.result import RunResult

__all__ = ["Fold", "Update"]

_PER_NODE = ("inputs", "outputs", "errors", "logs", "durations", "times", "workers", "reasons",
             "moving")
#: Everything a node's outcome is made of (what an edit keeps and a rename moves).
_OUTCOME = ("status", *_PER_NODE)


@dataclass
class Update:
    """What changed since the last ``take``, with a snapshot to render it from."""

    nodes: set[str]
    logs: set[str]
    run_changed: bool
    state: RunResult
    started: dict[str, float]
    active: int
    origin: float | None
    run_nodes: tuple[str, ...]
    finished: RunResult | None = None


@dataclass
class Fold:
    """Every event of every run of the graph, folded into ``result`` (one ``RunResult`` that
    keeps the latest outcome of each node) plus what a widget needs beside it."""

    result: RunResult = field(default_factory=RunResult)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: node -> when it started, for nodes whose call began (live timeline bars, "so far").
    started: dict[str, float] = field(default_factory=dict)
    #: runs going on, and their ids (what Stop cancels through the session).
    active: int = 0
    runs: list[str] = field(default_factory=list)
    origin: float | None = None
    run_nodes: tuple[str, ...] = ()
    finished: RunResult | None = None
    _pending: deque[Event] = field(default_factory=deque)
    _nodes: set[str] = field(default_factory=set)
    _logs: set[str] = field(default_factory=set)
    _run_changed: bool = False

    def reset(self, nodes: Iterable[str], keep: Iterable[str] = ()) -> None:
        """After the graph changed: ``nodes`` are the graph's nodes now, all pending but those
        in ``keep``, which keep their last outcome."""
        with self.lock:
            self._fold()
            nodes, keep = list(nodes), set(keep)
            old, self.result = self.result, RunResult.pending(nodes)
            for attr in _OUTCOME:
                values, new = getattr(old, attr), getattr(self.result, attr)
                new.update((n, values[n]) for n in nodes if n in keep and n in values)
            self.started = {n: t for n, t in self.started.items() if n in keep}
            if not keep:
                self.origin, self.run_nodes = None, ()
            self._nodes = set(nodes)
            self._run_changed = True

    def apply(self, event: Event) -> None:
        """Take an event: runs begun and ended count at once (``active``, ``runs``); the
        rest is folded at the next read."""
        self._pending.append(event)  # deque appends and pops are atomic: no lock needed
        if isinstance(event, RunStarted):
            with self.lock:
                self.active += 1
                self.runs.append(event.run)
        elif isinstance(event, RunFinished):
            with self.lock:
                self.active = max(self.active - 1, 0)
                if event.run in self.runs:
                    self.runs.remove(event.run)
                if not self.active:
                    self.runs = []

    def _fold(self) -> None:
        """Fold the queued events, in order (under ``lock``)."""
        res, pending = self.result, self._pending
        while pending:
            event = pending.popleft()
            if isinstance(event, RunStarted):
                for name in event.nodes:  # what this run redoes starts afresh
                    for attr in _PER_NODE:
                        getattr(res, attr).pop(name, None)
                    self.started.pop(name, None)
                self.origin, self.run_nodes = event.time, tuple(event.nodes)
                self._nodes.update(event.nodes)
                self._run_changed = True
            elif isinstance(event, NodeStarted):
                self.started[event.node] = event.time
                self._nodes.add(event.node)
            elif isinstance(event, (NodeFinished, ElementStarted, ElementFinished)):
                self._nodes.add(event.node)
            elif isinstance(event, (NodeLog, NodeProgress)):  # the inspector shows them live
                self._logs.add(event.node)
            elif isinstance(event, RunFinished):
                self.finished = event.result
                self._run_changed = True
            res.apply(event)

    def rename(self, old: str, new: str) -> None:
        """Node ``old`` is called ``new`` now: its outcome goes with it."""
        with self.lock:
            self._fold()
            for attr in _OUTCOME:
                values = getattr(self.result, attr)
                if old in values:
                    values[new] = values.pop(old)
            if old in self.started:
                self.started[new] = self.started.pop(old)

    def running(self) -> list[str]:
        """The ids of the runs going on."""
        with self.lock:
            return list(self.runs)

    def take(self) -> Update | None:
        """What changed since the last call (None: nothing), and a snapshot."""
        with self.lock:
            self._fold()
            if not (self._nodes or self._logs or self._run_changed):
                return None
            update = Update(self._nodes, self._logs, self._run_changed, self.result.snapshot(),
                            dict(self.started), self.active, self.origin, self.run_nodes,
                            self.finished)
            self._nodes, self._logs, self._run_changed = set(), set(), False
            return update

    def snapshot(self) -> tuple[RunResult, dict[str, float]]:
        with self.lock:
            self._fold()
            return self.result.snapshot(), dict(self.started)

    def current(self) -> RunResult:
        """``result`` with every event so far folded in (not a copy)."""
        with self.lock:
            self._fold()
            return self.result

