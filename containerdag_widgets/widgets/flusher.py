"""The flusher: one thread that pushes what the runs' events changed to the page.

It lingers between runs, so a run pays no thread start nor wake-up; it pushes at its ticks
while a run goes on (a run shorter than a tick mostly costs one push, at its end); its
condition is its own, so an event never waits for a push in progress. It knows the widget only
through the callables it is given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Flusher", "LINGER"]

#: Seconds an idle flusher thread waits for the next run before it ends.
LINGER = 5.0


class Flusher:
    """Calls ``push()`` every ``interval()`` seconds while ``busy()``, and once more at a run's
    end (``push_now``); ``idle()`` when a push leaves nothing running."""

    def __init__(self, push: Callable[[], None], *, busy: Callable[[], bool],
                 interval: Callable[[], float], idle: Callable[[], None],
                 name: str = "GraphWidget updates") -> None:
        self._push_fn, self._busy, self._interval, self._idle_fn = push, busy, interval, idle
        self._name = name
        #: The thread while it lives (None between its end and the next run).
        self.thread: threading.Thread | None = None
        self._cv = threading.Condition(threading.Lock())
        self._push = self._closing = False
        self._idle = threading.Event()
        self._idle.set()

    def begins(self) -> None:
        """A run began (an event) or is about to (``start``): follow it (a lingering thread
        sees it at its next tick, so the run does not wait for a thread switch)."""
        with self._cv:
            self._idle.clear()
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, daemon=True, name=self._name)
                self.thread.start()

    def push_now(self) -> None:
        """The last update of a run goes out now, not at the next tick."""
        with self._cv:
            self._push = True
            self._cv.notify()

    def close(self) -> None:
        """End the thread (after the push in progress, if any)."""
        with self._cv:
            self._closing = True
            self._cv.notify()

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until the last update of the runs was pushed."""
        if not self._idle.wait(timeout):
            raise TimeoutError("the run's updates did not finish in time")

    def _next(self) -> bool:
        """Wait for the next push: a tick while busy, or ``push_now``. False when the thread
        should end: closing, or idle for ``LINGER`` seconds."""
        with self._cv:
            idle_until = time.monotonic() + LINGER
            ending = False
            while not (self._push or self._closing or ending):
                if not self._cv.wait(self._interval()):
                    if self._busy():
                        break
                    ending = time.monotonic() > idle_until
            if self._closing or ending:
                self.thread = None
                self._idle.set()
                return False
            self._push = False
            return True

    def _loop(self) -> None:
        while self._next():
            self._push_fn()
            if not self._busy():
                self._idle_fn()
                with self._cv:  # a run that began meanwhile keeps it busy
                    if not self._busy() and not self._push:
                        self._idle.set()
