"""Events: the one channel out of a run. Widgets, progress bars and tables build from them.

Listeners are called in the run's scheduling thread, in order: ``NodeStarted`` before any
``NodeLog`` of that node, ``NodeFinished`` last for each node, ``RunFinished`` once at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ContainerDagError
from .status import Status

if TYPE_CHECKING:
    from .result import RunResult

__all__ = ["RunStarted", "NodeStarted", "NodeLog", "NodeFinished", "RunFinished",
           "GraphEdited", "Event", "Listener"]


@dataclass(frozen=True)
class RunStarted:
    """A run of a graph began; ``cancel()`` stops it (what a Stop button calls)."""

    run: str
    nodes: tuple[str, ...]
    time: float
    cancel: Callable[[], None] = field(compare=False, repr=False, default=lambda: None)


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


@dataclass(frozen=True)
class RunFinished:
    """The run ended; ``result`` is final."""

    result: RunResult
    time: float


@dataclass(frozen=True)
class GraphEdited:
    """A graph changed through its API: ``kind`` is add, replace, remove, rename, restore,
    clear or input; ``nodes`` names the nodes concerned (for rename: old, new)."""

    kind: str
    nodes: tuple[str, ...]


Event = RunStarted | NodeStarted | NodeLog | NodeFinished | RunFinished
Listener = Callable[[Event], None]
