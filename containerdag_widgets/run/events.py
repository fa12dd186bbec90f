"""Events: the one channel out of a run. Widgets, progress bars and tables build from them.

Listeners are called in the run's scheduling thread, in order: ``NodeStarted`` before any
``NodeLog`` of that node, ``NodeFinished`` last for each node, ``RunFinished`` once at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..model.errors import ContainerDagError
from ..model.status import Status

__all__ = ["RunStarted", "NodeStarted", "NodeLog", "NodeProgress", "NodeFinished", "ElementStarted",
           "ElementFinished", "RunFinished", "Event", "Listener", "Outcome"]


@dataclass(frozen=True)
class RunStarted:
    """A run of a graph began (stop it through its ``RunHandle`` or ``Session.cancel(run)``)."""

    run: str
    nodes: tuple[str, ...]
    time: float


@dataclass(frozen=True)
class NodeStarted:
    """A node's call began, with its resolved inputs."""

    node: str
    inputs: dict[str, Any]
    time: float


@dataclass(frozen=True)
class NodeLog:
    """A chunk of a running node's log (stderr), as it arrives (about 10 a second at most)."""

    node: str
    text: str
    time: float


@dataclass(frozen=True)
class NodeProgress:
    """Bytes of a running node's file moved so far (a few a second at most): ``what`` names
    it (``"output passed (big.bin)"``), ``done`` of ``total`` bytes."""

    node: str
    what: str
    done: int
    total: int
    time: float


@dataclass(frozen=True)
class NodeFinished:
    """A node ended: done, cached, failed, skipped or cancelled. ``log`` is its whole log."""

    node: str
    status: Status
    duration: float | None
    outputs: dict[str, Any] | None
    error: ContainerDagError | None
    log: str
    time: float
    #: When the call began (None for a node that never started).
    started: float | None = None
    #: Where it ran: ``"local"``, or an executor's worker address.
    worker: str = "local"
    #: Why it ran or was reused (filled by the cache), else "".
    reason: str = ""

    def with_reason(self, reason: str) -> NodeFinished:
        """The same end, with ``reason`` (a plain copy: ``dataclasses.replace`` costs several
        times more, once per node of every run)."""
        return NodeFinished(self.node, self.status, self.duration, self.outputs, self.error,
                            self.log, self.time, self.started, self.worker, reason)


@dataclass(frozen=True)
class ElementStarted:
    """An element of a scattered node began (its own call), with its inputs."""

    node: str
    index: int
    label: str
    inputs: dict[str, Any]
    time: float


@dataclass(frozen=True)
class ElementFinished:
    """An element of a scattered node ended: done, cached, failed or cancelled; the node's
    own ``NodeFinished`` follows its last element, with the outputs gathered in lists."""

    node: str
    index: int
    label: str
    status: Status
    duration: float | None
    outputs: dict[str, Any] | None
    error: ContainerDagError | None
    log: str
    time: float
    reason: str = ""
    #: Where it ran: ``"local"``, or an executor's worker address.
    worker: str = "local"


#: How a run ended: every node done or cached; some failed, skipped or cancelled; the run
#: was cancelled (Stop, ``cancel()``, Ctrl-C); or the run itself crashed (an executor that
#: could not start, a bug), its unfinished nodes then cancelled.
Outcome = Literal["ok", "failed", "cancelled", "crashed"]


@dataclass(frozen=True)
class RunFinished:
    """The run ended, however (sent for every run that sent ``RunStarted``); ``result`` is
    final, ``outcome`` says how it ended and ``error`` why, when it crashed."""

    #: The run's ``RunResult`` (typed loosely: the events, plain data, need not import the
    #: result that folds them).
    result: Any
    time: float
    run: str = ""
    outcome: Outcome = "ok"
    error: str | None = None


Event = (RunStarted | NodeStarted | NodeLog | NodeProgress | NodeFinished | ElementStarted
         | ElementFinished | RunFinished)
Listener = Callable[[Event], None]
