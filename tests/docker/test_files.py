"""Files on the real engine: host -> container -> container -> host, byte for byte.

Each test runs with the files on disk (the work area bound in) and streamed into the work
volume (``CONTAINERDAG_WORK_AREA=stream``, as for an engine elsewhere) on both transports: the
resident runner's stream and one exec per command (``CONTAINERDAG_RUNNER=0``). The test kit's
file processes (images/testkit) copy, reverse and return bad paths; the default 64m /tmp never
holds them.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from containerdag_widgets import (
    File,
    FileError,
    Graph,
    GraphValidationError,
    InputError,
    ProcessTimeout,
    Ref,
    Registry,
)
from containerdag_widgets.cache.artifacts import ArtifactStore
from containerdag_widgets.docker import leftovers
from containerdag_widgets.docker.settings import ContainerSettings
from containerdag_widgets.docker.transfer import STREAMED_ROOT

from ..conftest import TESTKIT

NAME = "mesures d'été 2026 ✓.bin"  # spaces, a quote and non-ASCII letters


@pytest.fixture(scope="module", params=["disk", "stream-runner", "stream-exec"])
def reg(request, docker_client):
    """The test kit with its files on disk (this machine's engine), or streamed (as to an
    engine elsewhere) through the runner or by execs."""
    work, _, transport = request.param.partition("-")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONTAINERDAG_WORK_AREA", work)
        patch.setenv("CONTAINERDAG_RUNNER", "0" if transport == "exec" else "1")
        registry = Registry.from_docker(
            images=[TESTKIT], settings=ContainerSettings(mem_limit="1g"))
    pool = registry.sources[0].pool
    assert pool.runner is (transport != "exec")
    assert pool.work.mode == work
    yield registry
    registry.close()
    assert leftovers(docker_client, registry.session) == []


def _left_in_container(reg: Registry) -> list[str]:
    """What the file calls left where the test kit's warm container keeps calls' files: its
    part of the work area on disk, or its work volume (streamed)."""
    proc = reg.get("file_copy")
    pool = reg.sources[0].pool
    container = pool.container_for(proc.image_id, proc.image)
    if pool.work.on_disk:
        _, area = pool.files_of(proc.image_id, proc.image)
        return os.listdir(area.inputs) + os.listdir(area.outputs)
    code, out = container.exec_run(["ls", "-A", STREAMED_ROOT])
    assert code == 0, out
    return out.decode().split()


def test_a_50_mb_binary_file_goes_host_container_container_host_byte_for_byte(reg, tmp_path,
                                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    # 50 MB once (the runner); the exec path still sends more than one chunk.
    pool = reg.sources[0].pool
    data = os.urandom((50 if pool.runner else 17) * 2**20)
    (tmp_path / NAME).write_bytes(data)
    graph = Graph()
    graph.add("copy", "file_copy", {"data": File(NAME), "name": f"copie {NAME}"})
    graph.add("reverse", "file_reverse", {"data": Ref("copy", "copy")})
    result = graph.run(reg).raise_for_status()

    copied = result.outputs["copy"]
    assert copied["size"] == len(data)  # as read inside the first container
    assert copied["sha256"] == hashlib.sha256(data).hexdigest()
    assert isinstance(copied["copy"], File) and copied["copy"].name == f"copie {NAME}"
    assert copied["copy"].read_bytes() == data
    reversed_file = result.outputs["reverse"]["reversed"]
    assert reversed_file.read_bytes() == data[::-1]
    store = ArtifactStore()
    for found in (copied["copy"], reversed_file):
        assert store.contains(found)
        assert found.path.parent.name == found.sha256 == hashlib.sha256(
            found.read_bytes()).hexdigest()
    assert _left_in_container(reg) == []


def test_a_changed_input_file_reruns_its_node_and_an_unchanged_one_is_reused(reg, tmp_path,
                                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.csv").write_text("t,x\n0,1\n")
    graph = Graph.from_yaml("copy:\n  process: file_copy\n"
                            "  inputs: {data: {file: m.csv}, name: out.csv}\n")
    first = graph.run(reg).raise_for_status()
    os.utime(tmp_path / "m.csv", (1, 1))  # a new time, the same contents: still reused
    again = graph.run(reg).raise_for_status()
    assert again.status["copy"] == "cached", again.reasons
    assert again.outputs["copy"]["copy"] == first.outputs["copy"]["copy"]
    assert again.outputs["copy"]["copy"].read_text() == "t,x\n0,1\n"
    (tmp_path / "m.csv").write_text("t,x\n0,2\n")
    changed = graph.run(reg).raise_for_status()
    assert changed.status["copy"] == "done", changed.reasons
    assert changed.outputs["copy"]["copy"].read_text() == "t,x\n0,2\n"


def test_a_missing_input_file_is_a_validation_error_naming_node_and_path(reg, tmp_path,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    graph = Graph()
    graph.add("load", "file_copy", {"data": File("absent.csv"), "name": "x.csv"})
    problems = graph.problems(reg)
    assert [(p.kind, p.node, p.field) for p in problems] == [
        ("missing_file", "load", "inputs.data")]
    assert str(tmp_path / "absent.csv") in problems[0].message
    with pytest.raises(GraphValidationError, match="absent.csv"):
        graph.run(reg)


@pytest.mark.parametrize("mode", ["absolute", "dotdot", "symlink"])
def test_an_output_path_outside_the_call_directory_is_refused(reg, mode):
    with pytest.raises(FileError) as caught:
        reg.get("file_bad").run({"mode": mode})
    assert caught.value.reason == "outside" and caught.value.port == "out"
    assert "outside the call's output directory" in str(caught.value)
    assert _left_in_container(reg) == []


def test_a_timed_out_file_call_leaves_nothing_in_the_container(reg):
    with pytest.raises(ProcessTimeout):
        reg.get("file_bad").run({"mode": "slow"}, timeout=1.0)
    assert _left_in_container(reg) == []


def test_an_output_file_never_written_is_named(reg):
    with pytest.raises(FileError, match="'out'.*never.txt.*is not there") as caught:
        reg.get("file_bad").run({"mode": "missing"})
    assert caught.value.reason == "missing"


def test_an_oversized_file_is_refused_with_its_size(reg, tmp_path, monkeypatch):
    big = tmp_path / "big.bin"
    big.write_bytes(b"\1" * 5000)
    monkeypatch.setenv("CONTAINERDAG_FILE_LIMIT", "4096")
    graph = Graph()
    graph.add("big", "file_copy", {"data": File(big), "name": "x.bin"})
    problems = graph.problems(reg)
    assert [(p.kind, p.node) for p in problems] == [("file_too_large", "big")]
    assert "5000 bytes, over the limit of 4096" in problems[0].message
    with pytest.raises(InputError, match="5000 bytes, over the limit of 4096"):
        reg.get("file_copy").run({"data": File(big), "name": "x.bin"})
    # An output over the limit is refused when it would be copied out.
    with pytest.raises(FileError, match="'out'.*5000 bytes, over the limit of 4096") as caught:
        reg.get("file_bad").run({"mode": "big"})
    assert caught.value.reason == "too_large"
    monkeypatch.setenv("CONTAINERDAG_FILE_LIMIT", "5000")
    assert reg.get("file_bad").run({"mode": "big"})["out"].read_bytes() == b"b" * 5000
    assert _left_in_container(reg) == []


def test_processes_without_file_ports_get_no_output_directory(reg):
    """Images without file ports behave as before: no directory made, no variable set."""
    assert reg.get("echo").file_ports == {}
    assert reg.get("file_copy").file_ports == {"inputs.data": ".bin", "outputs.copy": ".bin"}
    assert reg.get("echo").run({"text": "a"}) == {"text": "a", "nbytes": 1}
