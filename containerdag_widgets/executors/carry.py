"""Files across Dask: a ``File`` travels as its bytes in the task and in its result.

No file system is shared between the client and the workers: ``pack_files`` replaces each
``File`` of a value by a ``Carried`` (name, hash, bytes); ``unpack_files`` writes the bytes
into an artifact store on the other side, after checking them against the hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ..cache.artifacts import ArtifactStore
from ..model.errors import FileError
from ..model.files import File, map_files, map_leaves

__all__ = ["Carried", "pack_files", "unpack_files"]


@dataclass(frozen=True)
class Carried:
    """A file on its way to another machine: its name, content hash and bytes."""

    name: str
    sha256: str
    data: bytes


def pack_files(value: Any) -> Any:
    """``value`` with each ``File`` as a ``Carried`` (its bytes read now)."""
    def carry(found: File) -> Carried:
        data = found.read_bytes()
        return Carried(found.name, hashlib.sha256(data).hexdigest(), data)

    return map_files(value, carry, json_form=False)


def unpack_files(value: Any, store: ArtifactStore, *, process: str = "?") -> Any:
    """``value`` with each ``Carried`` stored in ``store`` (a ``File`` there); ``FileError``
    when the bytes do not have the hash they were sent with."""
    def store_one(carried: Carried) -> File:
        got = hashlib.sha256(carried.data).hexdigest()
        if got != carried.sha256:
            raise FileError(f"file {carried.name!r} arrived with sha256 {got[:12]}, sent with "
                            f"{carried.sha256[:12]}", process=process, reason="transfer",
                            path=carried.name)
        return store.put_bytes(carried.data, carried.name)

    return map_leaves(value, lambda v: isinstance(v, Carried), store_one)
