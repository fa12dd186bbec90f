"""CWL CommandLineTools on the two-worker LocalCluster (issue 21): a pickled CwlProcess carries
its document (text, path, content hash), image and settings; on the worker its jobs run in
that worker's own CWL backend and pools (containers labelled with the worker, removed by
``executor.close()``: the fixture checks), files in and out as other nodes' files travel."""

from __future__ import annotations

import pickle
import struct
import zlib
from pathlib import Path

import pytest

from containerdag_widgets import File, Graph, Ref
from containerdag_widgets.cache.artifacts import ArtifactStore
from containerdag_widgets.processes.cwl import CwlProcess

from .conftest import worker_containers

pytestmark = pytest.mark.docker

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cwl"
WORD = """\
cwlVersion: v1.2
class: CommandLineTool
label: Count the words of a text.
requirements:
  InlineJavascriptRequirement: {}
baseCommand: wc
arguments: [-w]
inputs:
  text: {type: File, inputBinding: {position: 1}}
stdout: words.txt
outputs:
  words: {type: int, outputBinding: {glob: words.txt, loadContents: true,
          outputEval: "$(parseInt(self[0].contents.trim().split(' ')[0]))"}}
"""


def png(width: int, height: int) -> bytes:
    """A small RGB PNG, a gradient (no library needed)."""
    rows = b"".join(
        b"\0" + b"".join(bytes((x * 40 % 256, y * 40 % 256, 128)) for x in range(width))
        for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_a_cwl_tool_pickles_with_its_document_and_not_its_backend(registry, tmp_path):
    proc = registry.add_cwl(EXAMPLES / "resize.cwl")
    copy = pickle.loads(pickle.dumps(proc))
    assert isinstance(copy, CwlProcess) and copy is not proc
    assert copy.text == (EXAMPLES / "resize.cwl").read_text()
    assert copy.key_parts() == proc.key_parts()  # the same cache key on the worker
    assert copy.inputs == proc.inputs and copy.outputs == proc.outputs
    assert copy.settings == proc.settings and copy._tool is None
    assert "Dask worker" in repr(copy.backend)
    # Outside a worker the copy has no backend to run in, and says so.
    with pytest.raises(Exception, match="outside a Dask worker"):
        copy.run({"picture": File(EXAMPLES / "resize.cwl")})


def test_cwl_tools_and_an_image_process_run_on_the_workers(executor, registry, tmp_path,
                                                           monkeypatch, docker_client):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "poster.png").write_bytes(png(24, 12))
    (tmp_path / "text.txt").write_text("one two three four\n")
    # The file is gone once added: the worker loads the tool from the text that travelled.
    moved = tmp_path / "words.cwl"
    moved.write_text(WORD)
    registry.add_cwl(EXAMPLES / "resize.cwl")
    registry.add_cwl(EXAMPLES / "identify.cwl")
    registry.add_cwl(moved)
    moved.unlink()
    graph = Graph()
    graph.add("resize", "resize", {"picture": File("poster.png"), "geometry": "8x4!"})
    graph.add("identify", "identify", {"picture": Ref("resize", "resized")})
    graph.add("words", "words", {"text": File("text.txt")})
    graph.add("sum", "python_add", {"x": Ref("identify", "width"),
                                    "y": Ref("words", "words")})
    result = graph.run(registry, executor=executor, cache=False).raise_for_status()

    workers = set(executor.client.scheduler_info()["workers"])
    assert set(result.workers) == {"resize", "identify", "words", "sum"}
    assert set(result.workers.values()) <= workers
    assert result.outputs["identify"] == {"width": 8, "height": 4, "colorspace": "sRGB"}
    assert result.outputs["words"] == {"words": 4}
    assert result.outputs["sum"]["z"] == 12.0
    resized = result.outputs["resize"]["resized"]
    assert isinstance(resized, File) and resized.name == "resized.png"
    assert ArtifactStore().contains(resized) and resized.read_bytes()[:4] == b"\x89PNG"
    # The CWL jobs ran in the workers' warm containers (labelled with the worker).
    magick = docker_client.images.get("containerdag/imagemagick:latest").id
    assert any(c["ImageID"] == magick for c in worker_containers(docker_client, workers))
    # The same graph in this process gives the same bytes (the same image, the same tool).
    here = graph.run(registry, cache=False).raise_for_status()
    assert here.outputs["resize"]["resized"].sha256 == resized.sha256
    assert here.outputs["identify"] == result.outputs["identify"]


def test_a_tool_that_reads_a_file_not_on_the_worker_fails_by_name(executor, registry,
                                                                  tmp_path):
    (tmp_path / "out.yml").write_text("id: out\ntype: stdout\n")
    path = tmp_path / "imports.cwl"
    path.write_text("cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: [echo, hi]\n"
                    "inputs: []\noutputs:\n  - $import: out.yml\n")
    proc = registry.add_cwl(path)
    path.unlink()  # the worker has the text only: out.yml is not beside it there
    graph = Graph()
    graph.add("say", proc.name, {})
    result = graph.run(registry, executor=executor, cache=False)
    assert result.status["say"] == "failed"
    assert str(path) in str(result.errors["say"]) and "out.yml" in str(result.errors["say"])
    assert "does not load alone" in str(result.errors["say"]), result.errors
