"""ContainerProcess: a process declared by an image label, called in a warm container.

A process whose image also declares a keep-loaded server (``process.<name>.serve``) is asked
through that server; the pool's transport falls back to the one-shot command when it cannot.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import threading
from typing import TYPE_CHECKING, Any

from ..cache.keys import description_part
from ..model.errors import (
    Cancelled,
    FileError,
    OutputTooLarge,
    ProcessFailed,
    ProcessTimeout,
    ProtocolError,
    excerpt,
)
from ..model.files import FILE_KEY, File, files_in
from ..processes.base import (
    Execution,
    LogSink,
    Process,
    ProgressSink,
    copy_sharing,
    deepcopy_sharing,
)
from .disk_files import DiskFiles
from .transfer import FILES_ROOT, OUTPUT_DIR_ENV, STREAMED_ROOT, CallFiles, has_files

if TYPE_CHECKING:
    from .pool import ContainerPool
    from .runner import Serve

__all__ = ["ContainerProcess", "parse_json_object"]

#: Seconds the removal of a call's files may take (after a cancel or timeout too).
TIDY_TIMEOUT = 30.0


def parse_json_object(raw: bytes) -> dict[str, Any] | None:
    """The JSON object printed on ``raw``, or None if it is not exactly one JSON object."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None  # RecursionError: nested deeper than the parser goes
    return value if isinstance(value, dict) else None


class ContainerProcess(Process):
    """A process run as ``command`` (argv, split with shlex) inside an image's warm container."""

    def __init__(self, *, name: str, description: str, inputs: dict[str, Any],
                 outputs: dict[str, Any], image: str, image_id: str, command: list[str],
                 pool: ContainerPool, max_output: int = 8 * 2**20,
                 max_stderr: int = 64 * 2**20, serve: Serve | None = None):
        super().__init__(name=name, description=description, inputs=inputs, outputs=outputs,
                         source=image)
        self.image = image
        self.image_id = image_id
        self.command = list(command)
        self.pool = pool
        self.max_output = max_output
        self.max_stderr = max_stderr
        #: The keep-loaded server that answers this process's calls, if its image has one.
        self.serve = serve

    #: How its image's warm container runs (``ContainerSettings``, labels applied); set at
    #: discovery.
    settings: Any = None

    def key_parts(self) -> dict[str, Any] | None:
        """Its image by content ID (a rebuilt tag is another image) and its argv; None
        without an image ID."""
        if not self.image_id:
            return None
        return {"kind": "container", "name": self.name, "image": self.image,
                "image_id": str(self.image_id), "argv": [str(a) for a in self.command],
                "description": description_part(self)}

    def image_command(self) -> tuple[str, str, list[str]]:
        return self.image, self.image_id, list(self.command)

    def details(self) -> dict[str, str]:
        found = {"command": shlex.join(self.command)}
        if self.serve is not None:
            found["keep-loaded server"] = (
                f"{shlex.join(self.serve.command)} (asked for {self.serve.process!r}, up to "
                f"{self.serve.instances} at once per container)")
        if self.settings is not None:
            found["container"] = self.settings.summary()
        work = getattr(self.pool, "work", None)  # a Dask worker's pool: the worker says
        if work is not None:
            found["files"] = work.describe()
        return found

    def _call(self, inputs: dict[str, Any], *, timeout: float | None,
              cancel: threading.Event | None, on_log: LogSink | None,
              on_progress: ProgressSink | None = None) -> Execution:
        calling = getattr(self.pool, "calling", None)  # (a Dask worker's pool: none)
        with (calling(self.image_id, self.image) if calling is not None
              else contextlib.nullcontext()):
            return self._call_in(inputs, timeout=timeout, cancel=cancel, on_log=on_log,
                                 on_progress=on_progress)

    def _call_in(self, inputs: dict[str, Any], *, timeout: float | None,
                 cancel: threading.Event | None, on_log: LogSink | None,
                 on_progress: ProgressSink | None = None) -> Execution:
        if not has_files(inputs, self.outputs):
            return self._call_json(inputs, timeout=timeout, cancel=cancel, on_log=on_log)
        files = self.call_files(timeout=timeout, cancel=cancel, progress=on_progress)
        result = None
        try:
            given = files.place(inputs)
            # Not through a keep-loaded server: its environment is its own, not the call's.
            try:
                result = self._call_json(given, timeout=timeout, cancel=cancel, on_log=on_log,
                                         environment=files.environment, serve=False)
            except ProcessFailed as exc:
                full = files.out_of_space() if isinstance(files, DiskFiles) else None
                if full is not None:
                    full.log = exc.log
                    raise full from exc
                raise
            result.outputs = files.collect(result.outputs)
            return result
        except FileError as exc:
            if result is not None:
                exc.log = result.log
            raise
        finally:
            files.remove()

    def call_files(self, *, timeout: float | None = None, cancel: threading.Event | None = None,
                   progress: ProgressSink | None = None) -> CallFiles | DiskFiles:
        """The file transport of one call in this process's warm container."""
        # Taken here, in the calling thread: on a Dask worker the pool is found from the
        # task's thread, and the transport may run commands from a thread of its own.
        pool = self.pool
        resolve = getattr(pool, "resolve", None)  # a WorkerPoolRef: the worker's own pool
        if resolve is not None:
            pool = resolve()

        def run(argv: list[str], stdin: bytes, max_output: int) -> Any:
            return pool.exec(self.image_id, self.image, argv, stdin, process=self.name,
                             timeout=timeout, cancel=cancel, max_output=max_output)

        def bulk(argv: list[str], stdin: Any, max_output: int, on_stdout: Any) -> Any:
            return pool.exec(self.image_id, self.image, argv, stdin, process=self.name,
                             timeout=timeout, cancel=cancel, max_output=max_output,
                             direct=True, on_stdout=on_stdout)

        def tidy(argv: list[str], stdin: bytes, max_output: int) -> Any:
            return pool.exec(self.image_id, self.image, argv, stdin, process=self.name,
                             timeout=TIDY_TIMEOUT, max_output=max_output)

        kind, host = pool.files_of(self.image_id, self.image, process=self.name)
        if host is not None:
            return DiskFiles(run, area=pool.work, host=host, process=self.name,
                             image=self.image, tidy=tidy, progress=progress)
        runners = getattr(pool, "runners", None)
        small_first = bool(getattr(pool, "runner", False)) and (
            runners is None or runners.fallback_reason(self.image_id) is None)
        return CallFiles(run, process=self.name, image=self.image, bulk=bulk,
                         small_first=small_first, tidy=tidy,
                         root=STREAMED_ROOT if kind == "volume" else FILES_ROOT,
                         progress=progress)

    def _call_json(self, inputs: dict[str, Any], *, timeout: float | None,
                   cancel: threading.Event | None, on_log: LogSink | None,
                   environment: dict[str, str] | None = None,
                   serve: bool = True) -> Execution:
        stdin = json.dumps(inputs, allow_nan=False).encode("utf-8")
        extra = {"environment": environment} if environment else {}
        outcome = self.pool.exec(
            self.image_id, self.image, self.command, stdin, process=self.name,
            timeout=timeout, cancel=cancel, max_output=self.max_output,
            max_stderr=self.max_stderr, on_log=on_log, serve=self.serve if serve else None,
            **extra,
        )
        log = outcome.stderr.decode("utf-8", errors="replace")
        where = f"in image {self.image!r}"
        if outcome.killed == "timeout":
            raise ProcessTimeout(f"timed out after {timeout:g} s {where}; the call was killed",
                                 process=self.name, timeout=timeout or 0.0, log=log)
        if outcome.killed == "cancelled":
            raise Cancelled(f"cancelled {where}; the call was killed", process=self.name, log=log)
        if outcome.killed == "output":
            raise OutputTooLarge(
                f"printed more than {self.max_output} bytes on stdout {where}; the call was "
                f"killed (starts with {excerpt(outcome.stdout[:200], 80)})",
                process=self.name, output=outcome.stdout[:200].decode(errors="replace"), log=log,
                stream="stdout",
            )
        if outcome.killed == "stderr":
            raise OutputTooLarge(
                f"wrote more than {self.max_stderr} bytes on stderr {where}; the call was "
                "killed (the log keeps its last part)", process=self.name, log=log,
                stream="stderr",
            )
        if outcome.exit_code != 0:
            tail = log.strip().splitlines()[-5:]
            raise ProcessFailed(
                f"exited with code {outcome.exit_code} {where}{getattr(outcome, 'note', '')}"
                + (f"; stderr: {' | '.join(tail)}" if tail else "; nothing on stderr"),
                process=self.name, exit_code=outcome.exit_code, log=log,
            )
        outputs = parse_json_object(outcome.stdout)
        if outputs is None:
            raise ProtocolError(
                f"stdout is not one JSON object {where}: {excerpt(outcome.stdout)}",
                process=self.name, output=outcome.stdout[:200].decode(errors="replace"), log=log,
            )
        return Execution(outputs, log)

    def _keep_files(self, outputs: dict[str, Any], *, log: str) -> dict[str, Any]:
        """Files come only from the call's output directory (``CallFiles.collect`` made them
        ``File`` objects already): a ``{"$file": PATH}`` still here names a path the container
        chose outside any output directory, which must never make the host read a file."""
        for port, value in outputs.items():
            for found in files_in(value):
                if isinstance(found, File):
                    continue
                raise FileError(
                    f"output {port!r}: {found[FILE_KEY]!r} names a file, but process "
                    f"{self.name!r} declares no file output, so the call had no output "
                    f"directory; declare the port with a {{\"$file\": ...}} example and write "
                    f"the file under {OUTPUT_DIR_ENV}", process=self.name, reason="outside",
                    port=port, path=found[FILE_KEY], log=log)
        return outputs

    def check_outputs(self, outputs: Any, *, log: str = "") -> None:
        try:
            super().check_outputs(outputs, log=log)
        except ProtocolError as exc:
            exc.detail += f" (image {self.image!r})"
            raise

    # A pickled process (a Dask task carries one to a worker) travels without its pool: the
    # copy runs in the warm containers of the worker where it is called (docker/worker.py),
    # started with the same container options. Copies in this process keep the pool.
    def __reduce__(self) -> tuple:
        state = {k: v for k, v in self.__dict__.items() if k != "pool"}
        return (_unpickled, (type(self), state, dict(getattr(self.pool, "options", {}))))

    def __copy__(self) -> ContainerProcess:
        return copy_sharing(self)

    def __deepcopy__(self, memo: dict) -> ContainerProcess:
        return deepcopy_sharing(self, memo, ("pool",))


def _unpickled(cls: type, state: dict[str, Any], options: dict[str, Any]) -> ContainerProcess:
    from .worker import WorkerPoolRef

    proc = object.__new__(cls)
    proc.__dict__.update(state, pool=WorkerPoolRef(options))
    return proc
