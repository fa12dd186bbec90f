"""The executor seam: the scheduler hands a ready node to an executor and gets a future back.

A ``NodeCall`` carries what a node needs anywhere (the process, its resolved inputs, its
timeout), so a remote executor can carry it to another process; the cancel signal and the
``report`` callback for live events stay with the executor, which relays them as it can.
``execute_call`` is the one way a node runs, wherever the executor puts it.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ..model.errors import Cancelled, ProcessError, ProcessFailed, UpstreamFailed
from ..model.node import Ref
from ..processes.base import Process
from .events import Event, NodeFinished, NodeLog, NodeProgress

__all__ = ["NodeCall", "Executor", "EXECUTOR_MEMBERS", "CHAIN_MEMBERS", "missing_members",
           "OneByOne", "ThreadExecutor", "execute_call",
           "follow", "LogBatcher", "ProgressThrottle", "Report"]

#: Where an executor sends a running node's events (``NodeLog``); any thread may call it.
Report = Callable[[Event], None]

#: Seconds between two ``NodeLog`` events of one node.
LOG_INTERVAL = 0.1
#: Seconds between two ``NodeProgress`` events of one node (the last of a file always goes).
PROGRESS_INTERVAL = 0.25


@dataclass(frozen=True)
class NodeCall:
    """One node's call: everything an executor needs to run it, here or elsewhere."""

    node: str
    process: Process
    inputs: dict[str, Any]
    timeout: float | None = None
    #: Names the run, for executors that label their tasks (e.g. a Dask key).
    run: str = ""
    #: The element of a scattered node this call is (None: the node's one call).
    element: int | None = None


class Executor(Protocol):
    """Runs nodes. The scheduler calls ``prepare`` once per run, then ``submit`` per node
    (or runs the call itself where ``runs_inline`` says so). ``chain_limit`` and
    ``submit_chain`` are optional, as a pair: an executor without them is used through
    ``OneByOne``."""

    @property
    def slots(self) -> int:
        """How many calls it runs at once by its nature (a cluster's threads), else 0: the
        run's ``max_workers`` defaults to it."""

    def prepare(self, max_workers: int) -> None:
        """Be ready to run ``max_workers`` calls at once."""

    def runs_inline(self, call: NodeCall) -> bool:
        """Whether the scheduler should run ``call`` in its own thread (``run_inline``)."""

    def run_inline(self, call: NodeCall, *, report: Report) -> NodeFinished:
        """Run ``call`` here, in the caller's thread, to its end (see ``runs_inline``)."""

    def submit(self, call: NodeCall, *, cancel: threading.Event,
               report: Report) -> Future[NodeFinished]:
        """Start ``call``; the future gives its ``NodeFinished`` (never raises for a node
        failure). ``cancel`` set means kill the call; ``report(event)`` relays ``NodeLog``s."""

    def chain_limit(self, process: Process, *, bundle: bool = False) -> int:
        """How many calls a chain that starts with a call of ``process`` may hold
        (``submit_chain``; 1: calls of it are handed over one by one). ``bundle``: calls
        that do not read from each other, which a chain keeps in one slot one after another
        where they could run side by side (an executor may allow it for quick calls only)."""

    def submit_chain(self, calls: list[NodeCall], *, cancel: threading.Event,
                     report: Report) -> list[Future[NodeFinished]]:
        """Start ``calls`` to run one after another in one place, a future for each: a call
        with ``Ref`` inputs reads them from the call before it (``follow``) and runs only if
        that one ended done (a chain); one without runs whatever it did (a bundle)."""

    def close(self) -> None:
        """Release the executor's workers."""


#: What makes an executor (checked on a given ``executor=``).
EXECUTOR_MEMBERS = ("slots", "prepare", "runs_inline", "run_inline", "submit", "close")
#: Optional, as a pair: an executor without them hands every call over by itself (``OneByOne``).
CHAIN_MEMBERS = ("chain_limit", "submit_chain")


def missing_members(value: Any) -> list[str]:
    """The members ``value`` lacks to be an executor (none: it is one, or ``OneByOne`` of
    it makes one). Looked up on the type: a property (a cluster's slots) is not asked."""
    missing = [m for m in EXECUTOR_MEMBERS if not hasattr(type(value), m)]
    chains = [m for m in CHAIN_MEMBERS if not hasattr(type(value), m)]
    return missing + (chains if len(chains) == 1 else [])


class OneByOne:
    """An executor without chains (no ``chain_limit``/``submit_chain``) as the scheduler
    sees one: each call handed over by itself, everything else asked of ``inner``."""

    def __init__(self, inner: Any):
        self.inner = inner

    @classmethod
    def wrap(cls, executor: Any) -> Executor:
        """``executor`` itself if it chains, else it one by one."""
        if all(hasattr(type(executor), m) for m in CHAIN_MEMBERS):
            return executor
        return cls(executor)

    @property
    def slots(self) -> int:
        return self.inner.slots

    def prepare(self, max_workers: int) -> None:
        self.inner.prepare(max_workers)

    def runs_inline(self, call: NodeCall) -> bool:
        return self.inner.runs_inline(call)

    def run_inline(self, call: NodeCall, *, report: Report) -> NodeFinished:
        return self.inner.run_inline(call, report=report)

    def submit(self, call: NodeCall, *, cancel: threading.Event,
               report: Report) -> Future[NodeFinished]:
        return self.inner.submit(call, cancel=cancel, report=report)

    def chain_limit(self, process: Process, *, bundle: bool = False) -> int:
        return 1

    def submit_chain(self, calls: list[NodeCall], *, cancel: threading.Event,
                     report: Report) -> list[Future[NodeFinished]]:
        raise TypeError(f"{self.inner!r} runs calls one by one (chain_limit is 1)")

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return f"OneByOne({self.inner!r})"


class LogBatcher:
    """Turns a call's log chunks into ``NodeLog`` events, at most one per ``interval``."""

    def __init__(self, node: str, report: Report, interval: float = LOG_INTERVAL):
        self.node = node
        self.report = report
        self.interval = interval
        self._buffer: list[str] = []
        self._last = 0.0
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        """Take a chunk; send it now if the last event is old enough, else a little later."""
        if not text:
            return
        with self._lock:
            self._buffer.append(text)
            due = self._last + self.interval - time.monotonic()
            if due > 0:
                if self._timer is None:
                    self._timer = threading.Timer(due, self.flush)
                    self._timer.daemon = True
                    self._timer.start()
                return
        self.flush()

    def flush(self) -> None:
        """Send what is buffered as one ``NodeLog``."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if not self._buffer:
                return
            text, self._buffer = "".join(self._buffer), []
            self._last = time.monotonic()
            self.report(NodeLog(self.node, text, time.time()))


class ProgressThrottle:
    """Turns a call's ``progress(what, done, total)`` into ``NodeProgress`` events: the first
    and last of each file, and at most one per ``interval`` between."""

    def __init__(self, node: str, report: Report, interval: float = PROGRESS_INTERVAL):
        self.node = node
        self.report = report
        self.interval = interval
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(what)
            if last is not None and done < total and now - last < self.interval:
                return
            self._last[what] = now
        self.report(NodeProgress(self.node, what, done, total, time.time()))


def execute_call(call: NodeCall, *, cancel: threading.Event | None, report: Report | None,
                 worker: str = "local") -> NodeFinished:
    """Run one node's call to its end and describe how it ended; never raises for the node."""
    batcher = LogBatcher(call.node, report) if report is not None else None
    progress = ProgressThrottle(call.node, report) if report is not None else None
    started = time.time()
    outputs = None
    try:
        execution = call.process.execute(
            call.inputs, timeout=call.timeout, cancel=cancel,
            on_log=batcher.write if batcher is not None else None, on_progress=progress)
        outputs, log, error, status = execution.outputs, execution.log, None, "done"
    except ProcessError as exc:
        error = exc
    except Exception as exc:  # noqa: BLE001 - any failure becomes this node's error
        error = ProcessFailed(f"{type(exc).__name__}: {exc}", process=call.process.name)
        error.__cause__ = exc
    if batcher is not None:
        batcher.flush()
    if error is not None:
        error.node = call.node
        log = error.log
        status = "cancelled" if isinstance(error, Cancelled) else "failed"
    ended = time.time()
    return NodeFinished(call.node, status, ended - started, outputs, error, log, ended,
                        started=started, worker=worker)


def follow(call: NodeCall, before: NodeFinished,
           cancel: threading.Event | None = None) -> NodeCall | NodeFinished:
    """The next call of a chain, its references read from the outputs of the call ``before``
    it; or, when it has references and that one did not end done (or when ``cancel`` is
    set), how this one ended without running (as the scheduler would end it). A call
    without references (a bundle's) runs whatever the one before did."""
    reads = any(isinstance(v, Ref) for v in call.inputs.values())
    if reads and (before.status != "done" or before.outputs is None):
        error: ProcessError = UpstreamFailed(
            f"skipped: upstream node {before.node!r} {before.status}",
            process=call.process.name, upstream=before.node)
        status = "skipped"
    elif cancel is not None and cancel.is_set():
        error, status = Cancelled("run cancelled before the node started",
                                  process=call.process.name), "cancelled"
    elif not reads:
        return call
    else:
        outputs = before.outputs or {}
        return replace(call, inputs={port: outputs[v.output] if isinstance(v, Ref) else v
                                     for port, v in call.inputs.items()})
    error.node = call.node
    return NodeFinished(call.node, status, None, None, error, "", time.time())  # type: ignore[arg-type]


def run_chain(calls: list[NodeCall], run_one: Callable[[NodeCall], NodeFinished],
              cancel: threading.Event | None = None) -> Iterator[NodeFinished]:
    """Run a chain of calls with ``run_one`` (see ``Executor.submit_chain``): how each ended,
    as it does."""
    before: NodeFinished | None = None
    for call in calls:
        step = call if before is None else follow(call, before, cancel)
        before = step if isinstance(step, NodeFinished) else run_one(step)
        yield before


#: An in-process call whose process last took less than this (seconds) runs inline by default.
QUICK = 0.002


class ThreadExecutor:
    """The default executor: calls run in threads of this process (containers do the work).

    In-process calls (``@process`` functions) without a timeout may run in the scheduler's own
    thread instead: for many small Python steps a hand-off to a thread costs several times the
    call, and a thread does not make pure Python run in parallel anyway. By default (``inline=
    None``) a call runs inline when its process's last call took less than ``QUICK`` seconds
    (the first call of each process runs in a thread, and is timed), so a slow step keeps its
    thread, its parallel branches and Stop's at-once abandon. ``inline=True``: every such call
    inline (Stop then waits for the one running); ``inline=False``: none.
    """

    def __init__(self, *, inline: bool | None = None) -> None:
        self.inline = inline
        self._pool: ThreadPoolExecutor | None = None
        self._size = 0
        self._lock = threading.Lock()
        #: Seconds the last call of each in-process process took (weakly: processes go).
        self._took: weakref.WeakKeyDictionary[Process, float] = weakref.WeakKeyDictionary()

    #: Threads are made as needed: the run's ``max_workers`` (default 4) says how many.
    slots = 0

    def prepare(self, max_workers: int) -> None:
        """Keep a pool of at least ``max_workers`` threads, reused across runs. A pool too
        small is replaced; the calls it holds still run (concurrent runs share the
        executor: a submit never meets a pool shut down under it)."""
        with self._lock:
            if self._pool is None or self._size < max_workers:
                if self._pool is not None:
                    self._pool.shutdown(wait=False)
                self._size = max(max_workers, 4)
                self._pool = ThreadPoolExecutor(self._size, thread_name_prefix="containerdag node")

    def runs_inline(self, call: NodeCall) -> bool:
        """Whether the scheduler should run ``call`` itself (see the class docstring)."""
        if not (call.process.in_process and call.timeout is None) or self.inline is False:
            return False
        return self.inline is True or self._took.get(call.process, QUICK) < QUICK

    def run_inline(self, call: NodeCall, *, report: Report) -> NodeFinished:
        return self._timed(call, cancel=None, report=report)

    def _timed(self, call: NodeCall, *, cancel: threading.Event | None,
               report: Report) -> NodeFinished:
        """Run ``call``; an in-process one's duration is kept for ``runs_inline``."""
        event = execute_call(call, cancel=cancel, report=report)
        if call.process.in_process and event.duration is not None:
            self._took[call.process] = event.duration
        return event

    def submit(self, call: NodeCall, *, cancel: threading.Event,
               report: Report) -> Future[NodeFinished]:
        with self._lock:
            if self._pool is None:
                self._size = 4
                self._pool = ThreadPoolExecutor(self._size, thread_name_prefix="containerdag node")
            return self._pool.submit(self._timed, call, cancel=cancel, report=report)

    def chain_limit(self, process: Process, *, bundle: bool = False) -> int:
        """1: threads gain nothing from chains, each call is handed over as it is ready."""
        return 1

    def submit_chain(self, calls: list[NodeCall], *, cancel: threading.Event,
                     report: Report) -> list[Future[NodeFinished]]:
        """The calls one after another in one pool thread (see ``Executor.submit_chain``)."""
        futures: list[Future[NodeFinished]] = [Future() for _ in calls]
        for future in futures:
            future.set_running_or_notify_cancel()

        def run_all() -> None:
            try:
                def one(call: NodeCall) -> NodeFinished:
                    return self._timed(call, cancel=cancel, report=report)

                for future, ended in zip(futures, run_chain(calls, one, cancel), strict=True):
                    future.set_result(ended)
            except BaseException as exc:  # noqa: BLE001 - a future must not wait forever
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)

        self._run_in_pool(run_all)
        return futures

    def _run_in_pool(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in a pool thread."""
        with self._lock:
            if self._pool is None:
                self._size = 4
                self._pool = ThreadPoolExecutor(self._size, thread_name_prefix="containerdag node")
            self._pool.submit(fn)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
            self._pool = None
            self._size = 0

    def __repr__(self) -> str:
        return f"<ThreadExecutor {self._size} threads>"
