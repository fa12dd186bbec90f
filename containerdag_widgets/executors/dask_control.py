"""The Dask executor's control of its runs: Stop, and workers that die mid-node.

``RunControl`` is the part of ``DaskExecutor`` that reacts to the run's cancel signal (kill the
running calls on every worker, cancel the tasks not started) and to the scheduler's
``remove-worker`` events (fail, or let Dask rerun, the nodes the dead worker was running;
remove the containers it left). It uses the executor's ``client``, ``retries``, ``_tasks``,
``_lock`` and its ``_fail``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ..model.errors import ProcessError, WorkerLost
from ..run.events import NodeFinished, NodeLog
from ..run.execution import NodeCall, Report
from .dask_worker import cancel_run

__all__ = ["Task", "RunControl", "ended"]

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Task:
    """One node's Dask task, from ``submit`` until its future (``cf``) has the node's end."""

    key: str
    call: NodeCall
    report: Report
    cf: Future
    dfut: Any = None
    #: Workers that reported starting the call, in order (a rerun adds one).
    workers: list[str] = field(default_factory=list)
    #: Workers that died while running it.
    lost: list[str] = field(default_factory=list)
    #: When the last start was reported (worker clock).
    started: float | None = None
    #: The key of the Dask task that runs it: its own, or its chain's (the first node's).
    dkey: str = ""
    #: Its place in its chain's result (None: its task runs it alone).
    index: int | None = None

    def __post_init__(self) -> None:
        self.dkey = self.dkey or self.key


class RunControl:
    """Stop and worker loss, for ``DaskExecutor`` (see the module docstring)."""

    client: Any
    retries: int
    closed: bool
    _tasks: dict[str, Task]
    _lock: threading.Lock
    _watched: dict[str, threading.Thread]
    _stopped: set[str]
    _previous_all: Any
    _control: Any  # a ThreadPoolExecutor, or None before prepare

    def _fail(self, task: Task, error: ProcessError) -> None:
        raise NotImplementedError  # DaskExecutor's

    def _on_cluster_event(self, event: tuple[float, dict[str, Any]]) -> None:
        """In the client's event loop: a worker that died takes its running nodes with it."""
        if self._previous_all is not None:
            try:
                self._previous_all(event)
            except Exception:  # noqa: BLE001 - someone else's handler
                log.exception("the previous handler of topic 'all' failed")
        msg = event[1]
        if msg.get("action") != "remove-worker" or msg.get("expected"):
            return
        address = msg.get("worker", "?")
        for key in msg.get("processing-tasks", ()):
            with self._lock:  # the node the task ran there (of a chain: the one under way)
                tasks = [t for t in self._tasks.values() if t.dkey == key]
            for task in tasks:
                if task.workers and task.workers[-1] == address and not task.cf.done():
                    break
            else:
                continue  # not ours, or not started there: Dask simply runs it elsewhere
            task.lost.append(address)
            if len(task.lost) > self.retries:
                rerun = task.dfut  # Dask already runs it again: cancel that (and its exec)
                self._fail(task, WorkerLost(
                    f"Dask worker {address} died while running the node"
                    + (f" (after {self.retries} retr{'y' if self.retries == 1 else 'ies'})"
                       if self.retries else ""),
                    process=task.call.process.name, worker=address))
                if rerun is not None:
                    self._later(self._cancel, rerun)
            else:
                task.report(NodeLog(task.call.node,
                                    f"[containerdag] Dask worker {address} died while running "
                                    f"this node; running it again (retry {len(task.lost)} of "
                                    f"{self.retries})\n", time.time()))
        self._later(self._remove_leftovers, address)

    def _later(self, fn: Any, *args: Any) -> None:
        """Client calls that block run in the control thread, never in the event loop."""
        if self._control is not None and not self.closed:
            with contextlib.suppress(RuntimeError):  # shut down meanwhile
                self._control.submit(fn, *args)

    def _cancel(self, dfut: Any) -> None:
        try:
            self.client.cancel([dfut])
        except Exception as exc:  # noqa: BLE001
            log.warning("could not cancel the rerun of %s: %s", dfut.key, exc)

    def _remove_leftovers(self, address: str) -> None:
        from ..docker.worker import remove_worker_containers

        try:
            self.client.run(remove_worker_containers, address, on_error="ignore")
        except Exception as exc:  # noqa: BLE001
            log.warning("could not remove the containers of worker %s: %s", address, exc)

    # ---- stop -------------------------------------------------------------------------------

    def _watch(self, run: str, cancel: threading.Event) -> None:
        """Waits for the run's cancel signal while the run has tasks here; then stops them."""
        while True:
            if cancel.wait(0.2):
                self._stop_run(run)
                return
            with self._lock:
                if not any(t.call.run == run for t in self._tasks.values()):
                    self._watched.pop(run, None)
                    return

    def _stop_run(self, run: str) -> None:
        """Kill the run's running calls on every worker, then cancel the tasks not started."""
        with self._lock:
            self._stopped.add(run)
        try:
            found = self.client.run(cancel_run, run, on_error="return")
        except Exception as exc:  # noqa: BLE001 - the scheduler is gone: nothing runs
            log.warning("could not reach the workers to stop run %s: %s", run, exc)
            found = {}
        running = {key for keys in found.values() if isinstance(keys, list) for key in keys}
        with self._lock:
            waiting = [t for t in self._tasks.values()
                       if t.call.run == run and t.key not in running and t.dfut is not None]
            # A chain under way stops at its node's cancel signal: its task is not cancelled.
            waiting = [t for t in waiting if not any(
                o.dkey == t.dkey and o.key in running for o in self._tasks.values())]
            self._watched.pop(run, None)
        if waiting:
            try:
                self.client.cancel([t.dfut for t in waiting if t.dfut is not None])
            except Exception as exc:  # noqa: BLE001
                log.warning("could not cancel the waiting tasks of run %s: %s", run, exc)


def ended(task: Task, status: str, error: ProcessError) -> NodeFinished:
    """How a node ended when its task gave no result of its own."""
    error.node = task.call.node
    ended = time.time()
    if task.started is None:  # it never ran
        return NodeFinished(task.call.node, status, None, None, error, "", ended)  # type: ignore[arg-type]
    # It ran somewhere: say where and how long, like a node that finished.
    return NodeFinished(task.call.node, status, max(ended - task.started, 0.0), None,  # type: ignore[arg-type]
                        error, "", ended, started=task.started, worker=task.workers[-1])
