"""A file chain on the two-worker LocalCluster: files travel as bytes through Dask.

The workers were started before this test's cache directory was chosen, so they cannot see
the client's artifact store: every file reaches them in the task and comes back in the
result, checked against its hash.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from containerdag_widgets import File, FileError, Graph, Ref, process
from containerdag_widgets.cache.artifacts import ArtifactStore
from containerdag_widgets.executors.carry import Carried, pack_files, unpack_files


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
    assert packed == {"x": [Carried("a.bin", hashlib.sha256(b"abc").hexdigest(), b"abc")]}
    stored = unpack_files(packed, ArtifactStore(tmp_path / "store"))["x"][0]
    assert stored.read_bytes() == b"abc"
    assert stored.path.parent.parent.parent == tmp_path / "store"
    bad = {"x": Carried("a.bin", packed["x"][0].sha256, b"abd")}
    with pytest.raises(FileError, match="arrived with sha256") as caught:
        unpack_files(bad, ArtifactStore(tmp_path / "store"), process="p")
    assert caught.value.reason == "transfer"
