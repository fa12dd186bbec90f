"""The worker side of the Dask executor: the task that runs one node, and its stop signals.

``run_node`` is what each Dask task calls, on whichever worker the scheduler picked: it runs the
node with ``execute_call`` (so a node behaves the same everywhere), sends ``started`` and
``log`` messages to the client with ``Worker.log_event`` while it runs, and returns the node's
``NodeFinished`` packed so that any error travels (the package's errors take keyword-only
arguments, which plain exception pickling cannot rebuild). A small result also goes out in a
``finished`` message: the client has it without a gather round trip (the task's own result is
the fallback, for large ones).

The client stops a run with ``client.run``: ``cancel_run`` sets the cancel signal of every
call of the run on this worker (``exec_call`` then kills the exec) and returns the keys it found
running; a call of the run that starts later returns at once, without running anything. A task
the client cancels with ``client.cancel`` (one not wanted any more, e.g. the rerun of a node
whose worker died) sees its state turn ``cancelled`` on the worker and stops the same way.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from distributed import get_worker
from distributed.protocol.pickle import dumps

from ..cache.artifacts import ArtifactStore
from ..model.errors import Cancelled, ContainerDagError, FileError
from ..run.events import NodeFinished, NodeLog, NodeProgress
from ..run.execution import NodeCall, execute_call
from ..run.execution import run_chain as run_chain_calls
from .carry import pack_files, this_machine, unpack_files

__all__ = ["run_node", "run_chain", "cancel_run", "pack_finished", "unpack_finished"]

#: How many cancelled runs a worker remembers (calls may start late).
_MEMORY = 4096
#: Pickled results up to this size ride in the ``finished`` message (the scheduler keeps the
#: last messages of a topic for a while, so large ones are fetched from the task instead).
RESULT_IN_MESSAGE = 64 * 1024

_lock = threading.Lock()
_active: dict[str, tuple[str, threading.Event]] = {}  # task key -> (run, cancel signal)
_cancelled_runs: OrderedDict[str, None] = OrderedDict()


class _TaskSignal(threading.Event):
    """A call's cancel signal: set by ``cancel_run``, or seen set once the worker's state of
    the task says the scheduler cancelled it (read where the call polls, about 20 times a s)."""

    def __init__(self, worker: Any, key: str):
        super().__init__()
        self._tasks = worker.state.tasks
        self._key = key

    def is_set(self) -> bool:
        if super().is_set():
            return True
        ts = self._tasks.get(self._key)
        if ts is None or ts.state == "cancelled":
            self.set()
            return True
        return False


def run_node(call: NodeCall, topic: str, origin: str = "") -> dict[str, Any]:
    """Run one node on this worker; the packed ``NodeFinished`` (see ``unpack_finished``).
    ``origin``: the client's machine (``carry.this_machine``): on this one, output files go
    back by path."""
    worker = get_worker()
    key = str(worker.get_current_task())
    return _run(worker, call, key, _TaskSignal(worker, key), topic, origin)[0]


def run_chain(calls: list[NodeCall], keys: list[str], topic: str,
              origin: str = "") -> list[dict[str, Any]]:
    """Run a chain of nodes on this worker, one after another in this task (see
    ``Executor.submit_chain``), each with its own ``key`` in its messages: the packed
    ``NodeFinished`` of each, in order. No round trip to the client between two nodes."""
    worker = get_worker()
    cancel = _TaskSignal(worker, str(worker.get_current_task()))
    packed: list[dict[str, Any]] = []

    def one(call: NodeCall) -> NodeFinished:
        out, ended = _run(worker, call, keys[len(packed)], cancel, topic, origin)
        packed.append(out)
        return ended

    for index, ended in enumerate(run_chain_calls(calls, one, cancel)):
        if len(packed) == index:  # it ended without running: the one before did not end done
            packed.append(_sent(worker, topic, keys[index], pack_finished(ended)))
    return packed


def _run(worker: Any, call: NodeCall, key: str, cancel: threading.Event, topic: str,
         origin: str) -> tuple[dict[str, Any], NodeFinished]:
    """Run ``call`` here: its packed ``NodeFinished`` (sent in a ``finished`` message when
    small), and the same end with its outputs as they are here (for the next of a chain)."""
    address = worker.address
    with _lock:
        stopped = call.run in _cancelled_runs
        if not stopped:
            _active[key] = (call.run, cancel)
    if stopped:
        error = Cancelled("run cancelled before the node started", process=call.process.name,
                          node=call.node)
        ended = NodeFinished(call.node, "cancelled", None, None, error, "", time.time())
        return pack_finished(ended), ended
    try:
        worker.log_event(topic, {"kind": "started", "key": key, "worker": address,
                                 "time": time.time()})
        try:  # the files the client sent, into this worker's own artifact store
            call = replace(call, inputs=unpack_files(call.inputs, _store(worker),
                                                     process=call.process.name))
        except (FileError, OSError) as exc:
            error = exc if isinstance(exc, FileError) else FileError(
                f"the input files could not be stored on worker {address}: {exc}",
                process=call.process.name, reason="transfer")
            error.node = call.node
            ended = NodeFinished(call.node, "failed", None, None, error, "", time.time(),
                                 worker=address)
            return pack_finished(ended), ended

        def report(event: Any) -> None:
            if isinstance(event, NodeLog):
                worker.log_event(topic, {"kind": "log", "key": key, "text": event.text,
                                         "time": event.time})
            elif isinstance(event, NodeProgress):
                worker.log_event(topic, {"kind": "progress", "key": key, "what": event.what,
                                         "done": event.done, "total": event.total,
                                         "time": event.time})

        here = finished = execute_call(call, cancel=cancel, report=report, worker=address)
        if finished.outputs:  # output files go back to the client as bytes
            finished = replace(finished, outputs=pack_files(
                finished.outputs, by_path=origin == this_machine()))
    finally:
        with _lock:
            _active.pop(key, None)
    return _sent(worker, topic, key, pack_finished(finished)), here


def _sent(worker: Any, topic: str, key: str, packed: dict[str, Any]) -> dict[str, Any]:
    """``packed``, after sending it in a ``finished`` message when it is small."""
    try:
        blob = dumps(packed)
    except Exception:  # noqa: BLE001 - Dask's own serialization of the result will say why
        blob = None
    if blob is not None and len(blob) <= RESULT_IN_MESSAGE:
        worker.log_event(topic, {"kind": "finished", "key": key, "result": blob})
    return packed


def _store(worker: Any) -> ArtifactStore:
    """This worker's artifact store, in its local directory (not the client's)."""
    return ArtifactStore(Path(worker.local_directory) / "containerdag-artifacts")


def cancel_run(run: str) -> list[str]:
    """``client.run`` target: stop every call of ``run`` here; the keys that were running."""
    with _lock:
        _cancelled_runs[run] = None
        while len(_cancelled_runs) > _MEMORY:
            _cancelled_runs.popitem(last=False)
        keys = [key for key, (r, _) in _active.items() if r == run]
        for key in keys:
            _active[key][1].set()
    return keys


# ---- NodeFinished across the wire ------------------------------------------------------------


def pack_finished(finished: NodeFinished) -> dict[str, Any]:
    """The event's fields, its error as (class, args, attributes); its cause is dropped (a
    Python process's own exception may not exist on the client) but the message keeps it."""
    packed = {f.name: getattr(finished, f.name) for f in fields(finished)}
    error = packed.pop("error")
    packed["error"] = None if error is None else (type(error), error.args, dict(vars(error)))
    return packed


def unpack_finished(packed: dict[str, Any]) -> NodeFinished:
    """The ``NodeFinished`` that ``pack_finished`` packed (its files stored here)."""
    packed = dict(packed)
    if packed.get("outputs"):
        packed["outputs"] = unpack_files(packed["outputs"], ArtifactStore())
    error = packed.pop("error")
    if error is not None:
        cls, args, state = error
        exc: ContainerDagError = cls.__new__(cls)
        BaseException.__init__(exc, *args)
        exc.__dict__.update(state)
        error = exc
    return NodeFinished(error=error, **packed)
