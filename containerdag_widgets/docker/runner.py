"""The resident runner's transport: calls over one attached stream, no exec per call.

The runner (``images/runner/runner.c``, a static C program) is started once per warm
container by one long-lived exec. A ``RunnerSession`` holds that exec's stream: it sends
framed requests (start a command with its stdin, call a keep-loaded server, kill a call)
and routes the runner's reply frames (stdout, stderr, exit code) to the calls waiting for
them, several at once. A call ends as ``exec_call`` ends: an ``ExecOutcome`` collected with
the same limits (``Collector``), so the pool and ``ContainerProcess`` cannot tell the two
transports apart. A timeout, a cancel or an output over its limit sends a kill frame: the
runner kills that call's process group, inside the container, and nothing else.

One I/O thread per session owns the socket's reads (and its writes when a frame does not go
out at once); callers wait on a queue of their own frames.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import queue
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import docker

from ..model.errors import ContainerDagError, excerpt
from .exec import STDOUT, Collector, ExecOutcome, demultiplex

__all__ = ["RunnerSession", "RunnerLost", "RunnerUnavailable", "Serve", "RUNNER_PATH"]

log = logging.getLogger(__name__)

#: Where the runner is in every warm container (a read-only volume, see resident.py).
RUNNER_DIR = "/containerdag"
RUNNER_PATH = f"{RUNNER_DIR}/runner"
#: type (1 byte), call id, payload length (u32 each, big-endian): both directions.
_FRAME = struct.Struct(">BII")
_COMMAND = struct.Struct(">III")  # argc, envc, servers
_POLL = 0.05
#: Seconds a killed call may take to report its end before the session counts as lost.
_KILL_GRACE = 10.0
#: A keep-loaded server that dies this many calls in a row is no longer used (one-shot then).
SERVE_FAILURES = 3


class RunnerUnavailable(ContainerDagError):
    """The runner cannot run in an image's containers: its calls use one exec each."""

    def __init__(self, message: str, *, image: str | None = None):
        super().__init__(message)
        self.detail = message
        self.image = image
        self.process = None

    def __str__(self) -> str:
        where = f"image {self.image!r}: " if self.image else ""
        return f"{where}{self.detail}"


class RunnerLost(Exception):
    """The runner's stream ended under a call (the container or the runner died)."""

    def __init__(self, reason: str, stderr: bytes = b""):
        super().__init__(reason)
        self.stderr = stderr


@dataclass(frozen=True)
class Serve:
    """A keep-loaded server command, and the process a call asks it for."""

    command: tuple[str, ...]
    process: str
    #: How many servers of this command may run at once in one container.
    instances: int = 1


def _command(argv: list[str] | tuple[str, ...], env: list[str], servers: int = 0) -> bytes:
    strings = b"".join(s.encode() + b"\0" for s in (*argv, *env))
    return _COMMAND.pack(len(argv), len(env), servers) + strings


class RunnerSession:
    """The runner of one warm container, reached over one exec's attached stream."""

    def __init__(self, api: docker.APIClient, container_id: str, *, path: str = RUNNER_PATH,
                 start_timeout: float = 60.0,
                 on_notice: Callable[[str, bool], None] | None = None):
        self.container_id = container_id
        #: Why the stream ended (None while it works).
        self.lost: str | None = None
        #: Told about keep-loaded servers that died: (message, serve mode given up).
        self.on_notice = on_notice
        self._ids = itertools.count(1)
        self._calls: dict[int, queue.SimpleQueue] = {}
        self._lock = threading.Lock()
        self._outbox = bytearray()
        self._mux = bytearray()
        self._frames = bytearray()
        self._diagnostics = bytearray()  # what the runner itself wrote on stderr
        self._serve_failures: dict[tuple[str, ...], int] = {}
        exec_id = api.exec_create(container_id, [path], stdin=True, stdout=True, stderr=True,
                                  tty=False)["Id"]
        self._raw = api.exec_start(exec_id, socket=True)
        self._sock: socket.socket = getattr(self._raw, "_sock", self._raw)
        self._sock.setblocking(False)
        # Callers write straight to a plain socket; other sockets (TLS) only from the thread.
        self._direct = type(self._sock) is socket.socket
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        try:
            self.version = self._hello(start_timeout, api, exec_id)
        except BaseException:
            self._close_sockets()
            raise
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"containerdag-runner-{container_id[:12]}")
        self._thread.start()

    # ---- the stream ---------------------------------------------------------------------

    def _hello(self, timeout: float, api: docker.APIClient, exec_id: str) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self._sock], [], [], _POLL)
            if not readable:
                continue
            try:
                chunk = self._sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                break
            self._feed(chunk, hello=True)
            if self._frames[:1] == b"H" and len(self._frames) >= _FRAME.size:
                _, _, size = _FRAME.unpack_from(self._frames)
                if len(self._frames) >= _FRAME.size + size:
                    text = bytes(self._frames[_FRAME.size:_FRAME.size + size]).decode()
                    del self._frames[:_FRAME.size + size]
                    return text
        else:
            raise RunnerUnavailable(f"the runner {RUNNER_PATH} did not answer within "
                                    f"{timeout:g} s")
        said = (bytes(self._diagnostics) + bytes(self._frames)).decode(errors="replace")
        code = None
        for _ in range(50):
            info = api.exec_inspect(exec_id)
            if not info.get("Running"):
                code = info.get("ExitCode")
                break
            time.sleep(0.01)
        raise RunnerUnavailable(f"the runner {RUNNER_PATH} did not start (exit code {code}): "
                                f"{excerpt(said)}")

    def _feed(self, chunk: bytes, hello: bool = False) -> None:
        self._mux += chunk
        for stream, payload in demultiplex(self._mux):
            if stream == STDOUT:
                self._frames += payload
            else:
                self._diagnostics += payload
                del self._diagnostics[:-4096]
                if not hello:
                    log.warning("runner in container %s: %s", self.container_id[:12],
                                payload.decode(errors="replace").rstrip())
        if hello:
            return
        frames = self._frames
        while len(frames) >= _FRAME.size:
            kind, call_id, size = _FRAME.unpack_from(frames)
            if len(frames) < _FRAME.size + size:
                break
            payload = bytes(frames[_FRAME.size:_FRAME.size + size])
            del frames[:_FRAME.size + size]
            waiting = self._calls.get(call_id)
            if waiting is not None:
                waiting.put((chr(kind), payload))

    def _loop(self) -> None:
        reason = "the runner's stream ended (the runner or its container stopped)"
        sock = self._sock
        try:
            while True:
                with self._lock:
                    writers = [sock] if self._outbox else []
                readable, writable, _ = select.select([sock, self._wake_r], writers, [])
                if self._wake_r in readable:
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except BlockingIOError:
                        pass
                if writable:
                    with self._lock:
                        try:
                            sent = sock.send(self._outbox[:262144])
                        except (BlockingIOError, InterruptedError):
                            sent = 0
                        del self._outbox[:sent]
                if sock in readable:
                    try:
                        chunk = sock.recv(262144)
                    except (BlockingIOError, InterruptedError):
                        continue
                    if not chunk:
                        break
                    self._feed(chunk)
                    while getattr(sock, "pending", lambda: 0)():  # TLS: decrypted, unread
                        self._feed(sock.recv(262144))
        except OSError as exc:
            reason = f"the runner's stream failed: {exc}"
        with self._lock:
            self.lost = reason
            waiting = list(self._calls.values())
        for q in waiting:
            q.put(("lost", reason.encode()))
        self._close_sockets()

    def _send(self, frame: bytes) -> None:
        with self._lock:
            if self.lost is not None:
                raise RunnerLost(self.lost)
            if not self._outbox and self._direct:
                try:
                    sent = self._sock.send(frame)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError as exc:
                    raise RunnerLost(f"the runner's stream failed: {exc}") from None
                frame = frame[sent:]
                if not frame:
                    return
            self._outbox += frame
        with contextlib.suppress(OSError):  # full: the thread is awake anyway
            self._wake_w.send(b"w")

    def _close_sockets(self) -> None:
        for closing in (self._sock, self._raw, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                closing.close()

    def close(self) -> None:
        """End the session: the runner sees the end of its stdin and kills what it runs."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._close_sockets()

    # ---- calls --------------------------------------------------------------------------

    def call(self, command: list[str], stdin: bytes, *, timeout: float | None = None,
             cancel: threading.Event | None = None, max_output: int = 8 * 2**20,
             max_log: int = 2**20, max_stderr: int = 64 * 2**20,
             environment: dict[str, str] | None = None,
             on_log: Callable[[str], None] | None = None, serve: Serve | None = None,
             **_: Any) -> ExecOutcome:
        """Run ``command`` with ``stdin`` (as ``exec_call`` does), or ask ``serve``'s server.

        ``RunnerLost`` if the stream ends before the call does.
        """
        deadline = time.monotonic() + timeout if timeout is not None else None
        collected = Collector(max_output=max_output, max_log=max_log, max_stderr=max_stderr,
                              on_log=on_log)
        env = [f"{k}={v}" for k, v in (environment or {}).items()]
        body = stdin.strip()
        with self._lock:
            served = serve is not None and (
                self._serve_failures.get(serve.command, 0) < SERVE_FAILURES)
        if serve is not None and served and body and b"\n" not in body:
            request = (b'{"process": ' + json.dumps(serve.process).encode() + b', "inputs": '
                       + body + b"}\n")
            payload = _command(serve.command, env, serve.instances) + request
            code, killed, died = self._run("L", payload, collected, deadline, cancel)
            if died is None:
                with self._lock:
                    self._serve_failures.pop(serve.command, None)
                if killed is not None or code != 0:
                    return collected.outcome(code, killed, "runner" if killed else None)
                return _answer(collected, serve)
            self._server_died(serve, died, collected)
        payload = _command(command, env) + stdin
        code, killed, _ = self._run("S", payload, collected, deadline, cancel)
        return collected.outcome(code, killed, "runner" if killed else None)

    def _run(self, kind: str, payload: bytes, collected: Collector, deadline: float | None,
             cancel: threading.Event | None) -> tuple[int | None, str | None, str | None]:
        """Send one request and collect its replies: (exit code, why killed, why its
        keep-loaded server died)."""
        call_id = next(self._ids) & 0xFFFFFFFF or next(self._ids)
        replies: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            if self.lost is not None:
                raise RunnerLost(self.lost)
            self._calls[call_id] = replies
        killed: str | None = None
        killed_at = 0.0
        try:
            self._send(_FRAME.pack(ord(kind), call_id, len(payload)) + payload)
            while True:
                try:
                    tag, data = replies.get(timeout=_POLL)
                except queue.Empty:
                    tag, data = "", b""
                if tag == "O":
                    collected.stdout(data)
                elif tag == "E":
                    collected.stderr(data)
                elif tag == "X":
                    return struct.unpack(">i", data)[0], killed, None
                elif tag == "D":
                    return None, killed, data.decode(errors="replace")
                elif tag == "lost":
                    raise RunnerLost(data.decode(), collected.outcome(None).stderr)
                if killed is None:
                    killed = collected.stop_reason(cancel, deadline)
                    if killed is not None:
                        killed_at = time.monotonic()
                        self._send(_FRAME.pack(ord("K"), call_id, 0))
                elif time.monotonic() - killed_at > _KILL_GRACE:
                    self.close()  # a runner that cannot end a call is not trusted further
                    return None, killed, None
        finally:
            with self._lock:
                self._calls.pop(call_id, None)

    def _server_died(self, serve: Serve, why: str, collected: Collector) -> None:
        """A keep-loaded call whose server died: say so; the call runs one-shot instead."""
        with self._lock:
            failures = self._serve_failures.get(serve.command, 0) + 1
            self._serve_failures[serve.command] = failures
        shown = " ".join(serve.command)
        given_up = failures >= SERVE_FAILURES
        then = (f"after {failures} failures in a row it is no longer used in this container: "
                "calls run the one-shot command" if given_up
                else "it is started again for the next call")
        message = (f"keep-loaded server `{shown}` of process {serve.process!r}: {why} during a "
                   f"call; the call ran the one-shot command instead; {then}")
        collected.out.clear()
        collected.stderr(f"[containerdag: {message}]\n".encode())
        if self.on_notice is not None:
            self.on_notice(message, given_up)


def _answer(collected: Collector, serve: Serve) -> ExecOutcome:
    """The outcome of a keep-loaded call from its server's answer line."""
    line = bytes(collected.out)
    try:
        answer = json.loads(line)
    except (UnicodeDecodeError, ValueError, RecursionError):
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("log"), str) and answer["log"]:
        collected.stderr(answer["log"].encode())
    collected.out.clear()
    if isinstance(answer, dict) and isinstance(answer.get("outputs"), dict):
        collected.stdout(json.dumps(answer["outputs"]).encode() + b"\n")
        return collected.outcome(0)
    if isinstance(answer, dict) and "error" in answer:
        error = answer["error"] if isinstance(answer["error"], str) else json.dumps(
            answer["error"])
        collected.stderr(error.encode() + (b"" if error.endswith("\n") else b"\n"))
        return collected.outcome(1)
    collected.stderr(f"keep-loaded server `{' '.join(serve.command)}` answered with neither "
                     f'{{"outputs": ...}} nor {{"error": ...}}: {excerpt(line)}\n'.encode())
    return collected.outcome(1)
