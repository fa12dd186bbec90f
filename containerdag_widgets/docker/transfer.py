"""The files of one container call: placed in the warm container, copied out, removed.

The engine cannot copy an archive into a tmpfs (``/tmp`` of a hardened warm container), so
the bytes travel as the stdin and stdout of small commands run in the container through the
pool's transport (the resident runner's stream, or one exec each): ``dd`` writes an input
file, ``realpath``/``stat`` check an output, ``head -c`` reads it, ``rm -rf`` removes the call's
directory. Every command is an argv list; nothing goes through a shell.

A call's directory is ``<root>/<call id>`` (``STREAMED_ROOT``: in the warm container's work
volume, on the engine's disk): ``in/<n>/<name>`` holds the n-th input file under its own name,
``out`` is ``$CONTAINERDAG_OUTPUT_DIR``.

Names travel as UTF-8 (the engine's API and the process's JSON carry nothing else): an input
whose name has bytes that are not UTF-8 is placed under its name with each such byte as U+FFFD
(its contents intact); an output file name that is not UTF-8 is a ``FileError``
(``reason="name"``) naming the port and the name as bytes (``caf\\xe9.csv``).
"""

from __future__ import annotations

import contextlib
import mmap
import posixpath
import stat
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..cache.artifacts import ArtifactStore, FileTooLarge, Incoming
from ..model.errors import FileError, excerpt
from ..model.files import (
    FILE_KEY,
    NOT_FILES,
    File,
    is_file_json,
    map_files,
    not_a_file,
    shown_name,
    size_limit,
    utf8_name,
)
from .exec import ExecOutcome

__all__ = ["CallFiles", "FILES_ROOT", "STREAMED_ROOT", "OUTPUT_DIR_ENV", "CHUNK",
           "kind_of_mode"]

#: Where the calls' directories are made in a container without a work volume (its tmpfs).
FILES_ROOT = "/tmp/containerdag-files"
#: Where they are made in a warm container's work volume (``workarea.WorkArea``, streamed).
STREAMED_ROOT = "/containerdag-work/out"
#: The environment variable naming the directory a call writes its output files in.
OUTPUT_DIR_ENV = "CONTAINERDAG_OUTPUT_DIR"
#: Bytes of an input file sent per command (each chunk is one frame of the runner's stream).
CHUNK = 16 * 2**20
#: Files from this size on move by one exec each (``bulk``), streamed: the engine's exec
#: stream is faster than the runner's frames for large payloads.
BULK = 4 * 2**20

#: ``run(argv, stdin, max_output)``: one command in the call's warm container.
Run = Callable[[list[str], bytes, int], ExecOutcome]
#: ``bulk(argv, stdin, max_output, on_stdout)``: the same by one exec; stdout to ``on_stdout``.
Bulk = Callable[[list[str], Any, int, Callable[[bytes], None] | None], ExecOutcome]


class CallFiles:
    """The input and output files of one call in one warm container."""

    def __init__(self, run: Run, *, process: str, image: str,
                 store: ArtifactStore | None = None, bulk: Bulk | None = None,
                 small_first: bool = False, tidy: Run | None = None, root: str = FILES_ROOT,
                 progress: Callable[[str, int, int], None] | None = None):
        self._run = run
        self._bulk = bulk
        #: Runs the removal: not bound by the call's cancel or deadline, which may be past.
        self._tidy = tidy or run
        #: ``run`` is cheap (the resident runner): an output is first read by it, and by
        #: ``bulk`` only when it is larger than ``BULK``.
        self.small_first = small_first
        self.process = process
        self.image = image
        self.store = store or ArtifactStore()
        self.dir = f"{root}/{uuid.uuid4().hex}"
        self.out = f"{self.dir}/out"
        self._made = False
        #: ``progress(what, done, total)``: bytes of a file moved so far (``NodeProgress``).
        self.progress = progress

    def moved(self, what: str, done: int, total: int) -> None:
        """Say how far a file's bytes went (``what``: ``"input data (big.csv)"``)."""
        if self.progress is not None:
            self.progress(what, done, total)

    @property
    def environment(self) -> dict[str, str]:
        """The call's environment: ``CONTAINERDAG_OUTPUT_DIR``."""
        return {OUTPUT_DIR_ENV: self.out}

    def _command(self, argv: list[str], stdin: Any = b"", *, max_output: int = 2**20,
                 what: str, port: str | None = None, path: str | None = None,
                 on_stdout: Callable[[bytes], None] | None = None) -> bytes:
        if on_stdout is not None or len(stdin) >= BULK:
            assert self._bulk is not None
            outcome = self._bulk(argv, stdin, max_output, on_stdout)
        else:  # a small mapped file is copied: the runner's stream takes bytes
            outcome = self._run(argv, bytes(stdin), max_output)
        if outcome.exit_code != 0 or outcome.killed is not None:
            said = excerpt(outcome.stderr) if outcome.stderr.strip() else "nothing on stderr"
            hint = ((" (the files of a call live in the container's /tmp: give the image a "
                     "larger tmpfs with the label containerdag.tmp_size)"
                     if self.dir.startswith("/tmp/") else " (the engine's disk is full)")
                    if b"No space left" in outcome.stderr else "")
            raise FileError(f"{what} failed in image {self.image!r} ({argv[0]} exited with "
                            f"{outcome.exit_code}{', ' + outcome.killed if outcome.killed else ''}"
                            f": {said}){hint}", process=self.process, reason="transfer",
                            port=port, path=path)
        return outcome.stdout

    def place(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Copy each input ``File`` into the container; the inputs with ``{"$file": PATH}``
        (the path in the container) in their place."""
        files = input_files(inputs, process=self.process)
        dirs = [f"{self.dir}/in/{n}" for n in range(len(files))]
        where = {id(found): f"{dirs[n]}/{utf8_name(found.name)}"
                 for n, (_, found) in enumerate(files)}
        self._made = True
        if self.small_first or self._bulk is None or not files:
            self._command(["mkdir", "-p", "--", self.out, *dirs],
                          what="making the call's directory")
            for port, found in files:
                self._put(found, where[id(found)], port)
        else:  # an exec each: the output directory is made while the inputs go in
            with ThreadPoolExecutor(1, thread_name_prefix="containerdag mkdir") as side:
                making = side.submit(self._command, ["mkdir", "-p", "--", self.out],
                                     what="making the call's directory")
                for port, found in files:
                    self._install(found, where[id(found)], port)
                making.result()
        return {port: map_files(value, lambda f: {FILE_KEY: where[id(f)]}, json_form=False)
                for port, value in inputs.items()}

    def _install(self, found: File, target: str, port: str) -> None:
        """Copy an input in by one command that also makes its directory (``install -D``)."""
        with open(found.path, "rb") as handle, contextlib.ExitStack() as stack:
            if found.size:
                mapped = stack.enter_context(
                    mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
                data: Any = memoryview(mapped)
                stack.callback(data.release)
            else:
                data = b""
            self._command(["install", "-D", "-m", "644", "/dev/stdin", target], data,
                          what=f"copying input {port!r} ({found.name!r}) in", port=port,
                          path=str(found.path))
        self.moved(f"input {port} ({found.name})", found.size, found.size)

    def _put(self, found: File, target: str, port: str) -> None:
        what = f"copying input {port!r} ({found.name!r}) in"
        if self._bulk is not None and found.size >= BULK:  # one exec, the file mapped
            with open(found.path, "rb") as handle, \
                    mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                view = memoryview(mapped)
                try:
                    self._command(["dd", f"of={target}", "bs=1M", "status=none"], view,
                                  what=what, port=port, path=str(found.path))
                finally:
                    view.release()
            self.moved(f"input {port} ({found.name})", found.size, found.size)
            return
        with open(found.path, "rb") as handle:
            chunk = handle.read(CHUNK)
            argv = ["dd", f"of={target}", "bs=1M", "status=none"]  # the first chunk, or empty
            done = 0
            while True:
                self._command(argv, chunk, what=what, port=port, path=str(found.path))
                done += len(chunk)
                self.moved(f"input {port} ({found.name})", done, found.size)
                chunk = handle.read(CHUNK)
                if not chunk:
                    return
                argv = ["dd", f"of={target}", "bs=1M", "status=none", "oflag=append",
                        "conv=notrunc"]

    def collect(self, outputs: Any) -> Any:
        """The outputs with each ``{"$file": PATH}`` copied out into the artifact store (a
        ``File`` there). ``FileError`` for a path outside the call's directory, a missing
        file, or one over the size limit."""
        if not isinstance(outputs, dict):
            return outputs
        named: list[tuple[str, str]] = []
        for port, value in outputs.items():
            map_files(value, lambda v, p=port: named.append((p, v[FILE_KEY])) or v)
        if not named:
            return outputs
        for port, path in named:  # a relative path is taken from the output directory
            if "\0" in path:
                raise self._outside(port, path)
            self._check_name(port, path, path)
        full = [posixpath.join(self.out, path) for _, path in named]

        def resolve() -> list[bytes]:
            return self._command(["realpath", "-z", "-m", "--", self.out, *full],
                                 what="resolving the output files").split(b"\0")

        pending: dict[str, Incoming] = {}
        try:  # resolved first, then copied (an exec each beside one another was not faster)
            real = self._inside(named, resolve())
            sizes = self._regular(named, real)  # a FIFO, a device...: refused before any read
            for port, path in named:
                if path not in pending:
                    pending[path] = self._fetch(port, path, real[path], sizes[path])
        except BaseException:
            for incoming in pending.values():
                incoming.abort()
            raise
        stored = {path: incoming.finish() for path, incoming in pending.items()}
        return map_files(outputs, lambda v: stored[v[FILE_KEY]])

    def _inside(self, named: list[tuple[str, str]], resolved: list[bytes]) -> dict[str, str]:
        """The resolved path of each output; ``FileError`` for one outside the directory."""
        base = resolved[0].decode("utf-8", "surrogateescape")
        real: dict[str, str] = {}
        for (port, path), found in zip(named, resolved[1:], strict=False):
            text = found.decode("utf-8", "surrogateescape")
            if not text.startswith(base + "/"):
                raise self._outside(port, path)
            self._check_name(port, path, text)  # e.g. a link to a file named otherwise
            real[path] = text
        return real

    def _check_name(self, port: str, path: str, name: str) -> None:
        """``FileError`` (``reason="name"``) for an output whose file name is not UTF-8."""
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise FileError(f"output {port!r}: the file name '{shown_name(name)}' is not UTF-8 "
                            "text; name output files in UTF-8 (names reach the engine as UTF-8)",
                            process=self.process, reason="name", port=port,
                            path=shown_name(path)) from None

    def _regular(self, named: list[tuple[str, str]], real: dict[str, str]) -> dict[str, int]:
        """The size of each output, checked to be a regular file before anything reads it
        (reading a FIFO would block, a device would never end): one ``stat`` for them all.
        ``FileError`` naming the port, the path and what it is otherwise."""
        paths = list(dict.fromkeys(real[path] for _, path in named))
        argv = ["stat", "-L", "-c", "%f %s", "--"]  # the mode in hex, the size
        seen = self._run([*argv, *paths], b"", 2**16 + 64 * len(paths))
        lines = seen.stdout.decode(errors="replace").splitlines()
        if seen.exit_code != 0 or len(lines) != len(paths):  # one is missing: ask each
            lines = []
            for one in paths:
                alone = self._run([*argv, one], b"", 2**16)
                lines.append(alone.stdout.decode(errors="replace") if alone.exit_code == 0
                             else "")
        found = dict(zip(paths, lines, strict=True))
        sizes: dict[str, int] = {}
        for port, path in named:
            mode, _, size = found[real[path]].strip().partition(" ")
            try:
                kind = kind_of_mode(int(mode, 16))
            except ValueError:
                raise FileError(f"output {port!r}: {path!r} is not there, not a file written "
                                f"under {OUTPUT_DIR_ENV}", process=self.process,
                                reason="missing", port=port, path=path) from None
            if kind is not None:
                raise self._not_regular(port, path, kind)
            sizes[path] = int(size) if size.isdigit() else 0
        return sizes

    def _not_regular(self, port: str, path: str, kind: str) -> FileError:
        """An output that is ``kind`` (a FIFO, a directory...), refused before any read."""
        return FileError(f"output {port!r}: {path!r} is {kind}, not a regular file; write the "
                         f"output file itself under {OUTPUT_DIR_ENV} (it was not read)",
                         process=self.process, reason="not_a_file", port=port, path=path,
                         kind=kind)

    def _fetch(self, port: str, path: str, real: str, size: int) -> Incoming:
        """Copy one output file out of the container (a regular file of ``size`` bytes, as
        ``_regular`` saw it): its bytes written and hashed as they arrive; the caller finishes
        or aborts it. ``head -c LIMIT+1`` reads it, so a file over the size limit ends the
        command by itself (nothing to kill)."""
        limit = size_limit()
        incoming = self.store.incoming(posixpath.basename(real))
        argv = ["head", "-c", str(limit + 1), "--", real]
        what = f"output {port} ({posixpath.basename(real)})"

        def write(chunk: bytes) -> None:
            incoming.write(chunk)
            self.moved(what, incoming.size, size)

        try:
            small = self._bulk is None or (self.small_first and size < BULK)
            if small:  # one cheap command through the runner
                outcome = self._run(argv, b"", limit + 1)
                if outcome.exit_code == 0 and outcome.killed is None:
                    write(outcome.stdout)
            else:  # by one exec, streamed
                assert self._bulk is not None
                outcome = self._bulk(argv, b"", limit + 1, write)
            if outcome.exit_code != 0 or outcome.killed is not None:
                raise self._not_copied(port, path, real, outcome, limit)
            return incoming
        except FileTooLarge:
            incoming.abort()
            raise self._not_copied(port, path, real, None, limit) from None
        except BaseException:
            incoming.abort()
            raise

    def _not_copied(self, port: str, path: str, real: str, outcome: ExecOutcome | None,
                    limit: int) -> FileError:
        """Why an output was not copied: not there, not a file, over the limit, other."""
        seen = self._run(["stat", "-L", "-c", "%F|%s", "--", real], b"", 2**16)
        kind, _, size = seen.stdout.decode(errors="replace").strip().rpartition("|")
        if seen.exit_code != 0 or kind != "regular file":
            what = "not there" if seen.exit_code != 0 else f"a {kind}"
            return FileError(f"output {port!r}: {path!r} is {what}, not a file written under "
                             f"{OUTPUT_DIR_ENV}", process=self.process, reason="missing",
                             port=port, path=path)
        if outcome is None or outcome.killed == "output" or int(size or 0) > limit:
            return FileError(f"output {port!r}: file {path!r} is {size} bytes, over the limit "
                             f"of {limit} (CONTAINERDAG_FILE_LIMIT)", process=self.process,
                             reason="too_large", port=port, path=path)
        return FileError(f"copying output {port!r} out failed in image {self.image!r} (head "
                         f"exited with {outcome.exit_code}: {excerpt(outcome.stderr)})",
                         process=self.process, reason="transfer", port=port, path=path)

    def _outside(self, port: str, path: str) -> FileError:
        return FileError(f"output {port!r}: {path!r} is outside the call's output directory "
                         f"({OUTPUT_DIR_ENV}={self.out}); write output files under it",
                         process=self.process, reason="outside", port=port, path=path)

    def remove(self) -> None:
        """Remove the call's directory from the container (what was made of it)."""
        if self._made:
            with contextlib.suppress(Exception):
                self._tidy(["rm", "-rf", "--", self.dir], b"", 2**16)


def kind_of_mode(mode: int) -> str | None:
    """None for a regular file, else what ``mode`` is, in words (``"a FIFO (named pipe)"``)."""
    if stat.S_ISREG(mode):
        return None
    for test, words in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                        (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                        (stat.S_ISBLK, "a block device")):
        if test(mode):
            return words
    return "not a regular file"


def input_files(inputs: dict[str, Any], *, process: str) -> list[tuple[str, File]]:
    """Each input ``File`` with its port, checked first: a regular file (never opened here:
    a FIFO would block), there, not over the size limit; ``FileError`` naming it otherwise."""
    files: list[tuple[str, File]] = []
    for port, value in inputs.items():
        map_files(value, lambda found, p=port: files.append((p, found)) or found,
                  json_form=False)
    limit = size_limit()
    for port, found in files:
        shown = shown_name(found.path)
        what = not_a_file(found.path)
        if what in NOT_FILES:
            raise FileError(f"input {port!r}: '{shown}' is {what}, not a regular file",
                            process=process, reason="not_a_file", port=port,
                            path=str(found.path), kind=what)
        if what is not None:
            said = "does not exist" if what == "missing" else f"is {what}"
            raise FileError(f"input {port!r}: file '{shown}' {said}", process=process,
                            reason="missing", port=port, path=str(found.path))
        if found.size > limit:
            raise FileError(f"input {port!r}: file '{shown}' is {found.size} bytes, over the "
                            f"limit of {limit} (CONTAINERDAG_FILE_LIMIT)", process=process,
                            reason="too_large", port=port, path=str(found.path))
    return files


def has_files(inputs: dict[str, Any], outputs: dict[str, Any]) -> bool:
    """Whether a call moves files: a ``File`` among its inputs or a file output port."""
    if any(isinstance(v, File) or is_file_json(v) for v in outputs.values()):
        return True
    found: list[Any] = []
    for value in inputs.values():
        map_files(value, lambda f: found.append(f) or f, json_form=False)
    return bool(found)
