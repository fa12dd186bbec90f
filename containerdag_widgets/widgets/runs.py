"""The graph widget's runs: start them (all, a node, from a node, the failed ones), stop
them, and the flusher thread that pushes what their events changed to the page."""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Iterable
from typing import Any

from ..errors import ContainerDagError
from ..result import RunResult
from ..runner import RunHandle
from ..status import SUCCESS
from .html import esc, pre

__all__ = ["RunsMixin"]

_RERUN = ("failed", "skipped", "cancelled")


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
        options: dict[str, Any] = {"max_workers": self.max_workers, "timeout": self.timeout,
                                   "executor": self.executor}
        if nodes is not None:
            options["nodes"] = list(nodes)
        if force is not None and "force" in inspect.signature(self.graph.start).parameters:
            options["force"] = list(force)
        self.message.value = ""
        self._expecting = True
        try:
            self.handle = self.graph.start(registry, **options)
        except ContainerDagError as exc:
            self._expecting = False
            self.message.value = pre(str(exc), "cdw-error")
            return None
        self.controls.set_running(True, True, False, False)
        self._ensure_flusher()
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
        return self.start(nodes=targets, force=targets) if targets else None

    def stop(self) -> None:
        """Cancel the runs going on: running calls are killed, nodes not started are skipped."""
        if self._fold.cancel_all() or (self.handle is not None and not self.handle.done):
            if self.handle is not None and not self.handle.done:
                self.handle.cancel()
            self.message.value = "<i>stopping...</i>"

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until the last update of the runs reached the traits."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (flusher := self._flusher) is not None:
            flusher.join(None if deadline is None else max(deadline - time.monotonic(), 0))
            if flusher.is_alive():
                raise TimeoutError("the run's updates did not finish in time")

    def _ensure_flusher(self) -> None:
        with self._edit_lock:
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_loop, daemon=True,
                                                 name="GraphWidget updates")
                self._flusher.start()

    def _flush_loop(self) -> None:
        while True:
            # Every update_interval, or at once when a run ends.
            if self._wake.wait(self.update_interval):
                self._wake.clear()
            if self._expecting and self.handle is not None and self.handle.done:
                self._expecting = False  # the run ended before it began: say why
                try:
                    self.handle.wait(0)
                except BaseException as exc:  # noqa: BLE001 - shown, not raised
                    self.message.value = pre(f"the run failed: {exc}", "cdw-error")
            self._flush()
            with self._edit_lock:  # a run starting now waits, then starts a new flusher
                if not self._fold.active and not self._expecting:
                    # The last update before wait_idle() may return (it waits for None).
                    self._flush()
                    self._buttons(self.registry is not None)
                    if not self._fold.active and not self._expecting:  # no observer started one
                        self._flusher = None
                        return

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

