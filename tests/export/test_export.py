"""The exporters without an engine: documents, round trip, refusals, the inputs helper."""

from __future__ import annotations

import ast
import base64
import json
import subprocess
import sys
from json import dumps as to_text
from pathlib import Path

import pytest
import yaml

import containerdag_widgets.export as export_pkg
from containerdag_widgets import Graph, process
from containerdag_widgets.cli.main import build_parser
from containerdag_widgets.export import ExportError, from_cwl, to_argo, to_cwl
from containerdag_widgets.export.common import MERGE_SCRIPT, python_script
from containerdag_widgets.model.errors import GraphValidationError

from ..seed import SEED_GRAPH
from .helpers import (
    ADD_ID,
    DIVIDE_ID,
    IMAGES,
    PYTHON,
    argo_problems,
    container,
    fake_inspect,
    offline_registry,
    workflow_validator,
)

TRICKY = {  # names that need mapping to CWL/Argo ids, and every kind of literal
    "node a": {"process": "python_add", "inputs": {"x": 1, "y": 16.5}},
    "node_a": {"process": "process.python_add",
               "inputs": {"x": ("node a", "z"), "y": -0.0}},
    "2 nodes!": {"process": "c_divide", "inputs": {"a": ("node_a", "z"), "b": ("node a", "z")},
                 "timeout": 2.5},
    "main": {"process": "random choice", "inputs": {"choices": [{"k": [1, None]}, "s", True]}},
}


def write(graph: Graph, tmp_path: Path, **kw):
    return to_cwl(graph, offline_registry(), tmp_path / "out", python_image=PYTHON,
                  inspect_image=fake_inspect, **kw)


@pytest.mark.parametrize("spec", [SEED_GRAPH, TRICKY], ids=["seed", "tricky"])
def test_from_cwl_gives_back_the_graph(spec, tmp_path):
    graph = Graph.from_spec(spec)
    out = write(graph, tmp_path)
    back = from_cwl(out.workflow)
    assert back == graph
    assert list(back.nodes) == list(graph.nodes)
    assert Graph.from_cwl(out.workflow.parent) == graph  # the directory works too


def test_cwl_documents(tmp_path):
    out = write(Graph.from_spec(SEED_GRAPH), tmp_path)
    wf = yaml.safe_load(out.workflow.read_text())
    assert wf["cwlVersion"] == "v1.2" and wf["class"] == "Workflow"
    # literals are workflow inputs, their values in the job file next to the workflow
    assert json.loads(out.job.read_text()) == {
        "node_alpha-choices": [1.2, 5.4, 6.7], "node_beta-min": -5.0, "node_beta-max": 5.0,
        "node_a-y": 16.5}
    assert out.job.parent == out.workflow.parent
    assert wf["inputs"]["node_a-y"]["type"] == "double"
    # references are step connections: node b's inputs read node a's and node beta's files
    merge = wf["steps"]["node_b--inputs"]["in"]
    assert merge["ref_files"]["source"] == ["node_a/outputs", "node_beta/outputs"]
    assert merge["plan"]["default"]["refs"] == [["x", "node a", "z"], ["y", "node beta", "n"]]
    assert wf["steps"]["node_b"]["in"] == {"inputs": "node_b--inputs/inputs"}
    assert set(wf["outputs"]) == {f"{n}--outputs" for n in
                                  ("node_alpha", "node_beta", "node_a", "node_b", "node_c")}
    # one tool per process used, plus the inputs helper
    assert set(out.tools) == {"python_add", "c_divide", "random float", "random choice",
                              "containerdag-inputs"}
    add = yaml.safe_load(out.tools["python_add"].read_text())
    assert add["class"] == "CommandLineTool"
    assert add["baseCommand"] == ["python3", "/app/add.py"]
    assert add["requirements"][0] == {"class": "DockerRequirement",
                                      "dockerPull": "containerdag/add_subtract:latest",
                                      "dockerImageId": ADD_ID}
    assert add["stdin"] == "$(inputs.inputs.path)"
    assert add["outputs"] == {"outputs": {"type": "stdout",
                                          "doc": "the outputs: one JSON object"}}
    assert not any(r["class"] == "NetworkAccess" for r in add["requirements"])
    assert add["hints"] == [{"class": "ResourceRequirement", "coresMin": 1.0, "coresMax": 1.0,
                             "ramMin": 512, "ramMax": 512}]
    divide = yaml.safe_load(out.tools["c_divide"].read_text())
    # a registry digest of the image's own repository is pulled, the ID keeps it pinned
    assert divide["requirements"][0]["dockerPull"] == IMAGES[
        "containerdag/multiply_divide:latest"]["RepoDigests"][1]
    assert divide["requirements"][0]["dockerImageId"] == DIVIDE_ID
    helper = yaml.safe_load(out.tools["containerdag-inputs"].read_text())
    assert {"entryname": "literals.json", "entry": "$(inputs.literal_values)"} in \
        helper["requirements"][1]["listing"]
    assert out.notes == []


def test_timeouts_become_tool_time_limits(tmp_path):
    out = write(Graph.from_spec(TRICKY), tmp_path)
    step = yaml.safe_load(out.workflow.read_text())["steps"]["n_2_nodes_"]
    assert step["requirements"] == [{"class": "ToolTimeLimit", "timelimit": 3}]
    assert step["label"] == "2 nodes!" and step["cdag:timeout"] == 2.5


def test_python_image_missing_is_a_note(tmp_path):
    out = to_cwl(Graph.from_spec(SEED_GRAPH), offline_registry(), tmp_path,
                 python_image="python:3.12-slim", inspect_image=fake_inspect)
    assert any("python:3.12-slim" in n and "not pinned" in n for n in out.notes)


def test_an_entrypoint_is_refused_naming_the_process(tmp_path, monkeypatch):
    monkeypatch.setitem(IMAGES, "containerdag/add_subtract:latest",
                        {"Id": ADD_ID, "Config": {"Entrypoint": ["/entry.sh"]}})
    graph = Graph.from_spec({"a": {"process": "python_add", "inputs": {"x": 1, "y": 2}}})
    with pytest.raises(ExportError, match=r"'python_add'.*ENTRYPOINT \['/entry.sh'\]") as info:
        to_cwl(graph, offline_registry(), tmp_path, python_image="other:1",
               inspect_image=fake_inspect)
    assert info.value.processes == ["python_add"]
    # Kubernetes' command replaces ENTRYPOINT: Argo needs no refusal
    to_argo(graph, offline_registry(), python_image="other:1", inspect_image=fake_inspect)


def test_an_invalid_graph_is_not_exported(tmp_path):
    graph = Graph.from_spec({"a": {"process": "python_add", "inputs": {"x": ("b", "z")}}})
    with pytest.raises(GraphValidationError):
        write(graph, tmp_path)
    with pytest.raises(GraphValidationError):
        to_argo(graph, offline_registry(), inspect_image=fake_inspect)


def test_from_cwl_refuses_other_workflows(tmp_path):
    (tmp_path / "workflow.cwl").write_text("cwlVersion: v1.2\nclass: Workflow\nsteps: {}\n")
    with pytest.raises(ExportError, match="not written by containerdag_widgets"):
        from_cwl(tmp_path)


# ---- in-process processes ------------------------------------------------------------

LIMIT = 3.5


@process(outputs={"y": 1.0})
def capped(x: float = 1.0):
    """min(x, LIMIT), via math."""
    import math as m

    return m.copysign(min(abs(x), LIMIT), x)


def test_python_script_runs_the_function_standalone():
    script, notes = python_script(capped)
    assert "@process" not in script and "LIMIT = 3.5" in script and notes == []
    for x, want in ((2.0, {"y": 2.0}), (9.0, {"y": 3.5})):
        out = subprocess.run([sys.executable, "-c", script], input=json.dumps({"x": x}),
                             capture_output=True, text=True, check=True)
        assert json.loads(out.stdout) == want


def test_python_script_refuses_naming_the_process():
    lock = object()

    @process(outputs={"y": 1})
    def uses_object(x: int = 1):
        return {"y": x if lock else 0}

    with pytest.raises(ExportError, match=r"'uses_object'.*closure") as info:
        python_script(uses_object)
    assert info.value.processes == ["uses_object"]

    square = process(lambda x=1: {"y": x * x}, outputs={"y": 1}, name="square")
    with pytest.raises(ExportError, match=r"'square'.*(lambda|source)"):
        python_script(square)


REGISTRY_GLOBAL = offline_registry()


@process(outputs={"n": 1})
def counts_processes(x: int = 0):
    return {"n": len(REGISTRY_GLOBAL) + x}


def test_a_global_that_is_not_plain_data_is_refused(tmp_path):
    reg = offline_registry()
    reg.add(counts_processes)
    graph = Graph.from_spec({"n": {"process": "counts_processes", "inputs": {"x": 1}}})
    with pytest.raises(ExportError, match=r"'counts_processes'.*'REGISTRY_GLOBAL' \(Registry\)"):
        to_cwl(graph, reg, tmp_path, inspect_image=fake_inspect)
    with pytest.raises(ExportError, match="'counts_processes'"):
        to_argo(graph, reg, inspect_image=fake_inspect)


# ---- the inputs helper ---------------------------------------------------------------


def run_merge(tmp_path: Path, literals, plan, *files: Path) -> subprocess.CompletedProcess:
    (tmp_path / "literals.json").write_text(json.dumps(literals))
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    return subprocess.run([sys.executable, "-c", MERGE_SCRIPT, str(tmp_path / "inputs.json"),
                           str(tmp_path / "literals.json"), str(tmp_path / "plan.json"),
                           *map(str, files)], capture_output=True, text=True)


def test_merge_script(tmp_path):
    up = tmp_path / "up.json"
    up.write_text(json.dumps({"z": "t" * 200_000, "w": [1]}))
    done = run_merge(tmp_path, [[1, 2], None], {"literal_ports": ["a", "b"],
                                                 "refs": [["c", "up", "z"]]}, up)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "inputs.json").read_text()) == {
        "a": [1, 2], "b": None, "c": "t" * 200_000}
    done = run_merge(tmp_path, {"a": 1}, {"refs": [["c", "up", "w", str(up)]]})
    assert json.loads((tmp_path / "inputs.json").read_text()) == {"a": 1, "c": [1]}
    done = run_merge(tmp_path, {}, {"refs": [["c", "up", "nope"]]}, up)
    assert done.returncode == 1 and "node 'up' gave no output 'nope'" in done.stderr


# ---- Argo ----------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [SEED_GRAPH, TRICKY], ids=["seed", "tricky"])
def test_argo_export_validates_against_the_published_schema(spec):
    wf = to_argo(Graph.from_spec(spec), offline_registry(), python_image=PYTHON,
                 inspect_image=fake_inspect)
    workflow_validator().validate(wf)
    workflow_validator(strict=True).validate(wf)
    assert argo_problems(wf) == []
    assert json.loads(json.dumps(wf)) == wf  # plain JSON data


def test_argo_documents():
    wf = to_argo(Graph.from_spec(SEED_GRAPH), offline_registry(), python_image=PYTHON,
                 inspect_image=fake_inspect)
    assert wf["apiVersion"] == "argoproj.io/v1alpha1" and wf["kind"] == "Workflow"
    templates = {t["name"]: t for t in wf["spec"]["templates"]}
    tasks = {t["name"]: t for t in templates["main"]["dag"]["tasks"]}
    assert set(tasks) == {f"{n}{s}" for n in ("node-alpha", "node-beta", "node-a", "node-b",
                                              "node-c") for s in ("", "--inputs")}
    assert tasks["node-b--inputs"]["dependencies"] == ["node-a", "node-beta"]
    assert {"name": "in-x", "from": "{{tasks.node-a.outputs.artifacts.outputs}}"} in \
        tasks["node-b--inputs"]["arguments"]["artifacts"]
    params = {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]}
    assert params == {"node-alpha-choices": "[1.2, 5.4, 6.7]", "node-beta-min": "-5.0",
                      "node-beta-max": "5.0", "node-a-y": "16.5"}
    add = templates["python-add"]
    c = add["container"]
    assert c["command"] == ["/bin/sh", "-c", 'exec "$@" < /tmp/containerdag/inputs.json > '
                            "/tmp/containerdag/outputs.json", "containerdag", "python3",
                            "/app/add.py"]
    assert c["image"] == ADD_ID  # no registry digest: the ID, with a note
    assert "has no registry digest" in wf["metadata"]["annotations"][
        "containerdag-widgets/notes"]
    assert templates["c-divide"]["container"]["image"] == IMAGES[
        "containerdag/multiply_divide:latest"]["RepoDigests"][1]
    assert c["securityContext"] == {
        "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
        "seccompProfile": {"type": "RuntimeDefault"}, "capabilities": {"drop": ["ALL"]},
        "runAsUser": 65534, "runAsGroup": 65534}
    assert c["resources"] == {"limits": {"cpu": "1", "memory": "512Mi"}}
    assert add["volumes"] == [{"name": "tmp", "emptyDir": {"medium": "Memory",
                                                           "sizeLimit": "64Mi"}}]
    assert add["outputs"]["artifacts"][0]["archive"] == {"none": {}}
    # an in-process process runs its script, base64'd past Argo's {{...}} substitution
    code = templates["random-float"]["container"]["command"][-1]
    script = base64.b64decode(code.split("'")[1]).decode()
    assert "def random_float(" in script and "{{" not in json.dumps(templates["random-float"])


def test_argo_timeouts_use_a_template_variant():
    wf = to_argo(Graph.from_spec(TRICKY), offline_registry(), python_image=PYTHON,
                 inspect_image=fake_inspect)
    templates = {t["name"]: t for t in wf["spec"]["templates"]}
    tasks = {t["name"]: t for t in templates["main"]["dag"]["tasks"]}
    variant = templates[tasks["n-2-nodes"]["template"]]
    assert variant["timeout"] == "2.5s" and "timeout" not in templates["c-divide"]
    assert tasks["main-2"]["template"] == "random-choice"  # 'main' is the DAG's name


# ---- the CLI and the layers ----------------------------------------------------------


def test_cli_parses_export():
    args = build_parser().parse_args(["export", "cwl", "g.yaml", "-o", "out"])
    assert (args.format, args.spec, args.output) == ("cwl", "g.yaml", "out")
    args = build_parser().parse_args(["export", "argo", "g.yaml", "--python-image", "p:1"])
    assert (args.format, args.output, args.python_image) == ("argo", None, "p:1")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "cwl", "g.yaml"])  # -o DIR is required


def test_export_imports_no_widgets_or_magics():
    for path in Path(export_pkg.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                name = ("." * node.level) + (node.module or "")
                assert not any(w in name for w in ("widgets", "magics", "ipy", "IPython")), \
                    (path.name, name)


def test_a_container_process_without_an_image_on_the_engine(tmp_path):
    reg = offline_registry()
    reg.add(container("ghost", "gone/image:1", ["/x"], {"a": 1}, {"b": 1},
                      image_id="sha256:" + "f" * 64))
    graph = Graph.from_spec({"g": {"process": "ghost", "inputs": {"a": 2}}})
    out = to_cwl(graph, reg, tmp_path, python_image=PYTHON, inspect_image=fake_inspect)
    tool = yaml.safe_load(out.tools["ghost"].read_text())
    # the discovered ID still pins it
    assert tool["requirements"][0] == {"class": "DockerRequirement", "dockerPull": "gone/image:1",
                                       "dockerImageId": "sha256:" + "f" * 64}


def test_an_images_own_settings_are_carried(tmp_path):
    """An image's labels may loosen its container (docker/settings.py): the export follows."""
    from types import SimpleNamespace

    reg = offline_registry()
    reg.get("python_add").settings = SimpleNamespace(
        network="bridge", read_only=False, tmp_size=2**30, cap_drop=("NET_RAW",),
        no_new_privileges=True, pids_limit=64, mem_limit=3 * 2**30, cpus=0.5, user="1000:1001")
    graph = Graph.from_spec({"a": {"process": "python_add", "inputs": {"x": 1, "y": 2}}})
    out = to_cwl(graph, reg, tmp_path, python_image=PYTHON, inspect_image=fake_inspect)
    tool = yaml.safe_load(out.tools["python_add"].read_text())
    assert {"class": "NetworkAccess", "networkAccess": True} in tool["requirements"]
    assert tool["hints"] == [{"class": "ResourceRequirement", "coresMin": 0.5,
                              "coresMax": 0.5, "ramMin": 3072, "ramMax": 3072}]
    wf = to_argo(graph, reg, python_image=PYTHON, inspect_image=fake_inspect)
    add = next(t for t in wf["spec"]["templates"] if t["name"] == "python-add")
    assert add["container"]["securityContext"] == {
        "readOnlyRootFilesystem": False, "allowPrivilegeEscalation": False,
        "seccompProfile": {"type": "RuntimeDefault"}, "capabilities": {"drop": ["NET_RAW"]},
        "runAsUser": 1000, "runAsGroup": 1001}
    assert add["container"]["resources"] == {"limits": {"cpu": "500m", "memory": "3Gi"}}
    assert add["volumes"][0]["emptyDir"]["sizeLimit"] == "1Gi"
    assert add["metadata"]["labels"] == {"containerdag-widgets/network": "bridge"}
    workflow_validator(strict=True).validate(wf)



@process(outputs={"s": ""})
def show(x: int = 1):
    return {"s": to_text([x])}


def test_python_script_imports_names_from_other_modules():
    script, notes = python_script(show)
    assert "from json import dumps as to_text" in script and notes == []
    out = subprocess.run([sys.executable, "-c", script], input='{"x": 7}', capture_output=True,
                         text=True, check=True)
    assert json.loads(out.stdout) == {"s": "[7]"}


def test_files_are_refused_naming_the_node_and_port(tmp_path):
    """Exported steps pass JSON values: a file input or a process with file ports is refused
    by name before anything is written (it was a TypeError from json)."""
    from containerdag_widgets import File

    reg = offline_registry()
    reg.add(container("plot", "containerdag/add_subtract:latest", ["plot_csv"],
                      {"data": {"$file": "data.csv"}}, {"png": {"$file": "plot.png"}}))
    data = tmp_path / "m.csv"
    data.write_text("a,b\n1,2\n")
    with_file = Graph.from_spec({"p": {"process": "plot", "inputs": {"data": File(data)}}})
    for export in (lambda g: to_cwl(g, reg, tmp_path / "out", python_image=PYTHON,
                                    inspect_image=fake_inspect),
                   lambda g: to_argo(g, reg, inspect_image=fake_inspect)):
        with pytest.raises(ExportError, match=r"node 'p' input 'data' is a file \(.*m\.csv\)"
                           ) as info:
            export(with_file)
        assert (info.value.node, info.value.port, info.value.processes) == ("p", "data", ["plot"])
    assert not (tmp_path / "out").exists()
    # A node whose process has file ports but no file literal (its input comes from a node).
    reg.add(container("make_csv", "containerdag/add_subtract:latest", ["make_csv"], {"n": 1},
                      {"csv": {"$file": "m.csv"}}))
    chained = Graph.from_spec({"m": {"process": "make_csv", "inputs": {"n": 3}},
                               "p": {"process": "plot", "inputs": {"data": ("m", "csv")}}})
    with pytest.raises(ExportError, match=r"node 'm': process 'make_csv' has file ports "
                                          r"\(outputs.csv\)") as info:
        to_argo(chained, reg, inspect_image=fake_inspect)
    assert info.value.port == "outputs.csv"


def test_a_step_with_no_user_chosen_runs_unprivileged_in_argo_and_as_in_the_warm_containers():
    """An exported step runs as the warm container would: 65534:65534 when no USER or label
    chose one (it ran as the image's user, root for most images)."""
    reg = offline_registry()
    graph = Graph.from_spec({"a": {"process": "python_add", "inputs": {"x": 1, "y": 2}}})
    wf = to_argo(graph, reg, python_image=PYTHON, inspect_image=fake_inspect)
    for template in wf["spec"]["templates"]:
        context = template.get("container", {}).get("securityContext")
        if context is not None:
            assert (context["runAsUser"], context["runAsGroup"]) == (65534, 65534), template


def test_cwl_notes_on_error_continue_of_a_scattered_node(tmp_path):
    reg = offline_registry()
    graph = Graph.from_spec({"s": {"process": "python_add", "inputs": {"x": [1.0, 2.0], "y": 1},
                                   "scatter": ["x"], "on_error": "continue"}})
    out = to_cwl(graph, reg, tmp_path, python_image=PYTHON, inspect_image=fake_inspect)
    assert any("on_error continue is not carried over" in note for note in out.notes)
    workflow = yaml.safe_load(out.workflow.read_text())
    assert {"class": "ScatterFeatureRequirement"} in workflow["requirements"]
    assert Graph.from_cwl(out.workflow) == graph


SCATTERED = {
    "scatter a": {"process": "python_add", "inputs": {"x": [1.0, 2.0, 3.0], "y": 10.0},
                  "scatter": ["x"], "timeout": 30},
    "scatter b": {"process": "c_divide", "inputs": {"a": ("scatter a", "z"), "b": [2.0, 4.0]},
                  "scatter": ["a", "b"], "scatter_method": "flat_crossproduct",
                  "on_error": "continue"},
    "after": {"process": "python_add", "inputs": {"x": 1.0, "y": 2.0}},
}


def test_argo_carries_scatter_as_with_param_over_the_elements_and_a_gather():
    """Issue 23: a scattered node is its elements helper, a task per element (withParam over
    the helper's indexes, each reading its inputs file by subPath and keeping its outputs under
    a key of the node and index) and a gather; readers read the gather's outputs."""
    wf = to_argo(Graph.from_spec(SCATTERED), offline_registry(), python_image=PYTHON,
                 inspect_image=fake_inspect)
    workflow_validator().validate(wf)
    workflow_validator(strict=True).validate(wf)
    assert argo_problems(wf) == []
    tasks = {t["name"]: t for t in wf["spec"]["templates"][0]["dag"]["tasks"]}
    templates = {t["name"]: t for t in wf["spec"]["templates"]}
    a = tasks["scatter-a"]
    assert a["withParam"] == "{{tasks.scatter-a--inputs.outputs.parameters.indexes}}"
    assert a["template"] == "python-add--element--timeout-30s"
    assert templates[a["template"]]["timeout"] == "30s"
    assert a["arguments"]["artifacts"] == [{
        "name": "inputs", "from": "{{tasks.scatter-a--inputs.outputs.artifacts.elements}}",
        "subPath": "e-{{item}}.json"}]
    assert "continueOn" not in a and tasks["scatter-b"]["continueOn"] == {"failed": True}
    element = templates["python-add--element"]
    assert element["outputs"]["artifacts"][0]["s3"] == {
        "key": "containerdag/{{workflow.uid}}/{{inputs.parameters.node}}/"
               "{{inputs.parameters.index}}.json"}
    gather = tasks["scatter-a--gather"]
    assert gather["dependencies"] == ["scatter-a", "scatter-a--inputs"]
    assert gather["arguments"]["artifacts"][1] == {
        "name": "parts", "s3": {"key": "containerdag/{{workflow.uid}}/scatter-a"}}
    # scatter b reads scatter a's gathered lists, after its gather
    reads = tasks["scatter-b--inputs"]
    assert reads["dependencies"] == ["scatter-a--gather"]
    assert {"name": "in-a", "from": "{{tasks.scatter-a--gather.outputs.artifacts.outputs}}"} \
        in reads["arguments"]["artifacts"]
    assert reads["template"] == "c-divide--elements"
    plan = json.loads(reads["arguments"]["artifacts"][1]["raw"]["data"])
    assert plan["scatter"] == ["a", "b"] and plan["method"] == "flat_crossproduct"
    assert "template" in tasks["after"] and "withParam" not in tasks["after"]


def test_argo_scatter_helpers_split_the_inputs_and_gather_in_element_order(tmp_path):
    """The elements helper's and the gather's Python, run here on the files Argo would give
    them: one inputs file per element and the indexes; lists in order, None where an element
    failed under on_error: continue."""
    from containerdag_widgets.export.argo import _INDEXES, _MKDIR, ARGO_GATHER, ELEMENTS_SCRIPT

    (tmp_path / "literals.json").write_text(json.dumps({"b": [2.0, 4.0]}))
    (tmp_path / "plan.json").write_text(json.dumps({
        "refs": [["a", "scatter a", "z", str(tmp_path / "up.json")]],
        "scatter": ["a", "b"], "method": "flat_crossproduct"}))
    (tmp_path / "up.json").write_text(json.dumps({"z": [11.0, 12.0]}))
    done = subprocess.run([sys.executable, "-c", _MKDIR + ELEMENTS_SCRIPT + _INDEXES,
                           str(tmp_path / "elements" / "e"), str(tmp_path / "literals.json"),
                           str(tmp_path / "plan.json")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    indexes = json.loads((tmp_path / "indexes.json").read_text())
    assert indexes == ["00000", "00001", "00002", "00003"]
    assert [json.loads((tmp_path / "elements" / f"e-{i}.json").read_text())
            for i in indexes] == [{"a": 11.0, "b": 2.0}, {"a": 11.0, "b": 4.0},
                                  {"a": 12.0, "b": 2.0}, {"a": 12.0, "b": 4.0}]
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, z in ((0, 5.5), (1, 2.75), (3, 3.0)):  # element 2 failed: no outputs file
        (parts / f"{indexes[i]}.json").write_text(json.dumps({"z": z}))
    (tmp_path / "gather.json").write_text(json.dumps({"outputs": ["z"], "indexes": indexes}))
    done = subprocess.run([sys.executable, "-c", ARGO_GATHER, str(tmp_path / "out.json"),
                           str(tmp_path / "gather.json"), str(parts)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == {"z": [5.5, 2.75, None, 3.0]}
