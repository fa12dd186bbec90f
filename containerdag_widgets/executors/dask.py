"""DaskExecutor: each node a task on a ``dask.distributed`` cluster; the scheduling stays here.

The run's scheduler thread (``runner.py``) keeps the topological order, ``max_workers``,
skipping and timeouts, and hands each ready node to ``submit``. Here the node becomes one Dask
task (``dask_worker.run_node``) with a readable key, ``"<node>-<run>-<n>"``. Container nodes
run on the worker's own Docker Engine (``docker/worker.py``); Python processes travel with
Dask's serialization (cloudpickle for functions defined in a notebook).

Live events come back through ``Worker.log_event`` on a topic of this executor, read by a
``Client.subscribe_topic`` handler that relays ``NodeLog``s to the run; a small result comes
the same way (a gather would cost a round trip per node), a large one from the task.

Stop: ``client.run`` sets the cancel signal on every worker (running execs are killed there,
late starters return at once), then the tasks that had not started are cancelled with
``client.cancel``. A worker
that dies while running a node (the scheduler's ``remove-worker`` event) fails the node with
``WorkerLost`` naming it, unless ``retries`` allows the rerun that Dask starts elsewhere (else
that rerun is cancelled, and its exec killed if it had begun); the other workers then remove
the containers the dead one left on their engine.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import distributed
from distributed import Client
from distributed.protocol.pickle import loads

from ..model.errors import Cancelled, ClusterUnavailable, ProcessError, ProcessFailed, WorkerLost
from ..processes.base import Process
from ..run.events import NodeFinished, NodeLog, NodeProgress
from ..run.execution import NodeCall, Report
from .carry import pack_files, this_machine
from .dask_control import RunControl, Task, ended
from .dask_worker import run_chain, run_node, unpack_finished

__all__ = ["DaskExecutor"]

log = logging.getLogger(__name__)

#: Seconds to wait for a scheduler that does not answer, by default.
CONNECT_TIMEOUT = 10.0
#: The most nodes of a chain that run as one Dask task (see ``DaskExecutor.submit_chain``).
MAX_CHAIN = 64
#: Nodes of a process whose last call took less than this (seconds) may share a bundle.
QUICK = 0.01


class DaskExecutor(RunControl):
    """Runs each node as a task on a Dask cluster: ``graph.run(reg, executor=DaskExecutor(c))``.

    ``client`` is a ``distributed.Client`` (kept open: it is yours) or a scheduler address
    (then the executor connects, owns the client and closes it in ``close``). ``retries``: how
    many times a node whose worker died while running it is run again on another worker
    (at most the scheduler's ``distributed.scheduler.allowed-failures``, 3 by default).
    ``resources`` pins processes to workers: process name or image tag -> Dask resources,
    e.g. ``{"containerdag/gpu_tool:latest": {"docker-gpu": 1}}`` for workers started with
    ``--resources docker-gpu=1``. ``DaskExecutor.connect("local")`` starts a ``LocalCluster``.

    The run's ``max_workers`` bounds the nodes on the cluster at once: ``executor.slots``
    (the workers' threads) keeps "running" meaning running. ``close()`` removes the warm
    containers the runs started on the workers.
    """

    def __init__(self, client: Client | str, *, retries: int = 0,
                 resources: dict[str, dict[str, float]] | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT):
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
        self._owned: list[Any] = []  # what close() closes: a client made here, a cluster
        if isinstance(client, str):
            client = _connect(client, connect_timeout)
            self._owned.append(client)
        self.client: Client = client
        self.retries = retries
        self.resources = dict(resources or {})
        self.connect_timeout = connect_timeout
        self.topic = f"containerdag-{uuid.uuid4().hex[:8]}"
        self._tasks: dict[str, Task] = {}
        self._watched: dict[str, threading.Thread] = {}  # run id -> its cancel watcher
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._subscribed = False
        self._previous_all: Any = None
        self._control: ThreadPoolExecutor | None = None
        self._outbox: list[list[Task]] = []  # each a node's task, or a chain's
        self._wake = threading.Event()
        self._submitter: threading.Thread | None = None
        self._stopped: set[str] = set()  # runs cancelled (their unsent tasks are not sent)
        self._dashboard: str | None = None
        #: The workers last asked where they run, and whether all run on this machine.
        self._asked: frozenset[str] = frozenset()
        self._all_here = False
        self.closed = False
        #: Seconds the last call of each in-process process took (weakly: processes go).
        self._took: weakref.WeakKeyDictionary[Process, float] = weakref.WeakKeyDictionary()

    @classmethod
    def connect(cls, address: str, *, n_workers: int = 2, threads_per_worker: int = 4,
                **kwargs: Any) -> DaskExecutor:
        """An executor on the scheduler at ``address``, or on a new ``LocalCluster`` of
        ``n_workers`` worker processes for ``"local"``; ``close()`` closes what it made."""
        if address != "local":
            return cls(address, **kwargs)
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                               processes=True, dashboard_address=":0")
        try:
            client = Client(cluster, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
        executor = cls(client, **kwargs)
        executor._owned += [client, cluster]
        return executor

    # ---- what the widgets and magics show ---------------------------------------------------

    @property
    def dashboard_link(self) -> str | None:
        """The URL of the Dask dashboard, when the scheduler serves one (asked once)."""
        if self._dashboard is None:
            try:
                info = self.client.scheduler_info()
                served = "dashboard" in info.get("services", {})
                self._dashboard = self.client.dashboard_link if served else ""
            except Exception:  # noqa: BLE001 - no link is better than a broken inspector
                return None
        return self._dashboard or None

    @property
    def slots(self) -> int:
        """Threads of the cluster's workers now: a good ``max_workers`` (0 with no workers)."""
        return sum(self.client.nthreads().values())

    # ---- the Executor protocol --------------------------------------------------------------

    def runs_inline(self, call: NodeCall) -> bool:
        """Never: every node is a task on the cluster."""
        return False

    def run_inline(self, call: NodeCall, *, report: Report) -> NodeFinished:
        raise RuntimeError("a DaskExecutor runs every node on the cluster, none inline")

    def prepare(self, max_workers: int) -> None:
        """Check that the scheduler answers (``ClusterUnavailable`` if not), subscribe."""
        if self.closed:
            raise ClusterUnavailable("this DaskExecutor is closed")
        address = getattr(self.client.scheduler, "address", None)
        if self.client.status != "running":
            raise ClusterUnavailable(f"the Dask client is {self.client.status}, not connected "
                                     f"to a scheduler ({address})", address=address)
        try:
            self.client.sync(self.client.scheduler.identity,
                             callback_timeout=self.connect_timeout)
        except Exception as exc:  # noqa: BLE001 - any failure means no scheduler to run on
            raise ClusterUnavailable(f"the Dask scheduler at {address} does not answer: "
                                     f"{type(exc).__name__}: {exc}", address=address) from None
        with self._lock:
            if self._subscribed:
                return
            self._subscribed = True
            self._control = ThreadPoolExecutor(1, thread_name_prefix="containerdag dask")
        from ..docker.worker import ContainerPoolPlugin

        self.client.register_plugin(ContainerPoolPlugin())  # idempotent on every worker
        self.client.subscribe_topic(self.topic, self._on_task_event)
        self._previous_all = self.client._event_handlers.get("all")
        self.client.subscribe_topic("all", self._on_cluster_event)

    def submit(self, call: NodeCall, *, cancel: threading.Event,
               report: Report) -> Future[NodeFinished]:
        return self._enqueue([call], cancel, report)[0]

    def chain_limit(self, process: Process, *, bundle: bool = False) -> int:
        """In-process nodes in a line run as one Dask task: no round trip to this process
        between two of them (their events still come one by one, as each starts and ends);
        so do quick ones waiting for a slot (a bundle; a slow one keeps a slot of its own,
        so that the cluster's threads share slow nodes as they free up). Not those of a
        process pinned to workers by ``resources``."""
        if not process.in_process or self.resources.get(process.name) \
                or self.resources.get(process.source):
            return 1
        if bundle and self._took.get(process, QUICK) >= QUICK:  # unknown yet, or slow
            return 1
        return MAX_CHAIN

    def submit_chain(self, calls: list[NodeCall], *, cancel: threading.Event,
                     report: Report) -> list[Future[NodeFinished]]:
        """The calls as one Dask task (``dask_worker.run_chain``), a node's key each."""
        return self._enqueue(calls, cancel, report)

    def _enqueue(self, calls: list[NodeCall], cancel: threading.Event,
                 report: Report) -> list[Future[NodeFinished]]:
        """Tasks for ``calls`` (one call, or a chain), handed to the submitter thread."""
        tasks = [Task(f"{call.node}-{call.run}-{next(self._counter)}", call, report, Future())
                 for call in calls]
        if len(tasks) > 1:
            for index, task in enumerate(tasks):
                task.dkey, task.index = tasks[0].key, index
        for task in tasks:
            task.cf.set_running_or_notify_cancel()
        call = calls[0]
        with self._lock:
            for task in tasks:
                self._tasks[task.key] = task
            watcher = self._watched.get(call.run)
            if watcher is None or not watcher.is_alive():
                watcher = threading.Thread(target=self._watch, args=(call.run, cancel),
                                           name=f"containerdag dask cancel {call.run}",
                                           daemon=True)
                self._watched[call.run] = watcher
                watcher.start()
            # Sent by the submitter thread: the nodes that become ready together (a burst of
            # ends) go to the scheduler in one message, which is much cheaper than one each.
            self._outbox.append(tasks)
            if self._submitter is None:
                self._submitter = threading.Thread(target=self._submit_loop, daemon=True,
                                                   name="containerdag dask submit")
                self._submitter.start()
        self._wake.set()
        return [task.cf for task in tasks]

    def _submit_loop(self) -> None:
        while not self.closed:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                batch, self._outbox = self._outbox, []
            try:
                self._send_batch(batch)
            except Exception as exc:  # noqa: BLE001 - never leave a run waiting for a node
                log.exception("sending nodes to Dask failed")
                for task in (task for tasks in batch for task in tasks):
                    if task.dfut is None:
                        self._fail(task, ProcessFailed(f"could not submit the node to Dask: "
                                                       f"{type(exc).__name__}: {exc}",
                                                       process=task.call.process.name))

    def _send_batch(self, batch: list[list[Task]]) -> None:
        groups: dict[tuple, list[Task]] = {}
        for tasks in batch:
            if tasks[0].call.run in self._stopped:
                for task in tasks:
                    self._resolve(task, ended(task, "cancelled", Cancelled(
                        "run cancelled before the node started",
                        process=task.call.process.name)))
                continue
            resources = self._resources_of(tasks[0].call)
            if len(tasks) > 1:
                self._send_chain(tasks, resources)
                continue
            groups.setdefault(tuple(sorted((resources or {}).items())), []).append(tasks[0])
        for resources, tasks in groups.items():
            self._send(tasks, dict(resources) or None)

    def _send_chain(self, tasks: list[Task], resources: dict[str, float] | None) -> None:
        """A chain's nodes as one task, run by ``run_chain`` (each node's end in its own
        ``finished`` message, all of them in the task's result)."""
        try:
            by_path = self._workers_here()
            calls = [replace(t.call, inputs=pack_files(t.call.inputs, by_path=by_path))
                     for t in tasks]
            dfut = self.client.submit(run_chain, calls, [t.key for t in tasks], self.topic,
                                      this_machine(), key=tasks[0].key, pure=False,
                                      resources=resources)
        except Exception as exc:  # noqa: BLE001 - e.g. a call cannot be pickled
            for task in tasks:
                self._fail(task, ProcessFailed(f"could not submit the node to Dask: "
                                               f"{type(exc).__name__}: {exc}",
                                               process=task.call.process.name))
            return
        for task in tasks:
            task.dfut = dfut
            dfut.add_done_callback(lambda dfut, task=task: self._on_done(task, dfut))

    def _send(self, tasks: list[Task], resources: dict[str, float] | None) -> None:
        try:
            by_path = self._workers_here()
            calls = [replace(t.call, inputs=pack_files(t.call.inputs, by_path=by_path))
                     for t in tasks]
            dfuts = self.client.map(run_node, calls, [self.topic] * len(tasks),
                                    [this_machine()] * len(tasks), key=[t.key for t in tasks],
                                    pure=False, resources=resources)
        except Exception as exc:  # noqa: BLE001 - e.g. a call cannot be pickled: find which
            if len(tasks) > 1:
                for task in tasks:
                    self._send([task], resources)
                return
            task = tasks[0]
            self._fail(task, ProcessFailed(f"could not submit the node to Dask: "
                                           f"{type(exc).__name__}: {exc}",
                                           process=task.call.process.name))
            return
        for task, dfut in zip(tasks, dfuts, strict=True):
            task.dfut = dfut
            dfut.add_done_callback(lambda dfut, task=task: self._on_done(task, dfut))

    def _workers_here(self) -> bool:
        """Whether every worker runs on this machine (then files go by path, not as bytes):
        asked of the workers once per set of workers (from the submitting thread)."""
        workers = frozenset(self.client.scheduler_info().get("workers", {}))
        if workers != self._asked:
            try:
                machines = self.client.run(this_machine)
            except Exception:  # noqa: BLE001 - a worker that cannot say: send bytes
                machines = {"?": "?"}
            self._all_here = bool(machines) and set(machines.values()) == {this_machine()}
            self._asked = workers
        return self._all_here

    def close(self) -> None:
        """Remove the warm containers on the workers, unsubscribe; close what was made here."""
        if self.closed:
            return
        self.closed = True
        from ..docker.worker import close_worker_pools

        try:
            if self.client.status == "running":
                self.client.run(close_worker_pools, on_error="ignore")
                if self._subscribed:
                    self.client.unsubscribe_topic(self.topic)
                    if self.client._event_handlers.get("all") == self._on_cluster_event:
                        if self._previous_all is not None:
                            self.client._event_handlers["all"] = self._previous_all
                        else:
                            self.client.unsubscribe_topic("all")
        except Exception as exc:  # noqa: BLE001 - close what can be closed
            log.warning("closing the DaskExecutor: %s", exc)
        if self._control is not None:
            self._control.shutdown(wait=True)
        self._wake.set()  # the submitter sees ``closed`` and ends
        with self._lock:
            left = list(self._tasks.values())
        for task in left:  # a run still going on here ends instead of waiting forever
            self._fail(task, ProcessFailed("the DaskExecutor was closed while the node ran",
                                           process=task.call.process.name))
        for thing in self._owned:
            try:
                thing.close()
            except Exception as exc:  # noqa: BLE001
                log.warning("closing %r: %s", thing, exc)
        self._owned = []

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        address = getattr(self.client.scheduler, "address", "?")
        return f"<DaskExecutor {address}, retries={self.retries}>"

    # ---- results ----------------------------------------------------------------------------

    def _resources_of(self, call: NodeCall) -> dict[str, float] | None:
        proc = call.process
        return self.resources.get(proc.name) or self.resources.get(proc.source) or None

    def _on_done(self, task: Task, dfut: Any) -> None:
        """In the client's callback thread: turn the Dask future's end into the node's end
        (unless its ``finished`` message, which comes first, already did)."""
        if task.cf.done():
            return
        status = dfut.status
        try:
            if status == "finished":
                result = dfut.result()
                finished = unpack_finished(result if task.index is None else
                                           result[task.index])
            elif status == "cancelled":
                error = Cancelled("cancelled before it started on a Dask worker",
                                  process=task.call.process.name)
                finished = ended(task, "cancelled", error)
            else:
                finished = ended(task, "failed", self._task_error(task, dfut.exception()))
        except Exception as exc:  # noqa: BLE001 - e.g. the result could not be fetched
            finished = ended(task, "failed", ProcessFailed(
                f"the result could not be read from Dask: {type(exc).__name__}: {exc}",
                process=task.call.process.name))
        self._resolve(task, finished)

    def _task_error(self, task: Task, exc: BaseException | None) -> ProcessError:
        proc = task.call.process.name
        if isinstance(exc, distributed.KilledWorker):
            worker = getattr(exc.last_worker, "address", None) or (task.lost or [None])[-1]
            return WorkerLost(f"Dask workers died {exc.allowed_failures + 1} times while "
                              f"running the node, the last one {worker}", process=proc,
                              worker=worker)
        return ProcessFailed(f"the Dask task failed: {type(exc).__name__}: {exc}", process=proc)

    def _fail(self, task: Task, error: ProcessError) -> None:
        self._resolve(task, ended(task, "failed", error))

    def _resolve(self, task: Task, finished: NodeFinished) -> None:
        with self._lock:
            if task.cf.done():
                return
            self._tasks.pop(task.key, None)
            task.cf.set_result(finished)
            if finished.duration is not None and task.call.process.in_process:
                self._took[task.call.process] = finished.duration
        task.dfut = None  # the client forgets the key

    # ---- events from the workers (those of the scheduler: dask_control.py) ------------------

    def _on_task_event(self, event: tuple[float, dict[str, Any]]) -> None:
        """In the client's event loop: ``started`` and ``log`` messages of this executor's tasks."""
        msg = event[1]
        task = self._tasks.get(msg.get("key"))
        if task is None:
            return
        if msg.get("kind") == "started":
            task.workers.append(msg["worker"])
            task.started = msg["time"]
        elif msg.get("kind") == "log":
            task.report(NodeLog(task.call.node, msg["text"], msg["time"]))
        elif msg.get("kind") == "progress":
            task.report(NodeProgress(task.call.node, msg["what"], msg["done"], msg["total"],
                                     msg["time"]))
        elif msg.get("kind") == "finished":  # a small result: no gather needed
            try:
                finished = unpack_finished(loads(msg["result"]))
            except Exception:  # noqa: BLE001 - the task's result (gathered) will do
                log.exception("could not read the result of %s from its message", task.key)
                return
            self._resolve(task, finished)


def _connect(address: str, timeout: float) -> Client:
    """A client of the scheduler at ``address``; ``ClusterUnavailable`` if it does not answer."""
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterUnavailable(f"cannot reach the Dask scheduler at {address!r} "
                                 f"({type(exc).__name__}: {exc})", address=address) from None
