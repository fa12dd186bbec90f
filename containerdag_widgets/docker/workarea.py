"""Where a call's files live: on disk, never in the warm container's memory-backed ``/tmp``.

Two cases, told apart by where the engine runs:

- **On this machine** (a Unix socket): each warm container gets two host directories of the
  session's *work area* (``<cache>/work/<session>/<container>/``, next to the artifact store so
  a file moves between them by a link or a rename), mounted at ``/containerdag-work/in``
  (read-only: inputs are hard links to stored artifacts, which a container must never change)
  and ``/containerdag-work/out`` (writable: each call's output directory). No byte goes
  through a pipe (``DiskFiles``).
- **Elsewhere** (``DOCKER_HOST=tcp://...``, ``ssh://...``): the engine cannot see this disk.
  Each warm container gets an anonymous volume at ``/containerdag-work`` on the engine's disk
  (removed with the container) and the files stream through the engine, chunked
  (``CallFiles``).

``CONTAINERDAG_WORK_AREA=disk|stream`` forces one; ``CONTAINERDAG_WORK_DIR`` moves the work
areas' root (a file system without hard links to the store works, by plain copies).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import secrets
import shutil
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.types import Mount

from ..cache.paths import cache_root

__all__ = ["WorkArea", "ContainerArea", "WORK_DIR", "work_root", "work_mode"]

#: Where a warm container sees its work area.
WORK_DIR = "/containerdag-work"
#: Modes of the work area: bind-mounted host directories, or a volume fed by streaming.
MODES = ("disk", "stream")

log = logging.getLogger(__name__)


def work_root() -> Path:
    """The root of the sessions' work areas: ``$CONTAINERDAG_WORK_DIR``, else
    ``cache_root() / "work"`` (the artifact store's file system: links, no copies)."""
    env = os.environ.get("CONTAINERDAG_WORK_DIR", "").strip()
    return Path(env) if env else cache_root() / "work"


def _base_url(client: Any) -> str:
    """The engine's address as docker-py has it (a ``DockerClient`` or its ``APIClient``)."""
    return str(getattr(getattr(client, "api", client), "base_url", ""))


def engine_is_local(client: Any) -> bool:
    """Whether the engine runs on this machine and sees its disk: reached by a Unix socket
    (docker-py names those ``http+docker://localhost``); a TCP or SSH engine is taken as
    remote, wherever it is."""
    return _base_url(client).startswith("http+docker://")


def work_mode(client: Any) -> tuple[str, str]:
    """``("disk" | "stream", why)`` for the engine of ``client``."""
    forced = os.environ.get("CONTAINERDAG_WORK_AREA", "").strip().lower()
    if forced in MODES:
        return forced, "CONTAINERDAG_WORK_AREA"
    if engine_is_local(client):
        return "disk", "the engine runs on this machine"
    return "stream", f"the engine at {_base_url(client) or '?'} cannot see this machine's disk"


@dataclass(frozen=True)
class ContainerArea:
    """One warm container's part of a work area: host ``inputs`` (mounted read-only) and
    ``outputs`` (writable) directories."""

    root: Path

    @property
    def inputs(self) -> Path:
        return self.root / "in"

    @property
    def outputs(self) -> Path:
        return self.root / "out"


class WorkArea:
    """A session's work area: a place on disk its warm containers read and write files in."""

    def __init__(self, session: str, mode: str, why: str, *, root: Path | None = None):
        if mode not in MODES:
            raise ValueError(f"work area mode {mode!r}: expected one of {', '.join(MODES)}")
        self.session = session
        self.mode = mode
        self.why = why
        self.root = (root or work_root()) / session
        self._said: set[str] = set()
        self._made: set[ContainerArea] = set()  # its containers' (the session has other pools)
        self._lock = threading.Lock()

    @classmethod
    def for_client(cls, client: Any, session: str) -> WorkArea:
        """The work area a pool of ``client``'s engine uses (``work_mode``)."""
        mode, why = work_mode(client)
        return cls(session, mode, why)

    @property
    def on_disk(self) -> bool:
        """Whether calls find their files in bind-mounted host directories (no streaming)."""
        return self.mode == "disk"

    def mounts(self, container_name: str) -> tuple[list[Mount], ContainerArea | None]:
        """The mounts of a new warm container called ``container_name``, and its part of the
        area on this disk (new, empty, its own even if a container of that name went before),
        None when streamed."""
        if not self.on_disk:  # removed with the container (``remove(v=True)``)
            return [Mount(WORK_DIR, None, type="volume")], None
        area = ContainerArea(self.root / f"{container_name}-{secrets.token_hex(4)}")
        for path in (area.inputs, area.outputs):
            path.mkdir(parents=True)
        os.chmod(area.outputs, 0o1777)  # the container's user makes each call's directory
        with self._lock:
            self._made.add(area)
        return [Mount(f"{WORK_DIR}/in", str(area.inputs), type="bind", read_only=True),
                Mount(f"{WORK_DIR}/out", str(area.outputs), type="bind")], area

    def started(self, container: Any) -> None:
        """After a streamed container starts: make its volume's ``out`` directory writable by
        any user, as the bound ``out/`` is (the engine, root, writes it through the archive
        API: the container's own user cannot write the volume's root)."""
        if self.on_disk:
            return
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            entry = tarfile.TarInfo("out")
            entry.type, entry.mode = tarfile.DIRTYPE, 0o1777
            tar.addfile(entry)
        container.put_archive(WORK_DIR, buffer.getvalue())

    def forget(self, area: ContainerArea | None) -> None:
        """Remove a warm container's directories (the container is gone)."""
        if area is not None:
            with self._lock:
                self._made.discard(area)
            shutil.rmtree(area.root, ignore_errors=True)

    def close(self) -> None:
        """Remove the directories of this area's containers (the session's other pools keep
        theirs), then the session's directory and the root once empty."""
        with self._lock:
            made, self._made = self._made, set()
        for area in made:
            shutil.rmtree(area.root, ignore_errors=True)
        if self.on_disk:
            for empty in (self.root, self.root.parent):
                with contextlib.suppress(OSError):
                    empty.rmdir()

    def say_once(self, what: str, message: str) -> None:
        """Log ``message`` the first time ``what`` happens in this work area."""
        with self._lock:
            if what in self._said:
                return
            self._said.add(what)
        log.warning("containerdag: %s", message)

    def describe(self) -> str:
        """One line for ``describe`` and the registry widget."""
        if self.on_disk:
            return (f"on disk in {self.root} (bind-mounted at {WORK_DIR}; inputs linked "
                    f"read-only, outputs renamed into the store): {self.why}")
        return (f"streamed into a volume at {WORK_DIR} on the engine's disk, chunked: "
                f"{self.why}")


def remove_work_area(session: str) -> None:
    """Remove a (crashed) session's work area on this machine, if any."""
    shutil.rmtree(work_root() / session, ignore_errors=True)
