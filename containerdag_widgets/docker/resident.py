"""Resident runners for a pool's warm containers, or the exec path where they cannot run.

The runner binary comes from the image ``containerdag/runner`` (built on the engine by
``scripts/build_images.py``): a named volume is filled from it once per engine (Docker
copies an image's files into an empty volume mounted over them) and mounted read-only at
``/containerdag`` in every warm container. That works with a read-only root, no network,
any image user, and a remote ``DOCKER_HOST`` (nothing comes from this machine's disk).
Each container's runner is started by one exec on its first call (``RunnerSession``).

When the runner cannot be used for an image (no runner image, an engine that refuses the
volume, a runner that does not start in that image), that image's calls take the exec path
(one Engine API exec per call), and it is said once: a warning in the log and a
``RunnerUnavailable`` in ``problems`` (which the registry shows).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Callable
from typing import Any

import docker
import docker.errors
from docker.types import Mount

from .runner import RUNNER_DIR, RUNNER_PATH, RunnerSession, RunnerUnavailable

__all__ = ["Runners", "RUNNER_IMAGE", "LABEL_RUNNER", "runner_wanted"]

log = logging.getLogger(__name__)

#: The image the runner comes from (``images/runner``).
RUNNER_IMAGE = os.environ.get("CONTAINERDAG_RUNNER_IMAGE", "containerdag/runner:latest")
#: Label of the runner volumes: the ID of the image each was filled from.
LABEL_RUNNER = "containerdag.runner"
#: A runner volume is named this, then the first 12 hex digits of the runner image's ID.
VOLUME_PREFIX = "containerdag-runner-"


def runner_wanted() -> bool:
    """False when ``CONTAINERDAG_RUNNER`` is ``0`` (or ``false``, ``no``): exec per call."""
    return os.environ.get("CONTAINERDAG_RUNNER", "1").strip().lower() not in ("0", "false",
                                                                               "no", "off")


class Runners:
    """The runners of one pool: the volume, one session per container, the fallbacks."""

    #: The runner volume's name without its image ID. A test sets its own (on the class, as
    #: the first fill can come with a registry's discovery) to create and remove a volume no
    #: other session uses.
    volume_prefix = VOLUME_PREFIX
    #: How long a runner may take to say hello before its image takes the exec path. A bound
    #: for a runner that hangs, not a speed target: on 2 cores beside a second test suite
    #: writing gigabytes, the 822 kB runner once took over 10 s to start.
    start_timeout = 60.0

    def __init__(self, client: docker.DockerClient, *, enabled: bool = True,
                 image: str = RUNNER_IMAGE, path: str = RUNNER_PATH,
                 labels: Callable[[], dict[str, str]] = dict):
        self.client = client
        self.enabled = enabled
        self.image = image
        self.path = path
        self._labels = labels
        #: Why the runner is not used, once per image (and once for all, e.g. no volume).
        self.problems: list[RunnerUnavailable] = []
        self._volume: str | None = None
        self._volume_error: str | None = None
        self._fallback: dict[str, str] = {}  # image id -> why it takes the exec path
        self._sessions: dict[str, RunnerSession] = {}  # container id -> its runner
        self._starting: dict[str, threading.Lock] = {}
        self._said: set[str] = set()
        self._lock = threading.Lock()

    # ---- the volume ---------------------------------------------------------------------

    def mounts(self, image_id: str, tag: str) -> list[Mount]:
        """The mounts a new warm container of ``image_id`` gets: the runner volume, or none
        (then the image takes the exec path and that is reported)."""
        if not self.enabled:
            return []
        with self._lock:
            if image_id in self._fallback:
                return []
            if self._volume is None and self._volume_error is None:
                try:
                    self._volume = self._fill_volume()
                except RunnerUnavailable as exc:
                    self._volume_error = exc.detail
                except docker.errors.APIError as exc:
                    self._volume_error = (f"the engine refused the runner's volume "
                                          f"({exc.explanation or exc})")
        if self._volume is None:
            self._fall_back(image_id, tag, self._volume_error or "no runner volume", every=True)
            return []
        return [Mount(RUNNER_DIR, self._volume, type="volume", read_only=True, no_copy=True)]

    def _fill_volume(self) -> str:
        """The name of the volume holding the runner, created and filled if needed."""
        try:
            image = self.client.images.get(self.image)
        except docker.errors.ImageNotFound:
            raise RunnerUnavailable(
                f"the runner image {self.image!r} is not on the engine (build it: "
                "scripts/build_images.py runner)") from None
        name = f"{self.volume_prefix}{image.id.split(':')[-1][:12]}"
        try:
            self.client.volumes.get(name)
            return name
        except docker.errors.NotFound:
            pass
        self.client.volumes.create(name, labels={LABEL_RUNNER: image.id})
        # Creating a container with the empty volume over /containerdag copies the image's
        # files into it; running `runner --version` checks it runs on this engine.
        filler = self.client.containers.create(
            image.id, [self.path, "--version"], labels=self._labels(), network_mode="none",
            mounts=[Mount(RUNNER_DIR, name, type="volume")])
        try:
            filler.start()
            status = filler.wait(timeout=60).get("StatusCode")
            said = filler.logs().decode(errors="replace").strip()
        finally:
            filler.remove(force=True)
        if status != 0:
            self.client.volumes.get(name).remove(force=True)
            raise RunnerUnavailable(f"the runner from {self.image!r} does not run on this "
                                    f"engine (exit code {status}: {said!r})")
        self._remove_stale_volumes(keep=name)
        return name

    def _remove_stale_volumes(self, keep: str) -> None:
        """Remove the volumes of earlier runner builds that no container uses any more: only
        those named like ``keep`` (this prefix and an image ID), not another prefix's."""
        ours = re.compile(re.escape(self.volume_prefix) + "[0-9a-f]{12}")
        for volume in self.client.volumes.list(filters={"label": LABEL_RUNNER}):
            if volume.name != keep and ours.fullmatch(volume.name):
                with contextlib.suppress(docker.errors.APIError):  # 409: still in use
                    volume.remove()

    def refused(self, image_id: str, tag: str, why: str) -> None:
        """The engine would not create ``image_id``'s container with the runner's volume."""
        self._fall_back(image_id, tag, f"the engine refused to mount the runner's volume ({why})")

    # ---- sessions -----------------------------------------------------------------------

    def session(self, image_id: str, tag: str, container: Any) -> RunnerSession | None:
        """The runner of ``container``, started on first use; None: use the exec path."""
        if not self.enabled:
            return None
        with self._lock:
            if image_id in self._fallback:
                return None
            found = self._sessions.get(container.id)
            if found is not None and found.lost is None:
                return found
            starting = self._starting.setdefault(container.id, threading.Lock())
        with starting:
            with self._lock:
                found = self._sessions.get(container.id)
                if image_id in self._fallback:
                    return None
            if found is not None and found.lost is None:
                return found
            try:
                found = RunnerSession(self.client.api, container.id, path=self.path,
                                      start_timeout=self.start_timeout,
                                      on_notice=lambda text, given_up, t=tag:
                                      self._notice(t, text, given_up))
            except RunnerUnavailable as exc:
                self._fall_back(image_id, tag, exc.detail)
                return None
            with self._lock:
                self._sessions[container.id] = found
            return found

    def drop(self, container_id: str) -> None:
        """Forget (and close) the runner of a container that died or was removed."""
        with self._lock:
            found = self._sessions.pop(container_id, None)
            self._starting.pop(container_id, None)
        if found is not None:
            found.close()

    def close(self) -> None:
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
            self._starting.clear()
        for found in sessions:
            found.close()

    # ---- saying so once -----------------------------------------------------------------

    def _fall_back(self, image_id: str, tag: str, why: str, every: bool = False) -> None:
        with self._lock:
            if image_id in self._fallback:
                return
            self._fallback[image_id] = why
            key = "*" if every else image_id
            if key in self._said:
                return
            self._said.add(key)
            problem = RunnerUnavailable(
                f"{why}; calls use one Engine API exec each instead of the resident runner",
                image=None if every else tag)
            self.problems.append(problem)
        log.warning("containerdag: %s", problem)

    def _notice(self, tag: str, text: str, given_up: bool) -> None:
        log.warning("containerdag: image %r: %s", tag, text)
        if given_up:
            with self._lock:
                if text in self._said:
                    return
                self._said.add(text)
                self.problems.append(RunnerUnavailable(text, image=tag))

    def fallback_reason(self, image_id: str) -> str | None:
        """Why ``image_id`` takes the exec path (None: it uses the runner, or is not known
        yet)."""
        if not self.enabled:
            return "the runner is turned off (CONTAINERDAG_RUNNER=0)"
        with self._lock:
            return self._fallback.get(image_id)
