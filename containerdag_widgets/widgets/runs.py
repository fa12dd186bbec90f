"""The graph widget's runs: start them (all, a node, from a node, the failed ones), stop
them, and the flusher thread that pushes what their events changed to the page."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from ..model.errors import ContainerDagError
from ..model.status import SUCCESS
from ..run.result import RunResult
from ..run.scheduler import RunHandle
from .html import esc, pre

__all__ = ["RunsMixin"]

_RERUN = ("failed", "skipped", "cancelled", "partial")
#: Seconds an idle flusher thread waits for the next run before it ends.
FLUSHER_LINGER = 5.0


class RunsMixin:
    """Running, for ``GraphWidget`` (which holds the state, the controls and ``_flush``)."""

    def start(self, nodes: Iterable[str] | None = None, *,
              force: Iterable[str] | None = None) -> RunHandle | None:
        """Start a run in the background (what Run does): every node, or ``nodes`` and what
        they need; ``force`` names nodes to run even if cached. None if it cannot start."""
        # A run going on, by the events (``running`` follows them at the next push, so a run
        # that just ended elsewhere may still read as running there).
        if self._fold.active or self._expecting:
            return None
        registry = self._check_registry()
        if registry is None:
            return None
        if self._graph_dirty:
            self.redraw()
        session = self._follow(registry)
        options: dict[str, Any] = {"max_workers": self.max_workers, "timeout": self.timeout,
                                   "executor": self.executor}
        if nodes is not None:
            options["nodes"] = list(nodes)
        if force is not None:
            options["force"] = list(force)
        self.message.value = ""
        # Running shows before the run starts: a run may end (and the flusher push its end)
        # before graph.start returns, and its end must be what stays.
        self._expecting = self.running = True
        self.controls.set_running(True, True, False, False)
        self._run_begins()
        try:
            self.handle = session.start(self.graph, **options)
        except ContainerDagError as exc:
            self._expecting = self.running = False
            self._buttons(True)
            self._push_now()
            self.message.value = pre(str(exc), "cdw-error")
            return None
        return self.handle

    def run(self, timeout: float | None = None) -> RunResult:
        """Run and wait; the widget updates live meanwhile. Returns the ``RunResult``."""
        handle = self.start()
        if handle is None:
            raise RuntimeError(self.message.value or "the graph is already running")
        result = handle.wait(timeout)
        self.wait_idle(timeout)
        return result

    def run_node(self, name: str) -> RunHandle | None:
        """Run node ``name`` (a node, or a group's nodes) again, with what it needs."""
        names = self._view.members.get(name, [name] if name in self.graph else [])
        return self.start(nodes=names, force=names) if names else None

    def run_from(self, name: str) -> RunHandle | None:
        """Run node ``name`` (or a group's nodes) and every node downstream of it."""
        names = self._view.members.get(name, [name] if name in self.graph else [])
        after = set(names).union(*(self.graph.descendants(n) for n in names))
        targets = [n for n in self.graph if n in after]
        return self.start(nodes=targets, force=targets) if targets else None

    def rerun_failed(self) -> RunHandle | None:
        """Run the nodes that failed, were skipped or cancelled (and what they need)."""
        targets = [n for n, s in self.status.items() if s in _RERUN and n in self.graph]
        # A scattered node is not forced: its failed elements run again, the others are
        # reused from the cache.
        force = [n for n in targets if not self.graph[n].scatter]
        return self.start(nodes=targets, force=force) if targets else None

    def stop(self) -> None:
        """Cancel the runs going on: running calls are killed, nodes not started are skipped."""
        cancelled = sum(session.cancel(run) for run in self._fold.running()
                        for session, _ in self._followed.values())
        if self.handle is not None and not self.handle.done:
            self.handle.cancel()
            cancelled += 1
        if cancelled:
            self.message.value = "<i>stopping...</i>"

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until the last update of the runs reached the traits."""
        if not self._idle.wait(timeout):
            raise TimeoutError("the run's updates did not finish in time")

    # ---- the flusher: one thread that pushes what the runs' events changed -----------------
    # It lingers between runs, so a run pays no thread start nor wake-up; it pushes at its ticks
    # while a run goes on (a run shorter than a tick mostly costs one push, at its end); its
    # condition is its own, so an event never waits for a push in progress.

    def _init_runs(self) -> None:
        self._flusher: threading.Thread | None = None
        self._cv = threading.Condition(threading.Lock())
        self._push = self._closing = self._expecting = False
        self._idle = threading.Event()
        self._idle.set()

    def _busy(self) -> bool:
        return bool(self._fold.active) or self._expecting

    def _run_begins(self) -> None:
        """A run began (an event) or is about to (``start``): the flusher follows it (a
        lingering one sees it at its next tick, so the run does not wait for a thread switch)."""
        with self._cv:
            self._idle.clear()
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_loop, daemon=True,
                                                 name="GraphWidget updates")
                self._flusher.start()

    def _push_now(self) -> None:
        """The last update of a run goes out now, not at the next tick."""
        with self._cv:
            self._push = True
            self._cv.notify()

    def _stop_flusher(self) -> None:
        with self._cv:
            self._closing = True
            self._cv.notify()

    def _next_push(self) -> bool:
        """Wait for the next push: a tick (every ``update_interval``) while a run goes on, or
        ``_push_now``. False when the thread should end: closing, or idle ``FLUSHER_LINGER`` s."""
        with self._cv:
            idle_until = time.monotonic() + FLUSHER_LINGER
            ending = False
            while not (self._push or self._closing or ending):
                if not self._cv.wait(self.update_interval):
                    if self._busy():
                        break
                    ending = time.monotonic() > idle_until
            if self._closing or ending:
                self._flusher = None
                self._idle.set()
                return False
            self._push = False
            return True

    def _flush_loop(self) -> None:
        while self._next_push():
            if self._expecting and self.handle is not None and self.handle.done:
                self._expecting = False  # the run ended before it began: say why
                try:
                    self.handle.wait(0)
                except BaseException as exc:  # noqa: BLE001 - shown, not raised
                    self.message.value = pre(f"the run failed: {exc}", "cdw-error")
            self._flush()
            if not self._busy():
                with self._edit_lock:
                    self._buttons(self.registry is not None)
                with self._cv:  # a run that began meanwhile keeps it busy
                    if not self._busy() and not self._push:
                        self._idle.set()

    def _report(self, result: RunResult) -> None:
        counts: dict[str, int] = {}
        for s in result.status.values():
            if s not in SUCCESS:
                counts[s] = counts.get(s, 0) + 1
        self.message.value = ('<span class="cdw-error" style="color:#d32f2f">' + esc(
            ", ".join(f"{n} {s}" for s, n in counts.items())) + " (click a node)</span>"
            if counts else "")
        self._buttons(True)

    def _buttons(self, can_run: bool) -> None:
        registry = self._registry if self._registry_source is None else True
        can_run = can_run and registry is not None and not getattr(registry, "closed", False)
        failed = any(s in _RERUN for s in self.status.values())
        self.controls.set_running(self.running, can_run, failed, bool(self.selected))

