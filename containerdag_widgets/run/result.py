"""RunResult: everything a run produced, per node, built by folding the run's events.

The runner folds its own events into one; a widget folds the same events into its own, so no
thread ever reads a result another thread is writing.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from ..model.errors import ContainerDagError
from ..model.status import SUCCESS, Status
from .events import (
    ElementFinished,
    ElementStarted,
    Event,
    NodeFinished,
    NodeLog,
    NodeProgress,
    NodeStarted,
    RunStarted,
)

__all__ = ["RunResult"]


@dataclass
class RunResult:
    """Everything a run produced, per node. A failed node never hides the others' results."""

    status: dict[str, Status] = field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, ContainerDagError] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    #: ``(start, end)`` wall-clock timestamps of each node that ran.
    times: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: Where each node ran: ``"local"`` or a worker's address.
    workers: dict[str, str] = field(default_factory=dict)
    #: One sentence per node: why it ran or was reused.
    reasons: dict[str, str] = field(default_factory=dict)
    #: The elements of each scattered node, in order: ``{"label", "status", "inputs",
    #: "outputs", "error", "log", "duration", "reason"}`` each.
    elements: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Each running node's files on the move: ``{what: (done, total)}`` bytes (``NodeProgress``;
    #: gone when the node ends).
    moving: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    #: The run's id in the history, when one was recorded.
    run_id: int | None = None

    @classmethod
    def pending(cls, nodes: list[str]) -> RunResult:
        """A result with every node pending: the state before a run."""
        return cls(status=dict.fromkeys(nodes, "pending"))

    def apply(self, event: Event) -> None:
        """Fold one event into this result."""
        fold = _FOLDS.get(type(event))
        if fold is None:  # a subclass of an event, or an event a result does not keep
            fold = next((f for kind, f in _FOLDS.items() if isinstance(event, kind)), None)
            if fold is None:
                return
        fold(self, event)

    def _started(self, event: NodeStarted) -> None:
        node = event.node
        self.status[node] = "running"
        self.inputs[node] = event.inputs
        self.logs[node] = ""
        if self.elements:
            self.elements.pop(node, None)

    def _finished(self, event: NodeFinished) -> None:
        node = event.node
        if self.moving:
            self.moving.pop(node, None)
        self.status[node] = event.status
        if event.outputs is not None:
            self.outputs[node] = event.outputs
        if event.error is not None:
            self.errors[node] = event.error
        if event.started is not None:
            self.logs[node] = event.log
            self.durations[node] = event.duration or 0.0
            self.times[node] = (event.started, event.time)
            self.workers[node] = event.worker
        if event.reason:
            self.reasons[node] = event.reason

    def _run_started(self, event: RunStarted) -> None:
        self.status.update(dict.fromkeys(event.nodes, "pending"))

    def _log(self, event: NodeLog) -> None:
        self.logs[event.node] = self.logs.get(event.node, "") + event.text

    def _progress(self, event: NodeProgress) -> None:
        self.moving.setdefault(event.node, {})[event.what] = (event.done, event.total)

    def _element_started(self, event: ElementStarted) -> None:
        found = self.elements.setdefault(event.node, [])
        found.extend({} for _ in range(event.index + 1 - len(found)))
        found[event.index] = {"label": event.label, "status": "running",
                              "inputs": event.inputs, "started": event.time}

    def _element_finished(self, event: ElementFinished) -> None:
        found = self.elements.setdefault(event.node, [])
        found.extend({} for _ in range(event.index + 1 - len(found)))
        found[event.index] = {**found[event.index], "label": event.label,
                              "status": event.status, "outputs": event.outputs,
                              "error": event.error, "log": event.log,
                              "duration": event.duration, "reason": event.reason,
                              "worker": event.worker}

    def snapshot(self) -> RunResult:
        """A copy that later events do not change (values shared, dicts copied)."""
        copied = RunResult(**{f.name: copy.copy(getattr(self, f.name)) for f in fields(self)})
        copied.elements = {node: list(found) for node, found in self.elements.items()}
        copied.moving = {node: dict(found) for node, found in self.moving.items()}
        return copied

    @property
    def ok(self) -> bool:
        return all(s in SUCCESS for s in self.status.values())

    @property
    def failed(self) -> list[str]:
        return [n for n, s in self.status.items() if s == "failed"]

    def counts(self) -> Counter[str]:
        """How many nodes have each status."""
        return Counter(self.status.values())

    def raise_for_status(self) -> RunResult:
        """Raise the first failed or cancelled node's error (all errors stay in ``errors``)."""
        for node, status in self.status.items():
            if status in ("failed", "cancelled"):
                raise self.errors[node]
        return self

    def element_counts(self, node: str) -> Counter[str]:
        """How many elements of scattered ``node`` have each status (empty: not scattered)."""
        return Counter(e.get("status", "pending") for e in self.elements.get(node, []))

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
        summary = ", ".join(f"{n} {s}" for s, n in self.counts().items())
        return f"<RunResult {summary}>"


#: How each kind of event folds into a result (looked up by type: once per event of a run).
_FOLDS: dict[type, Callable[[RunResult, Any], None]] = {
    NodeStarted: RunResult._started, NodeFinished: RunResult._finished,
    RunStarted: RunResult._run_started, NodeLog: RunResult._log,
    NodeProgress: RunResult._progress, ElementStarted: RunResult._element_started,
    ElementFinished: RunResult._element_finished,
}


def _fmt(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items())
