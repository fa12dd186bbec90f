"""Warm containers: one per image, started on first use, labelled, reused for every call.

Each container is started with the pool's ``ContainerSettings`` and the image's
``containerdag.*`` labels applied (hardened by default: see settings.py). Calls go to the
container's resident runner (runner.py, resident.py) when it runs there, else one exec each
(exec.py): two transports under one pool.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors
import requests

from ..model.errors import EngineUnavailable, ImageNotFound, ProcessFailed
from .exec import ExecOutcome, exec_call
from .resident import Runners, runner_wanted
from .runner import RunnerLost, Serve
from .settings import ContainerSettings
from .workarea import ContainerArea, WorkArea

__all__ = ["ContainerPool", "LABEL_MANAGED", "LABEL_SESSION", "LABEL_PID", "LABEL_HOST",
           "owner_labels",
           "KEEPALIVE", "engine_errors", "PoolOutcome", "connect",
           "HTTP_POOL_SIZE"]

LABEL_MANAGED = "containerdag.managed"
LABEL_SESSION = "containerdag.session"
LABEL_PID = "containerdag.pid"
LABEL_HOST = "containerdag.host"


def owner_labels(session: str) -> dict[str, str]:
    """The labels of a container of ``session`` owned by this process on this host: what
    ``cleanup`` reads to tell a live owner's containers from a dead one's."""
    return {LABEL_MANAGED: "1", LABEL_SESSION: session, LABEL_PID: str(os.getpid()),
            LABEL_HOST: socket.gethostname()}

#: What a warm container runs while it waits for execs (docker's init reaps killed calls).
KEEPALIVE = ["sleep", "infinity"]

log = logging.getLogger(__name__)

#: Exceptions that mean the engine itself does not answer.
engine_errors = (requests.exceptions.ConnectionError, docker.errors.DockerException)

#: HTTP connections the client keeps to the engine: as many as calls may run at once on the
#: exec path (``max_workers``), so none is dropped with "Connection pool is full" (docker-py
#: keeps 10). Calls through the resident runner use no HTTP connection of their own.
HTTP_POOL_SIZE = 64


def connect(timeout: float = 60, max_pool_size: int = HTTP_POOL_SIZE) -> docker.DockerClient:
    """A client of the local engine (``DOCKER_HOST`` honoured); ``EngineUnavailable`` if down."""
    try:
        client = docker.from_env(timeout=timeout, max_pool_size=max_pool_size)
        client.ping()
    except engine_errors as exc:
        raise EngineUnavailable(
            f"the Docker Engine does not answer ({exc}); start it, or set DOCKER_HOST"
        ) from None
    return client

#: The cgroup files (v2, then v1) whose ``oom_kill N`` line counts the container's OOM kills,
#: as the container sees them.
OOM_FILES = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")
_OOM_KILL = re.compile(rb"^oom_kill (\d+)$", re.MULTILINE)
#: Exit code of a process killed by SIGKILL, which is what the kernel's OOM killer sends.
SIGKILL_EXIT = 137


@dataclasses.dataclass
class PoolOutcome(ExecOutcome):
    """An ``ExecOutcome`` with what the pool found out about how the call ended."""

    #: Said after "exited with code N": e.g. that the kernel OOM-killed it, and the limit.
    note: str = ""
    #: True when the container's OOM-kill count rose with this exit 137; None: unknown.
    oom_killed: bool | None = None


class ContainerPool:
    """Starts at most one container per image and runs execs in it.

    Containers are created with ``settings`` (hardened defaults when None) and each image's
    ``containerdag.*`` labels applied (``settings_for``). ``runner``: call through each
    container's resident runner where it can run (None: unless ``CONTAINERDAG_RUNNER=0``).
    """

    def __init__(self, client: docker.DockerClient, session: str, *,
                 settings: ContainerSettings | None = None, runner: bool | None = None):
        self.client = client
        self.session = session
        self.settings = settings if settings is not None else ContainerSettings()
        self.runner = runner_wanted() if runner is None else bool(runner)
        #: The containers' resident runners, and the images that cannot have one.
        self.runners = Runners(client, enabled=self.runner, labels=lambda: self.labels)
        self._effective: dict[str, ContainerSettings] = {}  # image id -> its settings
        self._oom_seen: dict[str, int] = {}  # container id -> OOM kills already reported
        #: Containers this pool killed to stop one call: their other calls are run again.
        self._killed_by_us: set[str] = set()
        self._containers: dict[str, Any] = {}  # image id -> Container
        #: Container id -> where its calls' files go (``files_of``).
        self._files: dict[str, tuple[str, ContainerArea | None]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        #: Calls in each image's container (``calling``), and the images being swept.
        self._live: dict[str, int] = {}
        self._sweeping: set[str] = set()
        self._idle = threading.Condition(self._lock)
        #: Where the calls' files live: host directories bound in, or a volume fed by streams.
        self.work = WorkArea.for_client(client, session)
        self.closed = False

    @property
    def options(self) -> dict[str, Any]:
        """What a pool like this one is made from: ``ContainerPool(client, session, **options)``
        (a process pickled to a Dask worker carries them)."""
        return {"settings": self.settings, "runner": self.runner}

    def settings_for(self, image_id: str, labels: dict[str, str] | None = None, *,
                     tag: str | None = None) -> ContainerSettings:
        """The settings of ``image_id``'s container: the pool's, with the image's labels applied.

        ``labels`` are read from the engine when not given. ``LabelError`` if a label's value
        cannot be used.
        """
        found = self._effective.get(image_id)
        if found is None:
            config = self.client.api.inspect_image(image_id)["Config"] or {}
            if labels is None:
                labels = config.get("Labels") or {}
            found = self.settings.for_image(labels, image=tag or image_id[:19],
                                            image_user=config.get("User") or "")
            self._effective[image_id] = found
        return found

    @property
    def labels(self) -> dict[str, str]:
        return owner_labels(self.session)

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
            name = self.container_name(tag)
            settings: ContainerSettings | None = None
            try:
                settings = self.settings_for(image_id, tag=tag)
                try:
                    container = self._run(image_id, tag, name, settings)
                except docker.errors.APIError as exc:
                    if exc.status_code != 409:  # 409: a container of ours by that name is left
                        raise
                    self._free_name(name)
                    container = self._run(image_id, tag, name, settings)
            except docker.errors.ImageNotFound as exc:
                raise ImageNotFound(
                    f"image {tag!r} ({image_id[:19]}) is not on the engine: {exc.explanation}",
                    process=process, image=tag,
                ) from None
            except docker.errors.APIError as exc:
                if settings is not None:  # e.g. more CPUs than the host has, an unknown user
                    raise ProcessFailed(
                        f"the engine could not start a container of image {tag!r} with "
                        f"{settings.summary()}: {exc.explanation}",
                        process=process,  # type: ignore[arg-type]
                    ) from None
                raise
            except engine_errors as exc:
                raise EngineUnavailable(f"cannot start a container: {exc}",
                                        process=process) from None
            self._containers[image_id] = container
            return container

    def container_name(self, tag: str) -> str:
        """The name of the warm container of the image tagged ``tag``."""
        return f"containerdag-{self.session}-{_slug(tag)}"

    def _free_name(self, name: str, wait: float = 10.0) -> None:
        """Remove our leftover container called ``name``: the engine refuses the name until
        that removal ends (another thread may be removing it already)."""
        with contextlib.suppress(docker.errors.APIError):  # the retried create says why
            remove_container(self.client, name, wait)

    def _run(self, image_id: str, tag: str, name: str, settings: ContainerSettings) -> Any:
        # create + start, not containers.run: run() would try to pull a missing image.
        runner = self.runners.mounts(image_id, tag)
        work, area = self.work.mounts(name)
        # What an engine that refuses mounts still allows: without the runner's volume, the
        # exec path; without the work area too, the calls' files in the container's /tmp.
        attempts = [(runner + work, area)]
        if runner and work:
            attempts.append((work, area))
        if runner or work:
            attempts.append(([], None))
        for n, (mounts, _) in enumerate(attempts):
            try:
                container = self.client.containers.create(
                    image_id, None, entrypoint=KEEPALIVE, labels=self.labels, name=name,
                    init=True, mounts=mounts, **settings.create_kwargs())
                break
            except docker.errors.APIError as exc:
                if n == len(attempts) - 1 or exc.status_code == 409:
                    self.work.forget(area)
                    raise
                refusal = exc.explanation or str(exc)
        mounts, kept = attempts[n]
        if runner and not any(m in mounts for m in runner):
            self.runners.refused(image_id, tag, refusal)
        if work and not mounts:
            self.work.forget(area)
            self.work.say_once("refused", f"the engine refused the work area's mounts "
                               f"({refusal}): the calls' files of image {tag!r} go to its "
                               "container's /tmp (a tmpfs)")
        try:
            container.start()
            if work and mounts:
                self.work.started(container)
        except BaseException:
            container.remove(force=True, v=True)
            self.work.forget(kept)
            raise
        self._files[container.id] = (("disk" if kept is not None else "volume")
                                     if work and mounts else "tmp", kept)
        return container

    def files_of(self, image_id: str, tag: str, *,
                 process: str | None = None) -> tuple[str, ContainerArea | None]:
        """Where the warm container of ``image_id`` (started if needed) keeps its calls'
        files: ``("disk", its host directories)``, ``("volume", None)`` (streamed into its
        work volume) or ``("tmp", None)`` (streamed into its /tmp: the engine refused the work
        area's mounts)."""
        return self._files[self.container_for(image_id, tag, process=process).id]

    @contextlib.contextmanager
    def calling(self, image_id: str, tag: str) -> Iterator[None]:
        """One call of ``image_id`` (its file transfers and its command) in the warm container.

        Through the resident runner a call ends with every process it started (runner.c).
        On the exec path nothing in the container can wait for them, so when the last call
        of the container ends, its processes are listed (``docker top``) and, if anything a
        call started is still running (a daemon that detached), the container is removed:
        the next call starts a fresh one. New calls wait while that is looked at.
        """
        with self._idle:
            while image_id in self._sweeping:
                self._idle.wait()
            self._live[image_id] = self._live.get(image_id, 0) + 1
        try:
            yield
        finally:
            with self._idle:
                self._live[image_id] -= 1
                last = self._live[image_id] == 0
                if last:
                    del self._live[image_id]
                    sweep = self.runners.fallback_reason(image_id) is not None
                    if sweep:
                        self._sweeping.add(image_id)
            if last and sweep:
                try:
                    self._sweep(image_id, tag)
                finally:
                    with self._idle:
                        self._sweeping.discard(image_id)
                        self._idle.notify_all()

    def _sweep(self, image_id: str, tag: str) -> None:
        """Remove ``image_id``'s container (exec path, no call in it) if a call left a
        process running there: anything but its init and the init's first child (the
        keep-alive)."""
        container = self._containers.get(image_id)
        if container is None:
            return
        try:
            rows = self.client.api.top(container.id)["Processes"] or []
        except (docker.errors.APIError, *engine_errors):
            return  # gone or not running: the next call finds out and starts a fresh one
        pids = [(int(row[1]), int(row[2]), row[-1]) for row in rows]
        own = {pid for pid, _, _ in pids}
        inits = [pid for pid, ppid, _ in pids if ppid not in own]
        keep = set(inits)
        for init in inits:
            children = sorted(pid for pid, ppid, _ in pids if ppid == init)
            keep.update(children[:1])
        left = [cmd for pid, _, cmd in pids if pid not in keep]
        if left:
            log.warning("containerdag: image %r: a call left %d process(es) running in its "
                        "warm container (%s); it is replaced", tag, len(left),
                        "; ".join(c[:80] for c in left[:3]))
            self.forget(image_id, container)

    def exec(self, image_id: str, tag: str, command: list[str], stdin: bytes, *,
             process: str | None = None, serve: Serve | None = None, direct: bool = False,
             **kw: Any) -> ExecOutcome:
        """Run ``command`` in the image's warm container; restart it once if it died.

        Through the container's runner (which asks ``serve``'s keep-loaded server when
        given) or, where the runner cannot run or ``direct`` is true (bulk bytes: a file),
        by one exec.
        """
        for attempt in (1, 2):
            container = self.container_for(image_id, tag, process=process)
            try:
                runner = None if direct else self.runners.session(image_id, tag, container)
                if runner is not None:
                    outcome = runner.call(command, stdin, serve=serve, **kw)
                else:
                    outcome = exec_call(self.client.api, container.id, command, stdin,
                                        on_container_kill=lambda c=container.id:
                                        self._killed_by_us.add(c), **kw)
            except RunnerLost as exc:
                self.runners.drop(container.id)
                if self._gone(container) is None:  # the runner died; its container lives on
                    if attempt == 1:
                        continue
                    raise ProcessFailed(f"the resident runner in the warm container of image "
                                        f"{tag!r} stopped twice under this call: {exc}",
                                        process=process or "?") from None
                outcome = ExecOutcome(None, b"", exc.stderr)
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
            if outcome.exit_code in (SIGKILL_EXIT, None) and outcome.killed is None:
                gone = self._gone(container)
                if gone is not None and container.id in self._killed_by_us and attempt == 1:
                    # We killed the container to stop a sibling call: run this one again.
                    self.forget(image_id, container)
                    continue
                if gone is not None:  # killed or removed under the call, not by us
                    self.forget(image_id, container)
                    values = {f.name: getattr(outcome, f.name)
                              for f in dataclasses.fields(outcome)}
                    return PoolOutcome(**values, note=f": its warm container {gone} while the "
                                       "call ran; the next call starts a fresh one")
                return self._explain_sigkill(image_id, container, outcome)
            return outcome
        raise AssertionError("unreachable")

    def _explain_sigkill(self, image_id: str, container: Any,
                         outcome: ExecOutcome) -> ExecOutcome:
        """Tell an OOM kill from another SIGKILL (exit 137 that the toolkit did not cause).

        The kernel's OOM killer kills the biggest process of the container's cgroup (a call),
        not the warm container, so the container's ``State.OOMKilled`` stays false; the
        cgroup's ``oom_kill`` count does rise. Each rise is reported once, to a call that
        ended with 137.
        """
        settings = self._effective.get(image_id, self.settings)
        count = self._oom_kill_count(container.id)
        with self._lock:
            seen = self._oom_seen.get(container.id, 0)
            if count is not None and count > seen:
                self._oom_seen[container.id] = count
        if count is not None and count <= seen:
            return outcome  # a SIGKILL from elsewhere: nothing to add
        limit = (f"its container's memory limit of {settings.memory_text}"
                 if settings.mem_limit is not None
                 else "the memory of the engine's host (the container has no memory limit)")
        hint = ("; give the image more with the label containerdag.memory or "
                "ContainerSettings(mem_limit=...)") if settings.mem_limit is not None else ""
        if count is None:
            note = (f": killed by SIGKILL, perhaps OOM-killed for going over {limit} (the "
                    f"container's OOM-kill count could not be read){hint}")
        else:
            note = f": OOM-killed, it went over {limit}{hint}"
        values = {f.name: getattr(outcome, f.name) for f in dataclasses.fields(outcome)}
        return PoolOutcome(**values, note=note, oom_killed=True if count is not None else None)

    def _gone(self, container: Any, wait: float = 2.0) -> str | None:
        """``was removed`` or ``was killed`` if the warm container stopped under a call that
        ended by SIGKILL, else None. A kill shows on the container a moment after the call
        ends, so this looks for up to ``wait`` seconds (only on this rare path)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                state = self.client.api.inspect_container(container.id)["State"]
            except docker.errors.NotFound:
                return "was removed (docker rm?)"
            except (docker.errors.APIError, *engine_errors):
                return None
            if not state.get("Running"):
                return f"was killed (docker kill or stop?; exit code {state.get('ExitCode')})"
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)

    def _oom_kill_count(self, container_id: str) -> int | None:
        """The container's cgroup OOM-kill count, read from inside it; None if unreadable."""
        try:
            seen = exec_call(self.client.api, container_id, ["cat", *OOM_FILES], b"",
                             timeout=10, max_output=65536)
        except (docker.errors.APIError, *engine_errors):
            return None
        match = _OOM_KILL.search(seen.stdout)  # cat exits 1 for the file that is missing
        return int(match.group(1)) if match else None

    def forget(self, image_id: str, container: Any) -> None:
        """Drop (and remove) a container that died, so the next call starts a fresh one."""
        if self._containers.get(image_id) is container:
            del self._containers[image_id]
        self._oom_seen.pop(container.id, None)
        self.runners.drop(container.id)
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True, v=True)
        self.work.forget(self._files.pop(container.id, ("", None))[1])

    def close(self) -> None:
        """Remove every container of this pool, in parallel."""
        self.runners.close()
        with self._lock:
            self.closed = True
            containers = list(self._containers.values())
            self._containers.clear()
            self._oom_seen.clear()
        threads = [threading.Thread(target=_remove, args=(c,)) for c in containers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self._files.clear()
        self.work.close()

    def __len__(self) -> int:
        return len(self._containers)


def remove_container(client: docker.DockerClient, ref: str, wait: float = 10.0) -> bool:
    """Force-remove container ``ref`` and wait until the engine no longer knows it.

    A removal already in progress (409, started by another thread or by a client whose
    socket was cut mid-request) is waited out rather than raised. False if it is still
    there after ``wait`` seconds.
    """
    try:
        client.api.remove_container(ref, force=True, v=True)
        return True
    except docker.errors.NotFound:
        return True
    except docker.errors.APIError as exc:
        if exc.status_code != 409:
            raise
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            client.api.inspect_container(ref)
        except docker.errors.NotFound:
            return True
        time.sleep(0.05)
    return False


def _remove(container: Any) -> None:
    try:
        container.remove(force=True, v=True)
    except docker.errors.NotFound:
        pass
    except engine_errors:
        pass  # engine gone: `containerdag cleanup` removes leftovers later


def _slug(tag: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]+", "_", tag).strip("_.-")[:60] or "image"
