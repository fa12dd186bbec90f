"""The files of one call in a work area on disk (``workarea.py``): linked in, renamed out.

An input ``File`` is hard-linked into ``in/<call>/<n>/<name>`` of the container's work area,
which the container sees read-only (so it can never change the stored artifact through the
link); a file the container's user could not read, or one on another file system, is copied
(hashed while copied, and checked against its hash). An output is opened on the host without
following any link (resolved in the container first, as ``CallFiles`` does), hashed in one read
and renamed into the artifact store, made the kernel's and read-only first; one the kernel
cannot make its own, or that has other links, is copied instead (hashed while written).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import uuid
from collections.abc import Callable
from typing import Any

from ..cache.artifacts import ArtifactStore
from ..model.errors import FileError
from ..model.files import (
    FILE_KEY,
    File,
    map_files,
    sha256_read,
    shown_name,
    size_limit,
    utf8_name,
)
from .transfer import OUTPUT_DIR_ENV, CallFiles, Run, input_files, kind_of_mode
from .workarea import WORK_DIR, ContainerArea, WorkArea

__all__ = ["DiskFiles", "DiskFull"]

_CHUNK = 1 << 20
#: Outputs this large are hashed with O_DIRECT reads: the container's memory limit will have
#: evicted most of what it wrote from the page cache (``sha256_read``).
_DIRECT_FROM = 64 << 20


class DiskFull(FileError):
    """A file could not be written for want of space: ``needed`` bytes (None if unknown),
    ``free`` bytes where it was going, ``where`` that place."""

    def __init__(self, message: str, *, needed: int | None, free: int, where: str, **kw: Any):
        self.needed, self.free, self.where = needed, free, where
        super().__init__(message, reason="disk_full", **kw)


def free_bytes(path: os.PathLike[str] | str) -> int:
    """The bytes free for this user where ``path`` is (0 if that cannot be told)."""
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return 0


class _Stored:
    """What ``collect`` finishes: a file already in the store."""

    def __init__(self, file: File):
        self.file = file

    def finish(self) -> File:
        return self.file

    def abort(self) -> None:
        """Nothing to drop: the store keeps one copy per content, which may be shared."""


class DiskFiles(CallFiles):
    """The input and output files of one call, in its container's part of a work area."""

    def __init__(self, run: Run, *, area: WorkArea, host: ContainerArea, process: str,
                 image: str, store: ArtifactStore | None = None, tidy: Run | None = None,
                 progress: Callable[[str, int, int], None] | None = None):
        super().__init__(run, process=process, image=image, store=store, tidy=tidy,
                         small_first=True, progress=progress)
        self.work = area
        self.host = host
        self.call = uuid.uuid4().hex
        self.dir = f"{WORK_DIR}/out/{self.call}"
        self.out = self.dir
        self._in = self.host.inputs / self.call
        self._out = self.host.outputs / self.call
        self._open: dict[str, tuple[int, os.stat_result]] = {}  # container path -> fd, stat

    def place(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Link (or copy) each input ``File`` into the call's read-only input directory; the
        inputs with ``{"$file": PATH}`` (its path in the container) in their place."""
        files = input_files(inputs, process=self.process)
        self._made = True
        self._out.mkdir(parents=True)
        os.chmod(self._out, 0o777)  # the container's user writes here, whoever it is
        where: dict[int, str] = {}
        for n, (port, found) in enumerate(files):
            folder = self._in / str(n)
            folder.mkdir(parents=True)
            name = utf8_name(os.path.basename(found.name)) or "file"
            self._link_or_copy(port, found, folder / name)
            where[id(found)] = f"{WORK_DIR}/in/{self.call}/{n}/{name}"
        return {port: map_files(value, lambda f: {FILE_KEY: where[id(f)]}, json_form=False)
                for port, value in inputs.items()}

    def _link_or_copy(self, port: str, found: File, target: Any) -> None:
        """A hard link when the container's user may read the file and the file systems
        allow; else a copy, checked against the file's hash."""
        info = os.stat(found.path)
        if info.st_mode & stat.S_IROTH:
            try:
                os.link(found.path, target)
                return
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EACCES):
                    raise
                self.work.say_once("copies", f"the work area {self.work.root} cannot link "
                                   f"files of {found.path.parent} ({exc.strerror}): input "
                                   "files are copied into it")
        expected = found.sha256
        free = free_bytes(target.parent)
        if free < found.size:
            raise self._full(port, str(found.path), needed=found.size, free=free,
                             where=str(self.work.root), what="copying input")
        digest = hashlib.sha256()
        what, done = f"input {port} ({found.name})", 0
        try:
            with open(found.path, "rb") as reader, open(target, "wb") as writer:
                while chunk := reader.read(_CHUNK):
                    digest.update(chunk)
                    writer.write(chunk)
                    done += len(chunk)
                    self.moved(what, done, found.size)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            with contextlib.suppress(OSError):
                os.unlink(target)
            raise self._full(port, str(found.path), needed=found.size,
                             free=free_bytes(target.parent), where=str(self.work.root),
                             what="copying input") from None
        os.chmod(target, 0o444)
        if digest.hexdigest() != expected:
            raise FileError(f"input {port!r}: file '{shown_name(found.path)}' changed while it "
                            "was read (its content no longer has the hash it was keyed by); "
                            "run again once it is written", process=self.process,
                            reason="changed", port=port, path=str(found.path))

    def _full(self, port: str | None, path: str, *, needed: int | None, free: int, where: str,
              what: str) -> DiskFull:
        wanted = f"{needed} bytes needed, " if needed is not None else ""
        return DiskFull(f"{what} {port!r} ({shown_name(path)}): no space left in {where} "
                        f"({wanted}{free} bytes free)", needed=needed, free=free, where=where,
                        process=self.process, port=port, path=path)

    def _regular(self, named: list[tuple[str, str]], real: dict[str, str]) -> dict[str, int]:
        """Open each output on the host, following no link (the container resolved it: a
        link found now was put there since, so it is refused), and check it is a regular
        file: no read can block. The sizes, by the open files."""
        sizes: dict[str, int] = {}
        for port, path in named:
            target = real[path]
            if target not in self._open:
                self._open[target] = self._open_output(port, path, target)
            sizes[path] = self._open[target][1].st_size
        return sizes

    def _open_output(self, port: str, path: str, target: str) -> tuple[int, os.stat_result]:
        parts = target[len(self.out) + 1:].split("/")
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self._out, flags | os.O_DIRECTORY)
        try:
            for part in parts[:-1]:
                inner = os.open(part, flags | os.O_DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = inner
            try:  # O_NONBLOCK: a FIFO opens at once (and is refused below)
                found = os.open(parts[-1], flags | os.O_NONBLOCK, dir_fd=fd)
            except OSError:  # a socket cannot be opened at all; a link is refused
                info = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    raise
                raise self._not_regular(port, path, kind_of_mode(info.st_mode) or "") from None
        except FileNotFoundError:
            raise FileError(f"output {port!r}: {path!r} is not there, not a file written under "
                            f"{OUTPUT_DIR_ENV}", process=self.process, reason="missing",
                            port=port, path=path) from None
        except FileError:
            raise
        except OSError as exc:  # ELOOP, ENOTDIR: a link or a file put in the way since
            raise self._outside(port, path) from exc
        finally:
            os.close(fd)
        info = os.fstat(found)
        if not stat.S_ISREG(info.st_mode):
            os.close(found)
            raise self._not_regular(port, path, kind_of_mode(info.st_mode) or "")
        return found, info

    def _fetch(self, port: str, path: str, real: str, size: int) -> _Stored:
        """Store one output: renamed into the store when the kernel can make it its own and
        read-only and it has no other link, else copied; hashed in one read either way."""
        fd, info = self._open.pop(real)
        with contextlib.closing(os.fdopen(fd, "rb", buffering=0)) as handle:
            limit = size_limit()
            if info.st_size > limit:
                raise FileError(f"output {port!r}: file {path!r} is {info.st_size} bytes, over "
                                f"the limit of {limit} (CONTAINERDAG_FILE_LIMIT)",
                                process=self.process, reason="too_large", port=port, path=path)
            name = os.path.basename(real)
            if info.st_nlink == 1 and self._make_mine(fd, info):
                moved = self._move_in(fd, info, real[len(self.out) + 1:], port, path)
                if moved is not None:
                    try:
                        sha = self._hash(handle, f"output {port} ({name})", info.st_size)
                        self._unchanged(fd, info, port, path)
                        target = self.store.path_for(sha, name)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(moved, target)
                    except BaseException:
                        with contextlib.suppress(OSError):
                            os.unlink(moved)
                        raise
                    return _Stored(File(target, sha256=sha, size=info.st_size))
            return _Stored(self._copy_out(handle, info, port, path, name))

    def _hash(self, handle: Any, what: str, size: int) -> str:
        """The sha256 of an open file, read once; the bytes read go out as progress."""
        return sha256_read(handle, lambda done: self.moved(what, done, size),
                           direct=size >= _DIRECT_FROM)

    def _move_in(self, fd: int, info: os.stat_result, relative: str, port: str,
                 path: str) -> str | None:
        """Rename the output out of the container's reach into the store's directory (a
        temporary name there), checked to be the file opened; None when the store is on
        another file system (then it is copied)."""
        self.store.root.mkdir(parents=True, exist_ok=True)
        moved = str(self.store.root / f".incoming-{uuid.uuid4().hex}")
        try:
            os.rename(self._out / relative, moved)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            self.work.say_once("store copies", f"the work area {self.work.root} is on another "
                               f"file system than the artifact store {self.store.root}: output "
                               "files are copied into it")
            return None
        now = os.stat(moved, follow_symlinks=False)
        if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):  # swapped in the meantime
            os.unlink(moved)
            raise FileError(f"output {port!r}: file {path!r} was replaced while it was "
                            "collected", process=self.process, reason="changed", port=port,
                            path=path)
        return moved

    def _make_mine(self, fd: int, info: os.stat_result) -> bool:
        """Make the file the kernel's user's and read-only, so the container's user can no
        longer write it: whether that could be done."""
        try:
            if info.st_uid != os.geteuid() or info.st_gid != os.getegid():
                os.fchown(fd, os.geteuid(), os.getegid())
            os.fchmod(fd, 0o444)
        except PermissionError:
            return False
        return True

    def _unchanged(self, fd: int, info: os.stat_result, port: str, path: str) -> None:
        after = os.fstat(fd)
        if (after.st_size, after.st_mtime_ns) != (info.st_size, info.st_mtime_ns):
            raise FileError(f"output {port!r}: file {path!r} changed while it was read "
                            f"({info.st_size} bytes, then {after.st_size})",
                            process=self.process, reason="changed", port=port, path=path)

    def _copy_out(self, handle: Any, info: os.stat_result, port: str, path: str,
                  name: str) -> File:
        """Copy an output into the store, hashed while written; the partial file is removed
        when the disk fills."""
        free = free_bytes(self.store.root)
        if free < info.st_size:
            raise self._full(port, path, needed=info.st_size, free=free,
                             where=str(self.store.root), what="storing output")
        incoming = self.store.incoming(name)
        what = f"output {port} ({name})"
        try:
            while chunk := handle.read(_CHUNK):
                incoming.write(chunk)
                self.moved(what, incoming.size, info.st_size)
            stored = incoming.finish()
        except OSError as exc:
            incoming.abort()
            if exc.errno != errno.ENOSPC:
                raise
            raise self._full(port, path, needed=info.st_size, free=free_bytes(self.store.root),
                             where=str(self.store.root), what="storing output") from None
        except BaseException:
            incoming.abort()
            raise
        self._unchanged(handle.fileno(), info, port, path)
        return stored

    def written(self) -> int:
        """The bytes in the call's output directory now (after a failure: what it wrote)."""
        total = 0
        for folder, _, names in os.walk(self._out):
            for name in names:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(folder, name)).st_size
        return total

    def out_of_space(self) -> DiskFull | None:
        """A ``DiskFull`` naming the bytes written and the space left when the work area
        is full (a call that failed for that), else None."""
        free = free_bytes(self.host.outputs)
        if free > _CHUNK:
            return None
        written = self.written()
        return DiskFull(f"the work area ran out of space during the call: {written} bytes "
                        f"written under {OUTPUT_DIR_ENV}, {free} bytes free in "
                        f"{self.work.root} (give it more room, or point "
                        "CONTAINERDAG_WORK_DIR elsewhere)", needed=None, free=free,
                        where=str(self.work.root), process=self.process, path=str(self._out))

    def remove(self) -> None:
        """Remove the call's input and output directories (what was made of them)."""
        for fd, _ in self._open.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._open.clear()
        if not self._made:
            return
        shutil.rmtree(self._in, ignore_errors=True)
        try:
            shutil.rmtree(self._out)
        except FileNotFoundError:
            pass
        except OSError:  # e.g. a folder the container's user made, not ours to empty
            with contextlib.suppress(Exception):
                self._tidy(["rm", "-rf", "--", self.out], b"", 2**16)
            shutil.rmtree(self._out, ignore_errors=True)
