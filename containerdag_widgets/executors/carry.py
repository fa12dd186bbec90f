"""Files across Dask: a ``File`` travels by path between processes of one machine, else as
its bytes, in the task and in its result.

``pack_files`` replaces each ``File`` of a value by a ``Carried``: its name, hash and size,
and either its path (``by_path``, for a receiver on this machine: nothing is read, so a
gigabyte costs what a kilobyte does) or its bytes (a receiver elsewhere, or a small file).
``unpack_files`` puts each into an artifact store on the other side: a file by path is used
where it is when it is in that store already, hard-linked in when it is a stored artifact of
another store (content-addressed, read-only), copied and checked against its hash otherwise;
bytes are checked against the hash and stored.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cache.artifacts import ArtifactStore
from ..model.errors import FileError
from ..model.files import File, map_files, map_leaves

__all__ = ["Carried", "pack_files", "unpack_files", "this_machine", "BY_PATH_FROM"]

#: Files from this size on go by path when the receiver is on this machine.
BY_PATH_FROM = 1 << 20


@functools.cache
def this_machine() -> str:
    """What tells this machine from another (and from itself after a reboot): its host name
    and boot id."""
    with contextlib.suppress(OSError), open("/proc/sys/kernel/random/boot_id") as handle:
        return f"{socket.gethostname()}/{handle.read().strip()}"
    return socket.gethostname()


@dataclass(frozen=True)
class Carried:
    """A file on its way to another process: its name, content hash and size, and its bytes
    or (on ``machine``) its path."""

    name: str
    sha256: str
    data: bytes | None = None
    path: str = ""
    size: int = 0
    machine: str = ""


def pack_files(value: Any, *, by_path: bool = False) -> Any:
    """``value`` with each ``File`` as a ``Carried``: by path when ``by_path`` (the receiver
    runs on this machine) and the file is not small, else with its bytes read now."""
    def carry(found: File) -> Carried:
        if by_path and found.size >= BY_PATH_FROM:
            return Carried(found.name, found.sha256, path=str(found.path), size=found.size,
                           machine=this_machine())
        data = found.read_bytes()
        return Carried(found.name, hashlib.sha256(data).hexdigest(), data, size=len(data))

    return map_files(value, carry, json_form=False)


def unpack_files(value: Any, store: ArtifactStore, *, process: str = "?") -> Any:
    """``value`` with each ``Carried`` stored in ``store`` (a ``File`` there); ``FileError``
    when the bytes do not have the hash they were sent with, or a path cannot be read here."""
    def store_one(carried: Carried) -> File:
        if carried.data is None:
            return _by_path(carried, store, process)
        got = hashlib.sha256(carried.data).hexdigest()
        if got != carried.sha256:
            raise FileError(f"file {carried.name!r} arrived with sha256 {got[:12]}, sent with "
                            f"{carried.sha256[:12]}", process=process, reason="transfer",
                            path=carried.name)
        return store.put_bytes(carried.data, carried.name)

    return map_leaves(value, lambda v: isinstance(v, Carried), store_one)


def _by_path(carried: Carried, store: ArtifactStore, process: str) -> File:
    source = Path(carried.path)
    if carried.machine != this_machine():
        raise FileError(f"file {carried.name!r} was sent by its path on {carried.machine}, "
                        f"which this process on {this_machine()} cannot read",
                        process=process, reason="transfer", path=carried.path)
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise FileError(f"file {carried.name!r} is no longer at {carried.path} ({exc.strerror})",
                        process=process, reason="missing", path=carried.path) from None
    if size != carried.size:
        raise FileError(f"file {carried.name!r} at {carried.path} changed since it was sent "
                        f"({carried.size} bytes, now {size})", process=process,
                        reason="changed", path=carried.path)
    if store.contains(File(source, sha256=carried.sha256, size=size)):
        return File(source, sha256=carried.sha256, size=size)
    target = store.path_for(carried.sha256, carried.name)
    if source.parent.name == carried.sha256:  # a stored artifact elsewhere: link it in
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.parent / f".incoming-{uuid.uuid4().hex}"
        try:
            os.link(source, temporary)
            os.replace(temporary, target)
            return File(target, sha256=carried.sha256, size=size)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise
    with open(source, "rb") as handle:  # copied, hashed as it is written
        stored = store.put_chunks(iter(lambda: handle.read(1 << 20), b""), carried.name)
    if stored.sha256 != carried.sha256:
        raise FileError(f"file {carried.name!r} at {carried.path} changed since it was sent "
                        f"(sha256 {stored.sha256[:12]}, sent with {carried.sha256[:12]})",
                        process=process, reason="changed", path=carried.path)
    return stored
