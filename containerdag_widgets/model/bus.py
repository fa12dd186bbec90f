"""EventBus: who hears what is published, subscribed and unsubscribed from any thread.

The graph publishes its edits on one; a session publishes its runs' events on another.
"""

from __future__ import annotations

import inspect
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["EventBus"]


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
