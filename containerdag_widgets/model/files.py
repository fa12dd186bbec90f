"""Files as values: ``File`` (a path with a content hash) and its JSON form ``{"$file": PATH}``.

A ``File`` given by the user names a file on this machine (relative paths are taken from the
current directory, the notebook's folder). A file output is a ``File`` inside the artifact
store (``cache/artifacts.py``). Two files are equal when their contents are: equality, hashing,
the cache and the history all use ``sha256``, never the path or the modification time.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import mmap
import os
import stat
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["FILE_KEY", "DEFAULT_SIZE_LIMIT", "File", "is_file_json", "file_of", "size_limit",
           "human_size", "map_leaves", "map_files", "files_in", "sha256_of", "sha256_read",
           "file_hint",
           "key_form", "json_default", "to_stored", "from_stored", "stored_json", "loads_stored",
           "ESCAPE_KEY", "LEGACY_KEY",
           "NotAFileError", "NOT_FILES", "not_a_file", "shown_name", "utf8_name", "Files", "Glob"]

#: The key of a file's JSON form: ``{"$file": PATH}``.
FILE_KEY = "$file"
#: Wraps a stored object whose keys start with ``$`` (see ``to_stored``).
ESCAPE_KEY = "$object"
#: Wraps a history column written before ``to_stored``: plain data only (see ``from_stored``).
LEGACY_KEY = "$legacy"
#: No limit on a file's size unless ``$CONTAINERDAG_FILE_LIMIT`` (bytes) sets one: files of
#: tens of gigabytes are ordinary data (the disk's free space is checked before a copy).
DEFAULT_SIZE_LIMIT = 2**63 - 1

_CHUNK = 1 << 20


def size_limit() -> int:
    """The file size limit in bytes: ``$CONTAINERDAG_FILE_LIMIT``, else none (the largest
    file size there is)."""
    raw = os.environ.get("CONTAINERDAG_FILE_LIMIT", "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = -1
        if value > 0:
            return value
    return DEFAULT_SIZE_LIMIT


def human_size(nbytes: int) -> str:
    """``1.5 MiB`` for 1572864 bytes (binary units; ``512 bytes`` under a KiB)."""
    value = float(nbytes)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{nbytes} bytes" if nbytes < 1024 else f"{value:.1f} {unit}"


class NotAFileError(OSError, ValueError):
    """A path where a file is wanted that is a directory, a FIFO, a device or a socket (a
    ``ValueError`` too: a bad value, such as an input that cannot be keyed by content)."""


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))
#: What ``not_a_file`` says of a path that exists but is not a regular file.
NOT_FILES = frozenset([words for _, words in _KINDS] + ["not a regular file"])


def _kind(mode: int) -> str:
    """What a non-regular file is, in words (``"a FIFO (named pipe)"``)."""
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def not_a_file(path: str | os.PathLike[str]) -> str | None:
    """None when ``path`` names a regular file (symlinks followed), else what it is, in words:
    ``"missing"``, ``"unreadable (Permission denied)"`` or one of ``NOT_FILES`` (``"a
    directory"``, ``"a FIFO (named pipe)"``...). Never opens it."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    return None if stat.S_ISREG(mode) else _kind(mode)


def shown_name(path: str | os.PathLike[str]) -> str:
    """A path as printable text: bytes that are not UTF-8 shown as ``\\xe9``."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        return text.decode("utf-8", "backslashreplace")
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file system name gives
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def utf8_name(name: str) -> str:
    """``name`` if it is UTF-8 text, else with each byte that is not as U+FFFD."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        pass
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no file system name gives
        raw = name.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def _open_regular(path: str | os.PathLike[str]) -> Any:
    """``open(path, "rb")`` for a regular file only, else ``NotAFileError``: a FIFO or device
    is never opened to read (at most without blocking, when it was swapped in after the
    check, to see what it is)."""
    what = not_a_file(path)
    if what in NOT_FILES:
        raise NotAFileError(errno.EINVAL, f"{what}, not a regular file", os.fspath(path))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # missing: raises here
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFileError(errno.EINVAL, f"{_kind(mode)}, not a regular file",
                                os.fspath(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 of a file's contents (``NotAFileError`` for a directory, FIFO, device
    or socket)."""
    with _open_regular(path) as handle:
        return sha256_read(handle)


#: A large file's reads: the bytes hashed at a time, and how far ahead the kernel is asked
#: to read (one large request instead of its 128 KiB readahead steps).
_HASH_CHUNK = 8 << 20
_READ_AHEAD = 64 << 20
#: The alignment O_DIRECT reads need (of the offset; buffers are page-aligned mmaps).
_DIRECT_ALIGN = 4096

Reads = Callable[[int], memoryview]


def sha256_read(handle: Any, progress: Callable[[int], None] | None = None, *,
                direct: bool = False) -> str:
    """The hex SHA-256 of what is left to read in ``handle`` (a binary file object), read
    once; ``progress(bytes so far)`` after each chunk.

    Beyond one chunk the hashing runs on a second thread while the next chunk is read
    (``hashlib`` and the read both release the GIL). ``direct``: read with ``O_DIRECT`` where
    the file system allows, from the disk straight into the hash: for a large file the page
    cache has lost, as a container's memory limit makes it lose what the container wrote
    (measured: 2 GiB made, passed and hashed, 11.8-12.3 s against 12.0-15.8 s through the
    page cache); otherwise, and as the fallback, through the page cache, the kernel asked to
    read ahead."""
    if os.fstat(handle.fileno()).st_size - handle.tell() < _HASH_CHUNK:
        return _sha256_small(handle, progress)  # no buffers, no thread: the common case
    reads = _direct_reads(handle) if direct else None
    if reads is not None:
        start = os.lseek(handle.fileno(), 0, os.SEEK_CUR)
        try:
            data = reads(0)
        except OSError:  # O_DIRECT opened but refused on read: through the page cache
            os.lseek(handle.fileno(), start, os.SEEK_SET)
            reads = None
    if reads is None:
        reads = _buffered_reads(handle)
        data = reads(0)
    digest, done, i = hashlib.sha256(), 0, 0
    with ThreadPoolExecutor(1, thread_name_prefix="sha256") as hasher:
        pending = None
        while data:
            if pending is not None:
                pending.result()  # the other buffer is free again, the digest in order
            pending = hasher.submit(digest.update, data)
            done += len(data)
            if progress is not None:
                progress(done)
            i ^= 1
            data = reads(i)
        if pending is not None:
            pending.result()
    return digest.hexdigest()


class _Buffers:
    """Two page-aligned chunk buffers, each mapped when first asked for."""

    def __init__(self) -> None:
        self._maps: list[mmap.mmap | None] = [None, None]

    def __getitem__(self, i: int) -> mmap.mmap:
        if self._maps[i] is None:
            self._maps[i] = mmap.mmap(-1, _HASH_CHUNK)
        return self._maps[i]


def _sha256_small(handle: Any, progress: Callable[[int], None] | None) -> str:
    """``sha256_read`` of a file under one chunk: read as it comes, to its end (it may have
    grown since its size was read)."""
    digest, done = hashlib.sha256(), 0
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done)
    return digest.hexdigest()


def _buffered_reads(handle: Any) -> Reads:
    """Reads into two buffers in turn, through the page cache, the kernel asked to read
    ahead. The buffers are anonymous maps made when first used, so only the pages a read
    fills are touched."""
    buffers = _Buffers()
    fd, ahead = handle.fileno(), 0  # ahead: the end of what the kernel was asked to read

    def read(i: int) -> memoryview:
        nonlocal ahead
        with contextlib.suppress(OSError):  # advice only (not every file is on a disk)
            at = os.lseek(fd, 0, os.SEEK_CUR)  # where the next read starts
            if ahead < at + _HASH_CHUNK:
                ahead = max(ahead, at)
                os.posix_fadvise(fd, ahead, _READ_AHEAD, os.POSIX_FADV_WILLNEED)
                ahead += _READ_AHEAD
        return memoryview(buffers[i])[:handle.readinto(buffers[i]) or 0]
    return read


def _direct_reads(handle: Any) -> Reads | None:
    """Reads into two page-aligned buffers in turn with ``O_DIRECT`` (the same open file,
    opened again through ``/proc/self/fd``, so no path is looked up), the handle's position
    kept in step; None where that cannot be (not Linux, a file system without it, an
    unaligned position, a buffered handle)."""
    if not isinstance(handle, io.RawIOBase):  # its position is kept on the file descriptor
        return None
    fd = handle.fileno()
    offset = os.lseek(fd, 0, os.SEEK_CUR)
    if offset % _DIRECT_ALIGN or not hasattr(os, "O_DIRECT"):
        return None
    try:
        direct = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_DIRECT | os.O_CLOEXEC)
    except OSError:
        return None
    buffers = _Buffers()
    closing = weakref.finalize(buffers, os.close, direct)

    def read(i: int) -> memoryview:
        nonlocal offset
        try:
            n = os.preadv(direct, [buffers[i]], offset)
        except OSError:
            closing()
            raise
        offset += n
        os.lseek(fd, offset, os.SEEK_SET)
        if not n:
            closing()
        return memoryview(buffers[i])[:n]
    return read


class File:
    """A file: ``path``, ``name``, ``size``, ``sha256`` (memoised), ``read_bytes()``..."""

    __slots__ = ("_path", "_sha256", "_size", "_fixed", "_stamp")

    def __init__(self, path: str | os.PathLike[str], *, sha256: str | None = None,
                 size: int | None = None) -> None:
        if isinstance(path, File):
            if path._fixed:
                sha256 = sha256 or path._sha256
                size = path._size if size is None else size
            path = path.path
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise TypeError(f"File needs a path (str or os.PathLike), got {path!r}")
        self._path = Path(os.path.abspath(os.fspath(path)))
        self._sha256 = sha256
        self._size = size
        #: Given a hash (a stored artifact): trusted. Else the hash is kept with the file's
        #: (size, mtime, inode) and computed again when the file changes under it.
        self._fixed = sha256 is not None
        self._stamp: tuple[int, int, int] | None = None

    @property
    def path(self) -> Path:
        """The absolute path of the file on this machine."""
        return self._path

    @property
    def name(self) -> str:
        """The file name (the last part of the path)."""
        return self._path.name

    def _fresh(self) -> None:
        if self._fixed:
            return
        info = self._path.stat()
        stamp = (info.st_size, info.st_mtime_ns, info.st_ino)
        if stamp != self._stamp:
            self._stamp, self._size, self._sha256 = stamp, info.st_size, None

    @property
    def size(self) -> int:
        """The size in bytes."""
        if self._size is None or not self._fixed:
            self._fresh()
        if self._size is None:
            self._size = self._path.stat().st_size
        return self._size

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of the contents (computed on first use, again if the file changed)."""
        self._fresh()
        if self._sha256 is None:
            self._sha256 = sha256_of(self._path)
        return self._sha256

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, name: str) -> File:
        """A new file called ``name`` holding ``data``, kept in the artifact store (how a
        ``@process`` function makes an output file)."""
        from ..cache.artifacts import ArtifactStore

        return ArtifactStore().put_bytes(data, name)

    @classmethod
    def from_text(cls, text: str, name: str, encoding: str = "utf-8") -> File:
        """A new file called ``name`` holding ``text``, kept in the artifact store."""
        return cls.from_bytes(text.encode(encoding), name)

    def exists(self) -> bool:
        """Whether the path names a regular file."""
        return self._path.is_file()

    def read_bytes(self) -> bytes:
        """The contents as bytes (``NotAFileError`` unless it is a regular file)."""
        with _open_regular(self._path) as handle:
            return handle.read()

    def read_text(self, encoding: str = "utf-8") -> str:
        """The contents as text."""
        return self.read_bytes().decode(encoding)

    def to_json(self) -> dict[str, str]:
        """The wire form ``{"$file": PATH}``."""
        return {FILE_KEY: str(self._path)}

    def __fspath__(self) -> str:
        return str(self._path)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, File):
            return NotImplemented
        return self._path == other._path or self.sha256 == other.sha256

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __repr__(self) -> str:
        try:
            detail = f"{self.size} bytes, sha256 {self.sha256[:12]}"
        except OSError:
            detail = not_a_file(self._path) or "unreadable"
        return f"File({self.name!r}, {detail})"

    def __reduce__(self) -> tuple[Any, ...]:
        if self._fixed:
            return (_rebuild, (str(self._path), self._sha256, self._size))
        return (_rebuild, (str(self._path), None, None))


def _rebuild(path: str, sha256: str | None, size: int | None) -> File:
    return File(path, sha256=sha256, size=size)


def is_file_json(value: Any) -> bool:
    """Whether ``value`` is the wire form ``{"$file": PATH}`` (a one-key dict with a string)."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(FILE_KEY), str)


def file_of(value: Any) -> File | None:
    """The ``File`` a value stands for (a ``File`` or ``{"$file": PATH}``), else None."""
    if isinstance(value, File):
        return value
    if is_file_json(value):
        return File(value[FILE_KEY])
    return None


def map_leaves(value: Any, match: Callable[[Any], bool], change: Callable[[Any], Any]) -> Any:
    """``value`` with every part that ``match``es, inside dicts, lists and tuples, changed."""
    if match(value):
        return change(value)
    if isinstance(value, dict):
        return {k: map_leaves(v, match, change) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [map_leaves(v, match, change) for v in value]
    return value


def map_files(value: Any, change: Callable[[Any], Any], *, json_form: bool = True) -> Any:
    """``value`` with every file (``File``, and ``{"$file": ...}`` if ``json_form``) changed."""
    return map_leaves(value, lambda v: isinstance(v, File) or (json_form and is_file_json(v)),
                      change)


def files_in(value: Any, *, json_form: bool = True) -> list[Any]:
    """Every file in a value (``File`` objects, and ``{"$file": ...}`` if ``json_form``)."""
    found: list[Any] = []

    def collect(item: Any) -> Any:
        found.append(item)
        return item

    map_files(value, collect, json_form=json_form)
    return found


def file_hint(example: Any) -> str | None:
    """The extension hint of a file port's example (``".csv"``), ``""`` if none; None: not
    a file port."""
    found = example if isinstance(example, File) else None
    if found is None and not is_file_json(example):
        return None
    name = found.name if found is not None else os.path.basename(example[FILE_KEY])
    return os.path.splitext(name)[1]


def key_form(value: Any) -> Any:
    """``value`` with each ``File`` as ``{"$file": SHA256}``: what a cache key hashes (the
    contents, never the path or the time)."""
    return map_files(value, lambda f: {FILE_KEY: f.sha256}, json_form=False)


def json_default(value: Any) -> Any:
    """``json.dumps(default=...)`` for display: a ``File`` as ``{"$file": PATH, "sha256": ..,
    "size": ..}``. Not for storage: there, ``to_stored`` keeps files and data apart."""
    if isinstance(value, File):
        return _stored_file(value)
    raise TypeError(f"{type(value).__name__} {value!r:.60} is not JSON")


def _stored_file(value: File) -> dict[str, Any]:
    return {FILE_KEY: str(value.path), "sha256": value.sha256, "size": value.size}


def _is_stored_file(value: dict[str, Any]) -> bool:
    return (len(value) == 3 and isinstance(value.get(FILE_KEY), str)
            and isinstance(value.get("sha256"), str) and isinstance(value.get("size"), int)
            and not isinstance(value.get("size"), bool))


def to_stored(value: Any) -> Any:
    """``value`` ready for ``json.dumps`` in the cache and history: a ``File`` becomes
    ``{"$file": PATH, "sha256": .., "size": ..}`` and every other object with a key starting
    with ``$`` is wrapped as ``{"$object": {...}}``. So whatever a process returns (a crafted
    ``{"$file": "/etc/passwd", ...}`` included) comes back from ``from_stored`` as the same
    data, and only a ``File`` comes back as a file."""
    if isinstance(value, File):
        return _stored_file(value)
    if isinstance(value, dict):
        inner = {k: to_stored(v) for k, v in value.items()}
        if any(isinstance(k, str) and k.startswith("$") for k in inner):
            return {ESCAPE_KEY: inner}
        return inner
    if isinstance(value, (list, tuple)):
        return [to_stored(v) for v in value]
    return value


class _HasFile(Exception):
    """A value holds a ``File``: it takes ``to_stored``'s walk."""


def _no_file(value: Any, other: Callable[[Any], Any] | None) -> Any:
    if isinstance(value, File):
        raise _HasFile
    if other is None:
        raise TypeError(f"{type(value).__name__} {value!r:.60} is not JSON")
    return other(value)


def stored_json(value: Any, *, other: Callable[[Any], Any] | None = None) -> str:
    """``json.dumps(to_stored(value))`` (keys sorted, no spaces), without ``to_stored``'s walk
    for the common value that holds no ``File`` and no ``"$`` at all (its text says so).
    ``other`` turns a value JSON cannot hold into one it can (else ``TypeError``)."""
    options: dict[str, Any] = {"sort_keys": True, "separators": (",", ":")}
    try:
        text = json.dumps(value, default=lambda v: _no_file(v, other), **options)
    except _HasFile:
        text = None
    if text is not None and '"$' not in text:
        return text
    return json.dumps(to_stored(value), default=other, **options)


def loads_stored(text: str) -> Any:
    """``from_stored(json.loads(text))``, without the walk when the text has no ``"$``."""
    value = json.loads(text)
    return value if '"$' not in text else from_stored(value)


def from_stored(value: Any) -> Any:
    """The value ``to_stored`` made (after ``json.loads``): files back as ``File`` objects.

    A top-level ``{"$legacy": ...}`` (history written before ``to_stored`` existed, where a
    process's output could not be told from a file) comes back as plain data, with no files.
    """
    if isinstance(value, dict) and len(value) == 1 and LEGACY_KEY in value:
        return value[LEGACY_KEY]
    return _from_stored(value)


def _from_stored(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get(ESCAPE_KEY), dict):
            return {k: _from_stored(v) for k, v in value[ESCAPE_KEY].items()}
        if _is_stored_file(value):
            return File(value[FILE_KEY], sha256=value["sha256"], size=value["size"])
        return {k: _from_stored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_stored(v) for v in value]
    return value


class Files:
    """Several files at once: ``Files.glob("data/*.csv")`` is every CSV of a folder, found
    again at each run (so a file added to the folder is one more element of a scatter)."""

    @staticmethod
    def glob(pattern: str | os.PathLike[str]) -> Glob:
        """The files matching ``pattern`` (relative to the current directory), sorted by path."""
        return Glob(pattern)


class Glob:
    """A pattern of files, resolved when a run reads it (``files()``); ``{"glob": PATTERN}``
    in a spec. Two globs are equal when their patterns are."""

    __slots__ = ("pattern",)

    def __init__(self, pattern: str | os.PathLike[str]) -> None:
        text = os.fspath(pattern)
        if not isinstance(text, str) or not text:
            raise TypeError(f"a glob needs a pattern (a str), got {pattern!r}")
        #: The absolute pattern (a relative one is taken from the current directory).
        self.pattern = text if os.path.isabs(text) else os.path.join(os.getcwd(), text)

    def files(self) -> list[File]:
        """The regular files that match now, sorted by path."""
        import glob as globbing

        return [File(p) for p in sorted(globbing.glob(self.pattern)) if os.path.isfile(p)]

    @property
    def folder(self) -> str:
        """The folder the pattern looks in (its part before the first wildcard)."""
        head = self.pattern
        while any(c in head for c in "*?["):
            head = os.path.dirname(head)
        return head

    def to_spec(self) -> dict[str, str]:
        """``{"glob": PATTERN}``, relative to the current directory when under it."""
        try:
            return {"glob": os.path.relpath(self.pattern) if self.pattern.startswith(
                os.getcwd() + os.sep) else self.pattern}
        except ValueError:
            return {"glob": self.pattern}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Glob) and self.pattern == other.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"Files.glob({self.to_spec()['glob']!r})"
