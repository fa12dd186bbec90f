"""Files at real data sizes on the real engine (issue 22): on disk, never in a container's
memory; a full disk, a remote engine, and a container that tries to change its input.

The test kit's ``file_make``/``file_pass``/``file_hash`` stream a MiB at a time, so a 2 GiB
file goes through three warm containers under the default hardened settings (512m memory,
a 64m ``/tmp``) only if the toolkit keeps it on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import docker
import pytest

from containerdag_widgets import File, Graph, NodeFinished, NodeProgress, Ref, Registry
from containerdag_widgets.cache.artifacts import ArtifactStore
from containerdag_widgets.docker import leftovers
from containerdag_widgets.docker.disk_files import DiskFull
from containerdag_widgets.docker.workarea import WORK_DIR, work_root

from ..conftest import TESTKIT

GiB = 2**30
MiB = 2**20


@pytest.fixture()
def reg(docker_client):
    registry = Registry.from_docker(images=[TESTKIT])
    yield registry
    registry.close()
    assert leftovers(docker_client, registry.session) == []


def _three_steps(size: int) -> Graph:
    graph = Graph()
    graph.add("make", "file_make", {"size": size, "name": "big.bin"})
    graph.add("pass", "file_pass", {"data": Ref("make", "made")})
    graph.add("hash", "file_hash", {"data": Ref("pass", "passed")})
    return graph


def test_2_gib_go_through_three_hardened_containers_on_disk(reg):
    proc = reg.get("file_make")
    assert proc.settings.mem_limit == 512 * MiB and proc.settings.tmp_size == 64 * MiB
    events: list = []
    result = _three_steps(2 * GiB).run(reg, timeout=600, listeners=[events.append])
    result.raise_for_status()
    made, passed = result.outputs["make"]["made"], result.outputs["pass"]["passed"]
    assert made.size == passed.size == 2 * GiB
    assert made.sha256 == passed.sha256 == result.outputs["hash"]["sha256"]
    assert result.outputs["hash"]["size"] == 2 * GiB
    # One copy per content in the store, read-only, the kernel's (renamed in, not copied).
    store = ArtifactStore()
    assert store.contains(made) and store.contains(passed)
    assert made.path.parent == passed.path.parent
    info = made.path.stat()
    assert (info.st_uid, info.st_mode & 0o777) == (os.geteuid(), 0o444)
    # Every call's directories are gone from the work area.
    pool = reg.sources[0].pool
    kind, area = pool.files_of(reg.get("file_make").image_id, TESTKIT)
    assert kind == "disk"
    assert os.listdir(area.inputs) == [] and os.listdir(area.outputs) == []
    # The hashing read of each output went out as progress, a few a second, ending at 2 GiB.
    moved = [e for e in events if isinstance(e, NodeProgress)]
    for node, what in (("make", "output made (big.bin)"), ("pass", "output passed (big.bin)")):
        mine = [e for e in moved if e.node == node]
        assert {e.what for e in mine} == {what}
        assert [e.done for e in mine] == sorted(e.done for e in mine)
        assert mine[-1].done == mine[-1].total == 2 * GiB
        assert len(mine) >= 2
        finished = next(e for e in events if isinstance(e, NodeFinished) and e.node == node)
        assert all(e.time <= finished.time for e in mine)
    assert not [e for e in moved if e.node == "hash"]  # its input was linked: nothing moved
    assert result.moving == {}


def test_a_container_cannot_change_a_stored_file_it_reads(reg, tmp_path):
    original = tmp_path / "keep.bin"
    original.write_bytes(b"stored bytes\n")
    stored = ArtifactStore().put_path(original)
    graph = Graph.from_spec({"poke": {"process": "file_poke", "inputs": {"data": stored}}})
    result = graph.run(reg)
    attempts = result.raise_for_status().outputs["poke"]["attempts"]
    assert set(attempts) == {"append", "truncate", "chmod", "remove"}
    assert "done" not in attempts.values(), attempts
    assert attempts["remove"] == attempts["chmod"] == "Read-only file system"
    assert stored.path.read_bytes() == b"stored bytes\n"
    assert hashlib.sha256(stored.path.read_bytes()).hexdigest() == stored.sha256


@pytest.fixture()
def small_work_area(monkeypatch, tmp_path):
    """A 24 MiB tmpfs as the work area root: another file system than the store's."""
    root = tmp_path / "small-work-area"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(root)], check=True)
    monkeypatch.setenv("CONTAINERDAG_WORK_DIR", str(root))
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def test_a_full_work_area_fails_the_node_naming_bytes_and_space(small_work_area, caplog,
                                                                docker_client):
    assert work_root() == small_work_area
    registry = Registry.from_docker(images=[TESTKIT])
    try:
        store = ArtifactStore()
        before = sorted(store.files())
        graph = Graph()
        graph.add("fits", "file_make", {"size": 4 * MiB, "name": "fits.bin"})
        graph.add("read", "file_hash", {"data": Ref("fits", "made")})
        graph.add("too big", "file_make", {"size": 64 * MiB, "name": "big.bin"})
        result = graph.run(registry, timeout=120, max_workers=1)
        assert result.status == {"fits": "done", "read": "done", "too big": "failed"}
        error = result.errors["too big"]
        assert isinstance(error, DiskFull) and error.reason == "disk_full"
        assert error.needed is None and error.free < MiB
        message = str(error)
        assert "ran out of space" in message and "bytes written" in message
        assert "bytes free" in message and str(small_work_area) in message
        # The store holds the two good files only: the partial one was never stored.
        after = sorted(store.files())
        assert len(after) == len(before) + 1  # 'fits.bin' (read by 'read', the same content)
        assert result.outputs["read"]["size"] == 4 * MiB
        # The input of 'read' was copied (no link across file systems), said once.
        copies = [r for r in caplog.records if "input files are copied" in r.getMessage()]
        assert len(copies) == 1, [r.getMessage() for r in caplog.records]
        # The work area is empty again: the partial file went with the call's directory.
        used = [p for p in small_work_area.rglob("*") if p.is_file()]
        assert used == []
    finally:
        registry.close()
    assert leftovers(docker_client, registry.session) == []


class _TcpToUnix:
    """The engine's Unix socket served on a loopback TCP port: to this toolkit, an engine
    elsewhere (it cannot see this disk), reached as ``DOCKER_HOST=tcp://127.0.0.1:PORT``."""

    def __init__(self, socket_path: str = "/var/run/docker.sock", *, coalesce: float = 0.0):
        self.socket_path = socket_path
        #: Seconds the engine's bytes are held to go on together (headers with the stream).
        self.coalesce = coalesce
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            engine = socket.socket(socket.AF_UNIX)
            engine.connect(self.socket_path)
            for a, b, hold in ((client, engine, 0.0), (engine, client, self.coalesce)):
                threading.Thread(target=_pipe, args=(a, b, hold), daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self.server.close()
        self.thread.join(5)


def _pipe(source: socket.socket, sink: socket.socket, hold: float = 0.0) -> None:
    """One direction; its end is passed on as a half-close (an exec's stdin ends so, while
    its output still comes back). ``hold``: wait that long after each first byte for more,
    then send all at once (as a network may)."""
    with contextlib.suppress(OSError):
        while data := source.recv(1 << 16):
            if hold:
                time.sleep(hold)
                source.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    while more := source.recv(1 << 16):
                        data += more
                source.setblocking(True)
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def test_an_engine_elsewhere_gets_the_files_streamed_into_a_volume(monkeypatch, tmp_path,
                                                                   docker_client):
    proxy = _TcpToUnix()
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("CONTAINERDAG_WORK_AREA", raising=False)
    data = os.urandom(40 * MiB + 123)  # more than one chunk, more than a 64m tmpfs can hold
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    registry = Registry.from_docker(images=[TESTKIT])
    try:
        pool = registry.sources[0].pool
        assert pool.work.mode == "stream" and "cannot see this machine's disk" in pool.work.why
        assert "streamed" in registry.get("file_pass").details()["files"]
        graph = Graph()
        graph.add("pass", "file_pass", {"data": File(source)})
        graph.add("hash", "file_hash", {"data": Ref("pass", "passed")})
        graph.add("again", "file_pass", {"data": Ref("pass", "passed")})
        result = graph.run(registry, timeout=300).raise_for_status()
        passed = result.outputs["pass"]["passed"]
        assert (passed.size, passed.path.stat().st_size) == (len(data), len(data))
        assert passed.read_bytes() == data
        assert result.outputs["hash"]["sha256"] == hashlib.sha256(data).hexdigest()
        container = docker_client.containers.get(pool.container_name(TESTKIT))
        mounts = {m["Destination"]: m for m in container.attrs["Mounts"]}
        assert mounts[WORK_DIR]["Type"] == "volume"
        assert not [m for m in mounts.values() if m["Type"] == "bind"]
        volume = mounts[WORK_DIR]["Name"]
        assert container.exec_run(["ls", "-A", f"{WORK_DIR}/out"]).output == b""
        assert not Path(work_root(), registry.session).exists()
    finally:
        registry.close()
        proxy.close()
    assert leftovers(docker_client, registry.session) == []
    assert volume not in {v.name for v in docker_client.volumes.list()}


def test_an_exec_over_tcp_keeps_the_stream_that_came_with_the_headers(docker_client):
    """An engine elsewhere may send an exec's first frames in the same packet as the HTTP
    response's headers: the HTTP client reads them into its buffer, out of the raw socket's
    reach. They are taken back (``exec.read_ahead``); lost, every later frame was misread
    and a whole output came back empty, now and then."""
    from containerdag_widgets.docker.exec import exec_call

    proxy = _TcpToUnix(coalesce=0.2)
    client = docker.DockerClient(base_url=f"tcp://127.0.0.1:{proxy.port}")
    container = client.containers.run("debian:bookworm-slim", ["sleep", "infinity"],
                                      detach=True, init=True, network_mode="none",
                                      labels={"containerdag.test": "exec-over-tcp"})
    try:
        text = b"".join(b"%d\n" % i for i in range(1, 50001))
        for _ in range(3):  # output at once, as `head -c` of an output file gives it
            done = exec_call(client.api, container.id, ["seq", "1", "50000"], b"",
                             max_output=1 << 22)
            assert (done.exit_code, len(done.stdout)) == (0, len(text))
            assert done.stdout == text
    finally:
        container.remove(force=True)
        client.close()
        proxy.close()
