"""The real engine, seen through a window that shows only some toolkit sessions' containers.

``containerdag cleanup`` and ``cleanup(client)`` with no session remove every container of a
dead owner on this host: on a shared engine that includes what other sessions (another copy
of the suite, a user's crashed kernel) left and still look at. A test of that plain cleanup
runs it through :class:`ScopedEngine`: a Unix-socket proxy to the engine that forwards every
request unchanged except container listings (``GET /containers/json``), to which it adds the
filter ``label=containerdag.session=<session>``. Everything the cleanup does still happens on
the engine; it just cannot see (so cannot remove) anybody else's containers.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import docker

from containerdag_widgets.docker.pool import LABEL_SESSION

__all__ = ["ScopedEngine", "scoped_client"]


def _engine_socket() -> str:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        raise RuntimeError(f"ScopedEngine needs a Unix-socket engine, not {host!r}")
    return host[len("unix://"):]


def _scoped_target(target: str, session: str) -> str:
    """``target`` with the session's label added to a container listing's filters."""
    parts = urlsplit(target)
    if not parts.path.rstrip("/").endswith("/containers/json"):
        return target
    query = parse_qsl(parts.query, keep_blank_values=True)
    filters: dict[str, list[str]] = {}
    rest = []
    for key, value in query:
        if key == "filters":
            for name, values in json.loads(value).items():
                # The engine takes {"label": ["a", "b"]} and {"label": {"a": true}}.
                filters[name] = list(values) if isinstance(values, list) else \
                    [k for k, on in values.items() if on]
        else:
            rest.append((key, value))
    filters.setdefault("label", []).append(f"{LABEL_SESSION}={session}")
    rest.append(("filters", json.dumps(filters)))
    return urlunsplit(parts._replace(query=urlencode(rest)))


class ScopedEngine:
    """A proxy at ``path`` (``url`` for DOCKER_HOST) that shows only ``session``'s containers."""

    def __init__(self, session: str, directory: str | None = None):
        self.session = session
        self._dir = tempfile.mkdtemp(prefix="cdw-scope-", dir=directory)
        self.path = Path(self._dir) / "docker.sock"
        self.url = f"unix://{self.path}"
        self.target = _engine_socket()
        self.requests: list[str] = []  # every request line, as forwarded
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(self.path))
        self._server.listen(64)
        self._closed = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _requests(self, src: socket.socket, dst: socket.socket) -> None:
        """Forward requests one by one, rewriting container listings; a chunked body (none of
        the calls cleanup makes) ends the parsing: the rest of the connection is piped."""
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = src.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                method, target, version = lines[0].decode("latin-1").split(" ", 2)
                target = _scoped_target(target, self.session)
                self.requests.append(f"{method} {target}")
                lines[0] = f"{method} {target} {version}".encode("latin-1")
                headers = {line.split(b":", 1)[0].strip().lower(): line.split(b":", 1)[1].strip()
                           for line in lines[1:] if b":" in line}
                dst.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
                if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
                    dst.sendall(buffer)
                    self._pipe(src, dst)
                    return
                length = int(headers.get(b"content-length", b"0") or 0)
                while len(buffer) < length:
                    data = src.recv(65536)
                    if not data:
                        return
                    buffer += data
                dst.sendall(buffer[:length])
                buffer = buffer[length:]
        except OSError:
            pass
        finally:
            self._shut(src, dst)

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._shut(src, dst)

    @staticmethod
    def _shut(*sockets: socket.socket) -> None:
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed.set()
        self._server.close()
        with self._lock:
            for conn in self._conns:
                self._shut(conn)
                conn.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
            os.rmdir(self._dir)

    def __enter__(self) -> ScopedEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def scoped_client(session: str) -> Iterator[docker.DockerClient]:
    """A client of the real engine whose container listings show only ``session``'s."""
    with ScopedEngine(session) as engine:
        client = docker.DockerClient(base_url=engine.url, timeout=60)
        try:
            yield client
        finally:
            client.close()
