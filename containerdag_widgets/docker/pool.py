"""Warm containers: one per image, started on first use, labelled, reused for every call."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
from typing import Any

import docker
import docker.errors
import requests

from ..errors import EngineUnavailable, ImageNotFound
from .exec import ExecOutcome, exec_call

__all__ = ["ContainerPool", "LABEL_MANAGED", "LABEL_SESSION", "LABEL_PID", "LABEL_HOST",
           "KEEPALIVE", "engine_errors"]

LABEL_MANAGED = "containerdag.managed"
LABEL_SESSION = "containerdag.session"
LABEL_PID = "containerdag.pid"
LABEL_HOST = "containerdag.host"
#: What a warm container runs while it waits for execs (docker's init reaps killed calls).
KEEPALIVE = ["sleep", "infinity"]

#: Exceptions that mean the engine itself does not answer.
engine_errors = (requests.exceptions.ConnectionError, docker.errors.DockerException)


class ContainerPool:
    """Starts at most one container per image and runs execs in it.

    ``options`` go to ``containers.run`` (e.g. ``mem_limit``, ``network_mode``).
    """

    def __init__(self, client: docker.DockerClient, session: str, **options: Any):
        self.client = client
        self.session = session
        self.options = options
        self._containers: dict[str, Any] = {}  # image id -> Container
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.closed = False

    @property
    def labels(self) -> dict[str, str]:
        return {
            LABEL_MANAGED: "1",
            LABEL_SESSION: self.session,
            LABEL_PID: str(os.getpid()),
            LABEL_HOST: socket.gethostname(),
        }

    def container_for(self, image_id: str, tag: str, *, process: str | None = None) -> Any:
        """The running warm container of ``image_id``, started if needed."""
        with self._lock:
            if self.closed:
                raise RuntimeError("the registry is closed; its containers are gone")
            lock = self._locks.setdefault(image_id, threading.Lock())
        with lock:
            container = self._containers.get(image_id)
            if container is not None:
                return container
            name = f"containerdag-{self.session}-{_slug(tag)}"
            try:
                container = self._run(image_id, name)
            except docker.errors.ImageNotFound as exc:
                raise ImageNotFound(
                    f"image {tag!r} ({image_id[:19]}) is not on the engine: {exc.explanation}",
                    process=process, image=tag,
                ) from None
            except docker.errors.APIError as exc:
                if exc.status_code == 409:  # a container of ours by that name is left over
                    self.client.api.remove_container(name, force=True)
                    container = self._run(image_id, name)
                else:
                    raise
            except engine_errors as exc:
                raise EngineUnavailable(f"cannot start a container: {exc}",
                                        process=process) from None
            self._containers[image_id] = container
            return container

    def _run(self, image_id: str, name: str) -> Any:
        # create + start, not containers.run: run() would try to pull a missing image.
        container = self.client.containers.create(
            image_id, None, entrypoint=KEEPALIVE, labels=self.labels, name=name, init=True,
            **self.options,
        )
        try:
            container.start()
        except BaseException:
            container.remove(force=True)
            raise
        return container

    def exec(self, image_id: str, tag: str, command: list[str], stdin: bytes, *,
             process: str | None = None, **kw: Any) -> ExecOutcome:
        """Run ``command`` in the image's warm container; restart it once if it died."""
        for attempt in (1, 2):
            container = self.container_for(image_id, tag, process=process)
            try:
                outcome = exec_call(self.client.api, container.id, command, stdin, **kw)
            except docker.errors.APIError as exc:
                if attempt == 1 and exc.status_code in (404, 409):  # gone or not running
                    self.forget(image_id, container)
                    continue
                raise
            except engine_errors as exc:
                raise EngineUnavailable(f"engine stopped answering: {exc}",
                                        process=process) from None
            if outcome.kill_method == "container":
                self.forget(image_id, container)
            return outcome
        raise AssertionError("unreachable")

    def forget(self, image_id: str, container: Any) -> None:
        """Drop (and remove) a container that died, so the next call starts a fresh one."""
        if self._containers.get(image_id) is container:
            del self._containers[image_id]
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)

    def close(self) -> None:
        """Remove every container of this pool, in parallel."""
        with self._lock:
            self.closed = True
            containers = list(self._containers.values())
            self._containers.clear()
        threads = [threading.Thread(target=_remove, args=(c,)) for c in containers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def __len__(self) -> int:
        return len(self._containers)


def _remove(container: Any) -> None:
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except engine_errors:
        pass  # engine gone: `containerdag cleanup` removes leftovers later


def _slug(tag: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]+", "_", tag).strip("_.-")[:60] or "image"
