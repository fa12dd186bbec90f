"""A graph with CWL tools exports them as themselves (issue 21): the tool's own document,
its image pinned as the toolkit ran it; cwltool validates the workflow and runs it to the
toolkit's outputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from containerdag_widgets import File, Graph, Ref, Registry
from containerdag_widgets.export import ExportError

from ..conftest import EXAMPLE_IMAGES, TESTKIT
from ..dask.test_dask_cwl import png
from .test_cwltool import PYTHON, cwltool

pytestmark = pytest.mark.docker

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cwl"


@pytest.fixture(scope="module")
def exported(docker_client, tmp_path_factory):
    out = tmp_path_factory.mktemp("cwltools")
    (out / "poster.png").write_bytes(png(24, 12))
    graph = Graph()
    graph.add("geometry", "echo", {"text": "8x4!"})  # a JSON node's value into a CWL input
    graph.add("resize", "resize", {"picture": File(out / "poster.png"),
                                   "geometry": Ref("geometry", "text")})
    graph.add("identify", "identify", {"picture": Ref("resize", "resized")})
    graph.add("gray", "grayscale", {"picture": Ref("resize", "resized")})
    graph.add("sum", "python_add", {"x": Ref("identify", "width"),
                                    "y": Ref("identify", "height")})
    # Scattered CWL nodes: CWL's own scatter over the tool's inputs, outputs in element order.
    graph.add("sizes", "resize", {"picture": File(out / "poster.png"),
                                  "geometry": ["6x3!", "10x5!"]}, scatter=["geometry"])
    graph.add("measured", "identify", {"picture": Ref("sizes", "resized")},
              scatter=["picture"])
    with Registry.from_docker(images=[*EXAMPLE_IMAGES, TESTKIT]) as registry:
        for tool in ("resize", "identify", "grayscale"):
            registry.add_cwl(EXAMPLES / f"{tool}.cwl")
        image_id = registry.get("resize").image_id
        export = graph.to_cwl(registry, out / "wf", python_image=PYTHON)
        toolkit = graph.run(registry, cache=False).raise_for_status()
    return {"graph": graph, "export": export, "toolkit": toolkit, "out": out,
            "image_id": image_id}


def test_the_tool_is_its_own_document_with_the_image_pinned(exported):
    export = exported["export"]
    written = yaml.safe_load(export.tools["resize"].read_text())
    original = yaml.safe_load((EXAMPLES / "resize.cwl").read_text())
    docker = {"class": "DockerRequirement", "dockerPull": "containerdag/imagemagick:latest",
              "dockerImageId": exported["image_id"]}
    assert written["requirements"] == [docker]
    assert "hints" not in written  # its only hint was the DockerRequirement
    assert {k: v for k, v in written.items() if k not in ("requirements", "hints")} == {
        k: v for k, v in original.items() if k not in ("requirements", "hints")}
    steps = yaml.safe_load(export.workflow.read_text())["steps"]
    step = next(s for s in steps.values() if s.get("label") == "resize")
    assert step["run"] == f"tools/{export.tools['resize'].name}"
    assert step["in"]["geometry"] == "resize--value-geometry/value"
    assert "containerdag-inputs" not in str(step)  # no wrapper around the process protocol
    assert Graph.from_cwl(export.workflow) == exported["graph"]


def test_cwltool_validates_and_runs_it_like_the_toolkit(exported):
    out, export, toolkit = exported["out"], exported["export"], exported["toolkit"]
    done = cwltool("--validate", str(export.workflow), cwd=out)
    assert done.returncode == 0 and "is valid CWL" in done.stdout, done.stderr
    done = cwltool("--strict-memory-limit", "--strict-cpu-limit",
                   "--outdir", str(out / "results"), "--tmpdir-prefix", str(out / "tmp") + "/",
                   "--tmp-outdir-prefix", str(out / "tmp") + "/",
                   str(export.workflow), str(export.job), cwd=out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Final process status is success" in done.stderr, done.stderr[-3000:]
    files = json.loads(done.stdout)
    values = {node: json.loads(Path(files[f"{sid}--outputs"]["path"]).read_text())
              for node, sid in (("identify", "identify"), ("sum", "sum"),
                                ("geometry", "geometry"))}
    assert values["identify"] == toolkit.outputs["identify"] == {
        "width": 8, "height": 4, "colorspace": "sRGB"}
    assert values["sum"] == toolkit.outputs["sum"] and values["sum"]["z"] == 12.0
    for node, port in (("resize", "resized"), ("gray", "gray")):
        got = Path(files[f"{node}--file-{port}"]["path"]).read_bytes()
        assert hashlib.sha256(got).hexdigest() == toolkit.outputs[node][port].sha256, node
    measured = json.loads(Path(files["measured--outputs"]["path"]).read_text())
    assert measured == toolkit.outputs["measured"]
    assert measured["width"] == [6, 10] and measured["height"] == [3, 5]
    got = [hashlib.sha256(Path(f["path"]).read_bytes()).hexdigest()
           for f in files["sizes--file-resized"]]
    assert got == [f.sha256 for f in toolkit.outputs["sizes"]["resized"]]


PLAIN = """\
cwlVersion: v1.2
class: CommandLineTool
doc: A fixed command, no input on its command line.
baseCommand: [sh, -c, "printf 3 > n.txt"]
inputs: {}
outputs:
  n:
    type: string
    outputBinding: {glob: n.txt, loadContents: true, outputEval: "$(self[0].contents)"}
"""


def test_argo_refuses_a_cwl_tool_by_node_even_a_plain_one(docker_client, tmp_path):
    """An Argo step runs a command that reads JSON on stdin: a CWL tool, even one whose
    command line is fixed, is refused by name, not wrapped in that protocol."""
    (tmp_path / "plain.cwl").write_text(PLAIN)
    graph = Graph()
    graph.add("three", "plain", {})
    graph.add("sum", "python_add", {"x": 1.0, "y": 2.0})
    with Registry.from_docker(images=[*EXAMPLE_IMAGES, TESTKIT]) as registry:
        registry.add_cwl(tmp_path / "plain.cwl", image=TESTKIT)
        assert graph.run(registry, cache=False).outputs["three"] == {"n": "3"}
        with pytest.raises(ExportError) as refused:
            graph.to_argo(registry, python_image=PYTHON)
    assert refused.value.node == "three" and refused.value.processes == ["plain"]
    assert "CWL tool" in str(refused.value) and "to_cwl" in str(refused.value)
