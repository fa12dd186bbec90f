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
from collections.abc import Callable
from dataclasses import dataclass

import docker
import docker.errors

__all__ = ["ExecOutcome", "exec_call"]

_HEADER = struct.Struct(">BxxxL")
_STDOUT, _STDERR = 1, 2
_POLL = 0.05


@dataclass
class ExecOutcome:
    exit_code: int | None
    stdout: bytes
    stderr: bytes
    #: Why the call was stopped early: ``"timeout"``, ``"cancelled"``, ``"output"`` (stdout
    #: over its limit), ``"stderr"`` (stderr over its limit) or None.
    killed: str | None = None
    #: How the kill was done: ``"pid"`` (the exec's process only) or ``"container"``.
    kill_method: str | None = None


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
) -> ExecOutcome:
    """Run ``command`` (an argv list) in the container with ``stdin``; return what it gave.

    stdout over ``max_output`` or stderr over ``max_stderr`` bytes stops the call; of stderr
    only the last ``max_log`` bytes are kept.
    ``on_log`` receives stderr as text, chunk by chunk, while the command runs;
    ``on_container_kill`` is called just before the whole container is killed to stop it.
    """
    exec_id = api.exec_create(
        container_id, command, stdin=True, stdout=True, stderr=True, tty=False,
        environment=environment,
    )["Id"]
    raw = api.exec_start(exec_id, socket=True)
    sock: socket.socket = getattr(raw, "_sock", raw)
    deadline = time.monotonic() + timeout if timeout is not None else None
    out = bytearray()
    err = bytearray()
    err_dropped = 0
    buf = bytearray()
    pending = memoryview(stdin)
    killed = kill_method = None
    decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
    try:
        sock.setblocking(False)
        if not pending:
            _close_write(sock)
        while True:
            writers = [sock] if pending else []
            readable, writable, _ = select.select([sock], writers, [], _POLL)
            if writable and pending:
                try:
                    n = sock.send(pending[:65536])
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
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    chunk = None
                except ConnectionResetError:
                    chunk = b""
                if chunk == b"":
                    break
                if chunk:
                    buf += chunk
                    while len(buf) >= _HEADER.size:
                        stream, size = _HEADER.unpack_from(buf)
                        if len(buf) < _HEADER.size + size:
                            break
                        payload = bytes(buf[_HEADER.size:_HEADER.size + size])
                        del buf[:_HEADER.size + size]
                        if stream == _STDERR:
                            if on_log is not None:
                                on_log(decode(payload))
                            err += payload
                            if len(err) > max_log:  # keep the tail of long logs
                                err_dropped += len(err) - max_log
                                del err[:len(err) - max_log]
                        elif stream == _STDOUT:
                            out += payload
            if killed is None:
                if len(out) > max_output:
                    killed = "output"
                elif len(err) + err_dropped > max_stderr:
                    killed = "stderr"
                elif cancel is not None and cancel.is_set():
                    killed = "cancelled"
                elif deadline is not None and time.monotonic() > deadline:
                    killed = "timeout"
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
    if err_dropped:
        err = bytearray(f"[... {err_dropped} bytes of log dropped ...]\n".encode()) + err
    return ExecOutcome(exit_code, bytes(out), bytes(err), killed, kill_method)


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
