"""Warm containers on Dask workers: one pool per worker, on that worker's own Docker Engine.

A ``ContainerProcess`` that a Dask task carries to a worker arrives without its pool (see
``ContainerProcess.__reduce__``); its ``WorkerPoolRef`` finds the pool of the worker it runs
on. ``ContainerPoolPlugin`` (a Dask ``WorkerPlugin``) keeps that pool: it connects to the
worker's engine on first use (the worker's environment, ``DOCKER_HOST`` included), labels the
containers with the worker's address (besides the owner PID and host that
``containerdag cleanup`` reads) and removes them when the worker closes.

Only imported in Dask workers and by the Dask executor: importing it imports ``distributed``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import docker
import docker.errors
from distributed import WorkerPlugin, get_worker

from ..model.errors import EngineUnavailable, ImageNotFound
from .pool import LABEL_MANAGED, ContainerPool, engine_errors

__all__ = ["ContainerPoolPlugin", "WorkerPool", "WorkerPoolRef", "worker_pool",
           "remove_worker_containers", "worker_backend", "PLUGIN_NAME", "LABEL_WORKER"]

PLUGIN_NAME = "containerdag-pools"
#: Label naming the Dask worker (its address) that owns a container.
LABEL_WORKER = "containerdag.worker"

_install_lock = threading.Lock()


class WorkerPool(ContainerPool):
    """A pool whose containers carry the worker's address and whose errors name the worker."""

    def __init__(self, client: docker.DockerClient, session: str, *, worker: str,
                 **options: Any):
        super().__init__(client, session, **options)
        self.worker = worker

    @property
    def labels(self) -> dict[str, str]:
        return {**super().labels, LABEL_WORKER: self.worker}

    def container_for(self, image_id: str, tag: str, *, process: str | None = None) -> Any:
        try:
            return super().container_for(image_id, tag, process=process)
        except ImageNotFound as exc:
            exc.detail = (f"image {tag!r} ({image_id[:19]}) is not on the Docker Engine of "
                          f"Dask worker {self.worker}{self._same_tag_note(image_id, tag)}")
            raise
        except EngineUnavailable as exc:
            exc.detail = f"on Dask worker {self.worker}: {exc.detail}"
            raise

    def _same_tag_note(self, image_id: str, tag: str) -> str:
        try:
            found = self.client.images.get(tag)
        except (docker.errors.DockerException, *engine_errors):
            return "; build or pull it there (every worker needs the images)"
        return (f"; the worker has {tag!r} as a different image ({found.id[:19]}): give every "
                "worker the same image (pull it from one registry)")


class ContainerPoolPlugin(WorkerPlugin):
    """Keeps the warm-container pools of one worker; removes their containers at its close."""

    idempotent = True  # registered by every run: a second registration keeps the first
    name = PLUGIN_NAME

    def setup(self, worker: Any) -> None:
        # State made here, on the worker: the plugin is pickled to get there.
        self.worker_address = worker.address
        self._pools: dict[str, WorkerPool] = {}
        self._client: docker.DockerClient | None = None
        self._lock = threading.Lock()
        #: Other kinds' backends on this worker (the CWL jobs': docker/cwl.py), by key.
        self._backends: dict[str, Any] = {}

    def pool(self, options: dict[str, Any]) -> WorkerPool:
        """The pool for these container options, connected to the engine on first use."""
        key = repr(sorted(options.items()))
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                if self._client is None:
                    from .pool import connect

                    try:
                        self._client = connect()
                    except EngineUnavailable as exc:
                        exc.detail = f"on Dask worker {self.worker_address}: {exc.detail}"
                        raise
                session = f"dask-{uuid.uuid4().hex[:8]}"
                pool = WorkerPool(self._client, session, worker=self.worker_address, **options)
                self._pools[key] = pool
            return pool

    def backend(self, key: str, make: Callable[[ContainerPoolPlugin], Any]) -> Any:
        """Another kind's backend on this worker, ``make(self)`` on first use (it takes its
        pools from ``pool``); closed with the pools."""
        with self._lock:
            backends = self.__dict__.setdefault("_backends", {})
            found = backends.get(key)
            if found is None:
                found = backends[key] = make(self)
            return found

    def close_pools(self) -> int:
        """Remove every container of this worker's pools (they start again on next use)."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
            backends = list(self.__dict__.get("_backends", {}).values())
            self._backends = {}
        for backend in backends:
            backend.close()
        for pool in pools:
            pool.close()
        return len(pools)

    def teardown(self, worker: Any) -> None:
        self.close_pools()
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def _plugin(worker: Any) -> ContainerPoolPlugin:
    """The worker's plugin; installed here if no executor registered it (a process called by
    a plain ``client.submit``), so its teardown still runs when the worker closes."""
    with _install_lock:
        plugin = worker.plugins.get(PLUGIN_NAME)
        if not isinstance(plugin, ContainerPoolPlugin):
            plugin = ContainerPoolPlugin()
            plugin.setup(worker)
            worker.plugins[PLUGIN_NAME] = plugin
        return plugin


def worker_pool(options: dict[str, Any]) -> WorkerPool:
    """The pool of the Dask worker running the current task."""
    try:
        worker = get_worker()
    except ValueError:
        raise EngineUnavailable(
            "this container process was unpickled outside a Dask worker: it has no container "
            "pool here (use the process from the Registry that discovered it)") from None
    return _plugin(worker).pool(options)


def worker_backend(key: str, make: Callable[[ContainerPoolPlugin], Any]) -> Any:
    """A backend the Dask worker running the current task keeps (one per worker and key,
    closed with its pools): the CWL jobs' (docker/cwl.py)."""
    try:
        worker = get_worker()
    except ValueError:
        raise EngineUnavailable(
            "this process was unpickled outside a Dask worker: it has no backend here (use "
            "the process from the Registry that made it)") from None
    return _plugin(worker).backend(key, make)


class WorkerPoolRef:
    """Stands for the pool of the Dask worker where an unpickled process is called."""

    def __init__(self, options: dict[str, Any]):
        self.options = options

    def resolve(self) -> WorkerPool:
        """The pool itself (from the task's thread: Dask finds the worker by thread)."""
        return worker_pool(self.options)

    def exec(self, *args: Any, **kwargs: Any) -> Any:
        return worker_pool(self.options).exec(*args, **kwargs)

    def __repr__(self) -> str:
        return "<WorkerPoolRef: the pool of the Dask worker running the call>"


def close_worker_pools(dask_worker: Any) -> int:
    """``client.run`` target: remove this worker's warm containers; how many pools closed."""
    plugin = dask_worker.plugins.get(PLUGIN_NAME)
    return plugin.close_pools() if isinstance(plugin, ContainerPoolPlugin) else 0


def remove_worker_containers(address: str) -> list[str]:
    """``client.run`` target: remove what worker ``address`` (gone) left on this engine."""
    from .pool import connect

    try:
        client = connect(timeout=10)
    except EngineUnavailable:
        return []
    removed = []
    try:
        found = client.api.containers(
            all=True, filters={"label": [LABEL_MANAGED, f"{LABEL_WORKER}={address}"]})
        for c in found:
            try:
                client.api.remove_container(c["Id"], force=True, v=True)
            except docker.errors.NotFound:
                continue
            removed.append(c["Id"])
    finally:
        client.close()
    return removed
