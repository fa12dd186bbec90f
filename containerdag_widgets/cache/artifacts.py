"""The artifact store: output files by content, ``<cache>/artifacts/<sha[:2]>/<sha>/<name>``.

A file is written once per content and name (a temporary file renamed into place), so two
kernels storing the same file at once both end with the same, complete path. ``prune`` removes
the files no cached result or recorded run names any more.

Like the result cache, a broken cache directory never fails a run: when the default store's
directory cannot be made or written (``CONTAINERDAG_CACHE_DIR`` names a regular file, a
read-only place...), this process keeps its output files in a private temporary directory,
removed when it exits, after one ``ArtifactsElsewhere`` warning naming the path, the reason and
where the files go. Nodes still get their output files; nothing is reused across processes.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import queue
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..model.files import File, map_files, size_limit
from .failures import CacheWarning
from .paths import cache_root

__all__ = ["ArtifactStore", "ArtifactsElsewhere", "FileTooLarge", "keep_files", "default_root"]

_CHUNK = 1 << 20
#: The unusable default roots of this process, each with the temporary directory used instead.
_elsewhere: dict[Path, Path] = {}
_elsewhere_lock = threading.Lock()


class ArtifactsElsewhere(CacheWarning):
    """The artifact store's directory cannot be used: this process keeps its files elsewhere."""

    def __init__(self, root: Path, reason: str, instead: Path):
        self.root, self.reason, self.instead = root, reason, instead
        super().__init__(f"artifact store unusable: {root}: {reason}; this process keeps its "
                         f"output files in {instead} until it exits")


def _unusable(root: Path) -> str | None:
    """Why ``root`` cannot hold the store (made if missing), or None when it can."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        return f"a file is in the way ({exc.strerror}: {exc.filename})"
    except OSError as exc:
        return f"cannot create the directory ({exc.strerror})"
    if not os.access(root, os.W_OK | os.X_OK):
        return "the directory is not writable"
    return None


def default_root() -> Path:
    """``cache_root() / "artifacts"``, or this process's temporary directory while that cannot
    be used (warned once per path)."""
    root = cache_root() / "artifacts"
    reason = _unusable(root)
    if reason is None:
        return root
    with _elsewhere_lock:
        instead = _elsewhere.get(root)
        if instead is None:
            instead = _elsewhere[root] = Path(tempfile.mkdtemp(prefix="containerdag-artifacts-"))
            atexit.register(shutil.rmtree, instead, True)
            warnings.warn(ArtifactsElsewhere(root, reason, instead), stacklevel=3)
    return instead


class FileTooLarge(ValueError):
    """A file over the size limit (``CONTAINERDAG_FILE_LIMIT``, none by default)."""


def _safe_name(name: str) -> str:
    name = os.path.basename(name.replace("\\", "/")) or "file"
    return "file" if name in (".", "..") else name


class ArtifactStore:
    """Files by content under ``root`` (default ``default_root()``: ``cache_root() /
    "artifacts"``, or a temporary directory while that cannot be used)."""

    def __init__(self, root: str | os.PathLike[str] | None = None):
        self.root = Path(root) if root is not None else default_root()

    def path_for(self, sha256: str, name: str) -> Path:
        """Where the file of that content and name lives in the store."""
        return self.root / sha256[:2] / sha256 / _safe_name(name)

    def contains(self, file: File) -> bool:
        """Whether ``file`` is a file of this store (by its path)."""
        try:
            file.path.relative_to(self.root.resolve())
        except ValueError:
            return False
        return True

    def put_bytes(self, data: bytes | bytearray | memoryview, name: str) -> File:
        """Store ``data`` as a file called ``name``; the stored ``File``."""
        if len(data) > size_limit():
            raise FileTooLarge(f"file {name!r} is {len(data)} bytes, over the limit of "
                               f"{size_limit()} (CONTAINERDAG_FILE_LIMIT)")
        sha = hashlib.sha256(data).hexdigest()
        target = self.path_for(sha, name)
        if not (target.is_file() and target.stat().st_size == len(data)):
            self._write(target, lambda handle: handle.write(data))
        return File(target, sha256=sha, size=len(data))

    def put_path(self, path: str | os.PathLike[str], name: str | None = None,
                 sha256: str | None = None) -> File:
        """Store a copy of the file at ``path`` (as ``name``, default its own name)."""
        source = Path(path)
        size = source.stat().st_size
        if size > size_limit():
            raise FileTooLarge(f"file {str(source)!r} is {size} bytes, over the limit of "
                               f"{size_limit()} (CONTAINERDAG_FILE_LIMIT)")
        if sha256 is None:
            sha256 = File(source).sha256
        target = self.path_for(sha256, name or source.name)
        if not (target.is_file() and target.stat().st_size == size):
            def copy(handle: Any) -> None:
                with open(source, "rb") as reader:
                    shutil.copyfileobj(reader, handle, _CHUNK)
            self._write(target, copy)
        return File(target, sha256=sha256, size=size)

    def put_chunks(self, chunks: Iterable[bytes], name: str) -> File:
        """Store the bytes of ``chunks`` (hashed as they are written) as ``name``."""
        incoming = self.incoming(name)
        try:
            for chunk in chunks:
                incoming.write(chunk)
        except BaseException:
            incoming.abort()
            raise
        return incoming.finish()

    def incoming(self, name: str) -> Incoming:
        """A file being received chunk by chunk (``write``), stored by ``finish``."""
        return Incoming(self, name)

    def keep(self, file: File) -> File:
        """``file`` if it is in the store already, else a stored copy."""
        return file if self.contains(file) else self.put_path(file.path, file.name)

    def _write(self, target: Path, fill: Any) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                fill(handle)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def files(self) -> Iterator[Path]:
        """Every stored file."""
        if self.root.is_dir():
            for path in self.root.glob("??/*/*"):
                if path.is_file() and not path.name.startswith(".incoming-"):
                    yield path

    def size(self) -> int:
        """The bytes the stored files take."""
        return self.usage()[1]

    def usage(self) -> tuple[int, int]:
        """How many files the store holds and the bytes they take, in one pass."""
        count, sizes = self._scan()
        return count, sum(sizes.values())

    def sizes(self) -> dict[str, int]:
        """The bytes each stored content takes, by its sha256: the sum over the names it is
        stored under (what pruning that content frees)."""
        return self._scan()[1]

    def _scan(self) -> tuple[int, dict[str, int]]:
        """The number of stored files and the bytes by content (a file linked under two
        names counted once)."""
        found: dict[str, int] = {}
        seen: set[tuple[int, int]] = set()
        count = 0
        for path in self.files():
            try:
                info = path.stat()
            except OSError:  # pruned meanwhile
                continue
            count += 1
            if info.st_nlink > 1:
                if (info.st_dev, info.st_ino) in seen:
                    continue
                seen.add((info.st_dev, info.st_ino))
            sha = path.parent.name
            found[sha] = found.get(sha, 0) + info.st_size
        return count, found

    def prune(self, keep: Iterable[str]) -> int:
        """Remove every stored file whose content hash is not in ``keep``; how many went."""
        kept = set(keep)
        removed = 0
        for path in list(self.files()):
            if path.parent.name not in kept:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
                with contextlib.suppress(OSError):
                    path.parent.rmdir()
                    path.parent.parent.rmdir()
        return removed


class Incoming:
    """A file arriving in chunks: hashed and written to a temporary file by a thread of its
    own as it comes (so the receiving loop is not held up), then renamed to its place in the
    store (``finish``) or dropped (``abort``)."""

    def __init__(self, store: ArtifactStore, name: str):
        store.root.mkdir(parents=True, exist_ok=True)
        self.store, self.name = store, name
        self.size = 0
        self._digest = hashlib.sha256()
        fd, self._tmp = tempfile.mkstemp(dir=store.root, prefix=".incoming-")
        self._handle = os.fdopen(fd, "wb")
        self._queue: queue.SimpleQueue[list[bytes] | None] = queue.SimpleQueue()
        self._batch: list[bytes] = []  # handed to the thread a MiB at a time
        self._batched = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, daemon=True,
                                        name="containerdag incoming file")
        self._thread.start()

    def _drain(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self._error is None:
                try:
                    chunk = b"".join(batch)
                    self._digest.update(chunk)
                    self._handle.write(chunk)
                except BaseException as exc:  # noqa: BLE001 - raised by finish()
                    self._error = exc

    def write(self, chunk: bytes) -> None:
        """Take the next chunk (``FileTooLarge`` past the size limit)."""
        self.size += len(chunk)
        if self.size > size_limit():
            raise FileTooLarge(f"file {self.name!r} is over the limit of {size_limit()} bytes "
                               "(CONTAINERDAG_FILE_LIMIT)")
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= _CHUNK:
            self._queue.put(self._batch)
            self._batch, self._batched = [], 0

    def _stop(self) -> None:
        if self._thread.is_alive():
            if self._batch:
                self._queue.put(self._batch)
                self._batch, self._batched = [], 0
            self._queue.put(None)
            self._thread.join()
        self._handle.close()

    def finish(self) -> File:
        """The stored file."""
        try:
            self._stop()
            if self._error is not None:
                raise self._error
            sha = self._digest.hexdigest()
            target = self.store.path_for(sha, self.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(self._tmp, 0o644)
            os.replace(self._tmp, target)
        except BaseException:
            self.abort()
            raise
        return File(target, sha256=sha, size=self.size)

    def abort(self) -> None:
        """Drop what arrived."""
        with contextlib.suppress(OSError):
            self._stop()
        with contextlib.suppress(OSError):
            os.unlink(self._tmp)


def keep_files(value: Any, store: ArtifactStore | None = None) -> Any:
    """``value`` with every file (``File`` or ``{"$file": PATH}``) stored in the artifact store."""
    store = store or ArtifactStore()
    return map_files(value, lambda f: store.keep(f if isinstance(f, File) else File(f["$file"])))
