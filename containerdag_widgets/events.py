"""Events: the one channel out of a run. Widgets, progress bars and tables build from them.

Listeners are called in the run's scheduling thread, in order: ``NodeStarted`` before any
``NodeLog`` of that node, ``NodeFinished`` last for each node, ``RunFinished`` once at the end.
"""

from __future__ import annotations

import inspect
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .errors import ContainerDagError
from .status import Status

if TYPE_CHECKING:
    from .result import RunResult

__all__ = ["RunStarted", "NodeStarted", "NodeLog", "NodeFinished", "RunFinished",
           "GraphEdited", "Event", "Listener", "Outcome", "EventBus"]


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


#: How a run ended: every node done or cached; some failed, skipped or cancelled; the run
#: was cancelled (Stop, ``cancel()``, Ctrl-C); or the run itself crashed (an executor that
#: could not start, a bug), its unfinished nodes then cancelled.
Outcome = Literal["ok", "failed", "cancelled", "crashed"]


@dataclass(frozen=True)
class RunFinished:
    """The run ended, however (sent for every run that sent ``RunStarted``); ``result`` is
    final, ``outcome`` says how it ended and ``error`` why, when it crashed."""

    result: RunResult
    time: float
    run: str = ""
    outcome: Outcome = "ok"
    error: str | None = None


@dataclass(frozen=True)
class GraphEdited:
    """A graph changed through its API: ``kind`` is add, replace, remove, rename, restore,
    clear or input; ``nodes`` names the nodes concerned (for rename: old, new)."""

    kind: str
    nodes: tuple[str, ...]


Event = RunStarted | NodeStarted | NodeLog | NodeFinished | RunFinished
Listener = Callable[[Event], None]


class EventBus:
    """Callbacks of events, called in the order they subscribed, from the publishing thread.

    Subscribing and unsubscribing are safe from any thread, during a publish too (a publish
    calls the subscribers of the moment it began); a bound method is held weakly, so a
    widget that subscribes can still be freed; a broken subscriber is logged, never raised.
    ``topic`` narrows a subscription to what is published with that object (e.g. one graph).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[tuple[Callable[[], Callable[[Any], None] | None], Any]] = []

    def subscribe(self, callback: Callable[[Any], None], *,
                  topic: Any = None) -> Callable[[], None]:
        """Call ``callback(event)`` for each event published (with ``topic``, if given).
        Returns a function that ends the subscription (calling it twice is harmless)."""
        ref: Callable[[], Callable[[Any], None] | None] = (
            weakref.WeakMethod(callback) if inspect.ismethod(callback)
            else lambda: callback)  # same call shape as a WeakMethod
        entry = (ref, None if topic is None else weakref.ref(topic))
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, event: Any, *, topic: Any = None) -> None:
        """Give ``event`` to each subscriber of all events, and of ``topic``."""
        with self._lock:
            entries = list(self._subscribers)
        dead = []
        for entry in entries:
            ref, wanted = entry
            callback = ref()
            if callback is None or (wanted is not None and wanted() is None):
                dead.append(entry)
                continue
            if wanted is not None and wanted() is not topic:
                continue
            try:
                callback(event)
            except Exception:  # noqa: BLE001 - a broken subscriber must not break the run
                logging.getLogger(__name__).exception("event subscriber %r failed", callback)
        if dead:
            with self._lock:
                self._subscribers = [e for e in self._subscribers if e not in dead]

    def __len__(self) -> int:
        with self._lock:
            return len(self._subscribers)
