"""Fault scenarios on the real engine: each counts the labelled containers before and after.

A Python process or a kernel killed with -9, Ctrl-C, the engine's socket cut, two processes on
one engine, and cleanup during a live run: nothing leaks, nothing live is removed.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

import pytest

from containerdag_widgets.docker import cleanup, leftovers

from ..conftest import EXAMPLE_IMAGES, TESTKIT, require_engine
from ..engine_scope import scoped_client

ROOT = Path(__file__).resolve().parents[2]
IMAGES = [*EXAMPLE_IMAGES, TESTKIT]

# Prints the session, then a line per started node, then runs until the graph ends.
RUN_SLOW = f"""
import sys
from containerdag_widgets import Graph, NodeStarted, Registry
reg = Registry.from_docker(images={IMAGES!r})
print("session", reg.session, flush=True)
graph = Graph.from_spec({{
    "slow": {{"process": "slow", "inputs": {{"seconds": float(sys.argv[1]), "tag": "s"}}}},
    "add": {{"process": "python_add", "inputs": {{"x": 1.0, "y": 2.0}}}},
}})
def show(event):
    if isinstance(event, NodeStarted):
        print("started", event.node, flush=True)
result = graph.run(reg, listeners=[show])
print("status", result.status, flush=True)
"""


@pytest.fixture
def docker_client():
    client = require_engine()
    yield client
    client.close()


def _sigint_default() -> None:
    # As at a terminal: a suite started in the background by a non-interactive shell
    # ignores SIGINT, and a child would inherit that (Ctrl-C would do nothing).
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(code: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_sigint_default)


#: A child -> its stdout lines (None at the end).
_lines: weakref.WeakKeyDictionary[subprocess.Popen, queue.Queue] = weakref.WeakKeyDictionary()


def _stdout(proc: subprocess.Popen) -> queue.Queue:
    """The child's stdout lines, read by a thread: a test waits on them with a deadline (a
    ``readline`` on the pipe would wait for ever on a child that hangs silent)."""
    if proc not in _lines:
        lines = _lines[proc] = queue.Queue()

        def pump() -> None:
            try:
                for line in proc.stdout:
                    lines.put(line)
            except (OSError, ValueError):  # the test closed the pipe
                pass
            finally:
                lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
    return _lines[proc]


def read_until(proc: subprocess.Popen, prefix: str, timeout: float = 120) -> str:
    """The first stdout line starting with ``prefix`` (the child prints it when ready)."""
    lines = _stdout(proc)
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:  # the child closed its stdout (ended)
            lines.put(None)  # the end stays the end for the next reader
            break
        if line.startswith(prefix):
            return line.strip()
    if proc.poll() is None:
        proc.kill()  # so that its stderr ends
    raise AssertionError(f"no {prefix!r} line in {timeout:g} s; stderr: {proc.stderr.read()}")


def rest_of_stdout(proc: subprocess.Popen, timeout: float = 120) -> str:
    """What the child printed after the lines already read, up to its end."""
    lines = _stdout(proc)
    rest = []
    deadline = time.monotonic() + timeout
    while (line := lines.get(timeout=max(0.0, deadline - time.monotonic()))) is not None:
        rest.append(line)
    lines.put(None)
    return "".join(rest)


def started_both(proc: subprocess.Popen) -> str:
    """The child's session once both nodes started and both warm containers exist."""
    session = read_until(proc, "session").split()[1]
    read_until(proc, "started")
    read_until(proc, "started")
    client = require_engine()
    try:
        deadline = time.monotonic() + 120
        while len(leftovers(client, session)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        client.close()
    return session


def test_sigkill_mid_run_then_cleanup_removes_what_it_left(docker_client):
    with child(RUN_SLOW, "30") as (proc, seen):
        seen["session"] = session = started_both(proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        left = leftovers(docker_client, session)
        assert len(left) >= 1 and not any(item.owner_alive for item in left)
        with scoped_client(session) as scoped:  # plain cleanup, blind to others' containers
            removed = cleanup(scoped)
        assert {item.id for item in removed} == {item.id for item in left}
        assert leftovers(docker_client, session) == []


@contextlib.contextmanager
def child(code: str, *args: str):
    """``spawn``, and whatever happens in the test: the child killed and its session's
    containers removed (``seen["session"]``, once the test knows it)."""
    proc = spawn(code, *args)
    seen: dict[str, str] = {}
    try:
        yield proc, seen
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
        for stream in (proc.stdout, proc.stderr):
            stream.close()
        if seen.get("session"):
            client = require_engine()
            try:
                cleanup(client, session=seen["session"])
            finally:
                client.close()


def test_ctrl_c_stops_the_run_kills_its_calls_and_leaks_nothing(docker_client):
    with child(RUN_SLOW, "300") as (proc, seen):
        seen["session"] = session = started_both(proc)
        assert len(leftovers(docker_client, session)) >= 1
        proc.send_signal(signal.SIGINT)
        proc.wait(120)  # a call of 300 s was killed, not waited for (generous: a loaded box)
        assert "KeyboardInterrupt" in proc.stderr.read()
        assert leftovers(docker_client, session) == []


def test_a_kernel_killed_with_minus_9_then_cleanup(docker_client):
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3",
                                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        reply = client.execute_interactive(
            f"from containerdag_widgets import Registry\n"
            f"reg = Registry.from_docker(images={EXAMPLE_IMAGES!r})\n"
            "reg.get('python_add').run({'x': 1.0, 'y': 2.0})\n"
            "print(reg.session)\n",
            timeout=120, output_hook=lambda msg: outputs.append(msg))
        assert reply["content"]["status"] == "ok"
    finally:
        kernel = manager.provisioner.process  # the kernel's Popen
        os.kill(kernel.pid, signal.SIGKILL)
        kernel.wait(30)  # reaped: a zombie would still look alive to cleanup
        client.stop_channels()
        manager.cleanup_resources()
    session = next(m["content"]["text"].strip() for m in outputs
                   if m["msg_type"] == "stream")
    left = leftovers(docker_client, session)
    assert len(left) == 1 and not left[0].owner_alive
    with scoped_client(session) as scoped:
        assert [item.id for item in cleanup(scoped)] == [left[0].id]
    assert leftovers(docker_client, session) == []


outputs: list[dict] = []


def test_two_processes_on_one_engine_each_keep_their_own(docker_client):
    procs = [spawn(RUN_SLOW, "1") for _ in range(2)]
    sessions = [read_until(p, "session").split()[1] for p in procs]
    for p in procs:
        assert p.wait(120) == 0, p.stderr.read()
        assert "'slow': 'done', 'add': 'done'" in rest_of_stdout(p)
    assert len(set(sessions)) == 2
    for s in sessions:
        assert leftovers(docker_client, s) == []


def test_cleanup_during_a_live_run_leaves_it_alone(docker_client):
    # The slow node's 10 s cover the cleanup and the two looks (the run must still be live).
    with child(RUN_SLOW, "10") as (proc, seen):
        seen["session"] = session = started_both(proc)
        before = leftovers(docker_client, session)
        with scoped_client(session) as scoped:
            assert cleanup(scoped) == []
        assert leftovers(docker_client, session) == before
        assert proc.wait(120) == 0, proc.stderr.read()
        assert "'slow': 'done', 'add': 'done'" in rest_of_stdout(proc)
        assert leftovers(docker_client, session) == []


class SocketCutter:
    """A Unix-socket proxy to the engine that can be cut: DOCKER_HOST for a child process."""

    def __init__(self, path: Path, target: str = "/var/run/docker.sock"):
        self.path = path
        self.target = target
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(64)
        self.conns: list[socket.socket] = []
        self.cut_event = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.cut_event.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.cut_event.set()
        self.server.close()
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


def test_engine_socket_cut_mid_run_fails_the_node_clearly(docker_client, tmp_path):
    cutter = SocketCutter(tmp_path / "docker.sock")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DOCKER_HOST": f"unix://{cutter.path}"}
    proc = subprocess.Popen([sys.executable, "-c", RUN_SLOW, "30"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    session = started_both(proc)
    cutter.cut()
    assert proc.wait(60) == 0, proc.stderr.read()  # the run ends; the node fails
    out = rest_of_stdout(proc)
    assert "'slow': 'failed'" in out
    left = leftovers(docker_client, session)  # the engine could not be told to remove them
    cleanup(docker_client, session=session)
    assert leftovers(docker_client, session) == [] and len(left) <= 2


def test_a_reproduction_killed_mid_call_is_left_for_cleanup_to_find(docker_client):
    from containerdag_widgets import Graph, Registry
    from containerdag_widgets.docker.pool import LABEL_PID, LABEL_SESSION

    with Registry.from_docker(images=[TESTKIT]) as reg:
        result = Graph.from_spec({"stuck": {"process": "never_returns", "inputs": {"x": 1.0},
                                            "timeout": 1.0}}).run(reg)
    assert result.status == {"stuck": "failed"}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "containerdag_widgets.cli", "reproduce",
                             str(result.run_id), "stuck"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    session = None
    try:
        deadline = time.monotonic() + 120  # a bound for a stuck start, never reached
        while not (found := docker_client.api.containers(filters={"label": [
                f"{LABEL_PID}={proc.pid}", "containerdag.reproduce=1"]})):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        [container] = found
        session = container["Labels"][LABEL_SESSION]
        proc.kill()  # as a crash: its finally never runs
        proc.wait(30)
        left = leftovers(docker_client, session)
        assert [item.id for item in left] == [container["Id"]]
        assert not left[0].owner_alive and left[0].on_this_host
        with scoped_client(session) as scoped:  # plain cleanup, blind to others' containers
            removed = cleanup(scoped)
        assert [item.id for item in removed] == [container["Id"]]
        assert leftovers(docker_client, session) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
        if session:
            cleanup(docker_client, session=session)
