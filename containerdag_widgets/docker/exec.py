"""One command run in a running container through the Engine API's exec, without a shell.

The input bytes are written to the command's stdin over the attach socket while its stdout and
stderr are read and demultiplexed, so a process that never reads stdin cannot block us.
A call past its deadline, or cancelled, is killed.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import select
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors

__all__ = ["Collector", "ExecOutcome", "demultiplex", "exec_call"]

_HEADER = struct.Struct(">BxxxL")
STDOUT, STDERR = 1, 2
_POLL = 0.05
#: Bytes per send and receive on the attached socket.
_SEND = 262144


@dataclass
class ExecOutcome:
    exit_code: int | None
    stdout: bytes
    stderr: bytes
    #: Why the call was stopped early: ``"timeout"``, ``"cancelled"``, ``"output"`` (stdout
    #: over its limit), ``"stderr"`` (stderr over its limit) or None.
    killed: str | None = None
    #: How the kill was done: ``"pid"`` (the exec's process only), ``"container"``, or
    #: ``"runner"`` (the resident runner killed the call's process group).
    kill_method: str | None = None


def read_ahead(raw: Any) -> bytes:
    """The start of an exec's stream that the HTTP client read with the response's headers
    (its buffered reader reads past them when both arrive together, as they may from an
    engine over TCP): the raw socket docker-py hands over no longer has those bytes, and a
    frame cut there would misalign every frame after it. Call with the socket non-blocking."""
    reader = getattr(getattr(getattr(getattr(raw, "_response", None), "raw", None), "_fp",
                             None), "fp", None)
    if reader is None or not hasattr(reader, "peek"):
        return b""
    try:
        return bytes(reader.peek(1 << 16))
    except (BlockingIOError, OSError, ValueError):
        return b""


def exec_call(
    api: docker.APIClient,
    container_id: str,
    command: list[str],
    stdin: bytes,
    *,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    max_output: int = 8 * 2**20,
    max_log: int = 2**20,
    max_stderr: int = 64 * 2**20,
    environment: dict[str, str] | None = None,
    on_log: Callable[[str], None] | None = None,
    on_container_kill: Callable[[], None] | None = None,
    on_stdout: Callable[[bytes], None] | None = None,
) -> ExecOutcome:
    """Run ``command`` (an argv list) in the container with ``stdin``; return what it gave.

    stdout over ``max_output`` or stderr over ``max_stderr`` bytes stops the call; of stderr
    only the last ``max_log`` bytes are kept.
    ``on_log`` receives stderr as text, chunk by chunk, while the command runs;
    ``on_container_kill`` is called just before the whole container is killed to stop it.
    ``on_stdout`` takes stdout chunk by chunk instead of the outcome (a file copied out).
    """
    exec_id = api.exec_create(
        container_id, command, stdin=True, stdout=True, stderr=True, tty=False,
        environment=environment,
    )["Id"]
    raw = api.exec_start(exec_id, socket=True)
    sock: socket.socket = getattr(raw, "_sock", raw)
    deadline = time.monotonic() + timeout if timeout is not None else None
    collected = Collector(max_output=max_output, max_log=max_log, max_stderr=max_stderr,
                          on_log=on_log, on_stdout=on_stdout)
    pending = memoryview(stdin)
    killed = kill_method = None
    try:
        sock.setblocking(False)
        buf = bytearray(read_ahead(raw))
        if not pending:
            _close_write(sock)
        while True:
            writers = [sock] if pending else []
            readable, writable, _ = select.select([sock], writers, [], _POLL)
            if writable and pending:
                try:
                    n = sock.send(pending[:_SEND])
                    pending = pending[n:]
                except OSError as exc:  # the process exited without reading all of stdin
                    if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.EAGAIN):
                        raise
                    if exc.errno != errno.EAGAIN:
                        pending = memoryview(b"")
                if not pending:
                    _close_write(sock)
            if readable:
                try:
                    chunk = sock.recv(_SEND)
                except BlockingIOError:
                    chunk = None
                except ConnectionResetError:
                    chunk = b""
                if chunk == b"":
                    break
                if chunk:
                    buf += chunk
                    for stream, payload in demultiplex(buf):
                        if stream == STDERR:
                            collected.stderr(payload)
                        elif stream == STDOUT:
                            collected.stdout(payload)
            if killed is None:
                killed = collected.stop_reason(cancel, deadline)
                if killed is not None:
                    kill_method = _kill(api, exec_id, container_id, on_container_kill)
                    if kill_method == "container":
                        break
    finally:
        try:
            sock.close()
        finally:
            raw.close()
    exit_code = None if kill_method == "container" else _exit_code(api, exec_id)
    return collected.outcome(exit_code, killed, kill_method)


class Collector:
    """What one call printed, with the limits on its size and the live log.

    stdout over ``max_output`` or stderr over ``max_stderr`` bytes asks to stop the call
    (``stop_reason``); of stderr only the last ``max_log`` bytes are kept. ``on_log`` gets
    stderr as text, chunk by chunk. Both transports (an exec per call, the resident runner)
    collect through it, so their limits and logs are the same.
    """

    def __init__(self, *, max_output: int, max_log: int, max_stderr: int,
                 on_log: Callable[[str], None] | None,
                 on_stdout: Callable[[bytes], None] | None = None):
        self.out = bytearray()
        self.out_count = 0
        self.on_stdout = on_stdout
        self.err = bytearray()
        self.err_dropped = 0
        self.max_output, self.max_log, self.max_stderr = max_output, max_log, max_stderr
        self.on_log = on_log
        self._decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode

    def stdout(self, data: bytes) -> None:
        self.out_count += len(data)
        if self.on_stdout is not None and self.out_count <= self.max_output:
            self.on_stdout(data)
        else:
            self.out += data

    def stderr(self, data: bytes) -> None:
        if self.on_log is not None:
            self.on_log(self._decode(data))
        self.err += data
        if len(self.err) > self.max_log:  # keep the tail of long logs
            self.err_dropped += len(self.err) - self.max_log
            del self.err[:len(self.err) - self.max_log]

    def stop_reason(self, cancel: threading.Event | None, deadline: float | None) -> str | None:
        """Why the call must be stopped now (see ``ExecOutcome.killed``), or None."""
        if (self.out_count if self.on_stdout else len(self.out)) > self.max_output:
            return "output"
        if len(self.err) + self.err_dropped > self.max_stderr:
            return "stderr"
        if cancel is not None and cancel.is_set():
            return "cancelled"
        if deadline is not None and time.monotonic() > deadline:
            return "timeout"
        return None

    def outcome(self, exit_code: int | None, killed: str | None = None,
                kill_method: str | None = None) -> ExecOutcome:
        err = bytes(self.err)
        if self.err_dropped:
            err = f"[... {self.err_dropped} bytes of log dropped ...]\n".encode() + err
        return ExecOutcome(exit_code, bytes(self.out), err, killed, kill_method)


def demultiplex(buf: bytearray) -> Iterator[tuple[int, bytes]]:
    """(stream, payload) of each complete frame of an attached stream without a TTY
    (8-byte headers); the frames read are removed from ``buf``."""
    while len(buf) >= _HEADER.size:
        stream, size = _HEADER.unpack_from(buf)
        if len(buf) < _HEADER.size + size:
            return
        payload = bytes(buf[_HEADER.size:_HEADER.size + size])
        del buf[:_HEADER.size + size]
        yield stream, payload


def _close_write(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


def _exit_code(api: docker.APIClient, exec_id: str) -> int | None:
    for _ in range(100):
        info = api.exec_inspect(exec_id)
        if not info.get("Running"):
            return info.get("ExitCode")
        time.sleep(0.01)
    return None


def _kill(api: docker.APIClient, exec_id: str, container_id: str,
          before_container_kill: Callable[[], None] | None = None) -> str:
    """Kill the exec's process; when that is impossible, kill the whole container.

    The Engine API has no call to stop an exec. When the engine runs on this machine the
    exec's host PID can be signalled (after checking it belongs to this container);
    otherwise the container is killed and the pool starts a fresh one on next use.
    """
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:  # a just-started exec may not have its PID yet
        info = api.exec_inspect(exec_id)
        pid = info.get("Pid") or 0
        if pid > 0 and not info.get("Running"):
            return "pid"  # it ran and ended (its exit code may not be recorded yet)
        if pid > 0 and _pid_in_container(pid, container_id):
            try:
                os.kill(pid, signal.SIGKILL)
                return "pid"
            except ProcessLookupError:
                return "pid"  # it ended on its own meanwhile
            except PermissionError:
                break
        if not info.get("Running") and info.get("ExitCode") is not None:
            return "pid"  # already ended: nothing to kill
        if pid > 0:
            if not api.exec_inspect(exec_id).get("Running"):
                return "pid"  # it ended between the two looks
            break  # a PID we cannot reach (remote engine)
        time.sleep(0.02)
    if before_container_kill is not None:
        before_container_kill()
    with contextlib.suppress(docker.errors.APIError):
        api.kill(container_id)
    return "container"


def _pid_in_container(pid: int, container_id: str) -> bool:
    try:
        with open(f"/proc/{pid}/cgroup") as fh:
            return container_id in fh.read()
    except OSError:
        return False
