"""A file chain on the two-worker LocalCluster: small files travel as bytes through Dask,
large ones by path (the workers run on this machine).

The workers were started before this test's cache directory was chosen, so they do not
share the client's artifact store: a small file reaches them in the task and comes back in
the result, checked against its hash; a large one is linked from one store into the other.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from containerdag_widgets import File, FileError, Graph, Ref, process
from containerdag_widgets.cache.artifacts import ArtifactStore
from containerdag_widgets.executors.carry import (
    BY_PATH_FROM,
    Carried,
    pack_files,
    this_machine,
    unpack_files,
)


@process(outputs={"upper": {"$file": "upper.txt"}, "n": 0})
def upper(data: File) -> dict:
    """Upper-cases a text file on the worker; the result is a new file."""
    import tempfile

    text = data.read_text()
    target = os.path.join(tempfile.mkdtemp(), "upper.txt")
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(text.upper())
    return {"upper": File(target), "n": len(text)}


def test_a_file_chain_runs_on_two_workers(executor, registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = "température, humidité\n" * 20000
    (tmp_path / "mes ures.txt").write_text(text, encoding="utf-8")
    registry.add(upper)
    graph = Graph()
    graph.add("copy", "file_copy", {"data": File("mes ures.txt"), "name": "copie.txt"})
    graph.add("upper", "upper", {"data": Ref("copy", "copy")})
    graph.add("reverse", "file_reverse", {"data": Ref("upper", "upper")})
    result = graph.run(registry, executor=executor, cache=False).raise_for_status()

    assert set(result.workers.values()) <= set(executor.client.scheduler_info()["workers"])
    store = ArtifactStore()  # the client's: this test's cache directory
    copied = result.outputs["copy"]["copy"]
    assert store.contains(copied) and copied.read_text(encoding="utf-8") == text
    assert result.outputs["copy"]["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    upper_file = result.outputs["upper"]["upper"]
    assert store.contains(upper_file) and upper_file.read_text() == text.upper()
    back = result.outputs["reverse"]["reversed"]
    assert store.contains(back) and back.read_bytes() == text.upper().encode()[::-1]
    assert back.sha256 == hashlib.sha256(back.read_bytes()).hexdigest()


def test_carried_bytes_are_checked_against_their_hash(tmp_path):
    source = tmp_path / "a.bin"
    source.write_bytes(b"abc")
    packed = pack_files({"x": [File(source)]})
    assert packed == {"x": [Carried("a.bin", hashlib.sha256(b"abc").hexdigest(), b"abc",
                                    size=3)]}
    stored = unpack_files(packed, ArtifactStore(tmp_path / "store"))["x"][0]
    assert stored.read_bytes() == b"abc"
    assert stored.path.parent.parent.parent == tmp_path / "store"
    bad = {"x": Carried("a.bin", packed["x"][0].sha256, b"abd")}
    with pytest.raises(FileError, match="arrived with sha256") as caught:
        unpack_files(bad, ArtifactStore(tmp_path / "store"), process="p")
    assert caught.value.reason == "transfer"


def test_large_files_go_by_path_between_the_workers_and_the_client(executor, registry,
                                                                   tmp_path):
    data = os.urandom(3 * 2**20 + 5)  # over BY_PATH_FROM
    (tmp_path / "big.bin").write_bytes(data)
    graph = Graph()
    graph.add("copy", "file_copy", {"data": File(tmp_path / "big.bin"), "name": "big.bin"})
    graph.add("reverse", "file_reverse", {"data": Ref("copy", "copy")})
    result = graph.run(registry, executor=executor, cache=False).raise_for_status()
    assert executor._workers_here()
    store = ArtifactStore()
    copied, back = result.outputs["copy"]["copy"], result.outputs["reverse"]["reversed"]
    assert store.contains(copied) and copied.read_bytes() == data
    assert store.contains(back) and back.read_bytes() == data[::-1]
    # Linked from the store the worker kept it in, never read through Dask: one inode.
    assert copied.path.stat().st_nlink >= 2 and back.path.stat().st_nlink >= 2


def test_a_file_by_path_is_linked_in_and_checked(tmp_path, monkeypatch):
    elsewhere = ArtifactStore(tmp_path / "worker-store")
    stored = elsewhere.put_bytes(b"x" * (2 * BY_PATH_FROM), "big.bin")
    packed = pack_files({"f": stored}, by_path=True)["f"]
    assert packed.data is None and packed.path == str(stored.path)
    assert packed.size == stored.size and packed.machine == this_machine()
    here = ArtifactStore(tmp_path / "client-store")
    got = unpack_files({"f": packed}, here)["f"]
    assert here.contains(got) and got.sha256 == stored.sha256
    assert got.path.stat().st_ino == stored.path.stat().st_ino  # a link, not a copy
    # A user's file (not a stored artifact) is copied and checked against its hash.
    mine = tmp_path / "mine.bin"
    mine.write_bytes(b"y" * (2 * BY_PATH_FROM))
    sent = pack_files({"f": File(mine)}, by_path=True)["f"]
    mine.write_bytes(b"z" * (2 * BY_PATH_FROM))  # changed after it was sent, same size
    with pytest.raises(FileError, match="changed since it was sent") as caught:
        unpack_files({"f": sent}, here, process="p")
    assert caught.value.reason == "changed"
    # Another machine's path is refused by name.
    foreign = Carried("big.bin", stored.sha256, path=str(stored.path), size=stored.size,
                      machine="elsewhere/0")
    with pytest.raises(FileError, match="sent by its path on elsewhere/0"):
        unpack_files({"f": foreign}, here, process="p")
