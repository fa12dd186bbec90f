"""A graph as a CWL v1.2 Workflow: one CommandLineTool per process, a job file of literals.

Layout of the directory written by ``to_cwl``::

    workflow.cwl                 the Workflow; one input per literal, one output per node
    job.json                     the literal values
    tools/<process>.cwl          one CommandLineTool per process used
    tools/containerdag-inputs.cwl  the helper that builds a node's inputs JSON

Each node is two steps: ``<node>--inputs`` (the helper: the node's literals, and each
upstream outputs file with the output it reads) and ``<node>`` (the process, the inputs file
on stdin, stdout kept as the File ``outputs``). Values pass between steps only as files, so
they are not bound by ``loadContents``' 64 KiB. Ids: a node ``node a`` is step ``node_a``,
its literal ``y`` the workflow input ``node_a-y``, its outputs the workflow output
``node_a--outputs``; each step keeps the node's name as ``label`` and the process as written
in ``cdag:process``, so ``from_cwl`` gives back the same graph.
"""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..model.graph import Graph, Node, Ref
from ..model.ports import json_type
from ..processes.python import PythonProcess
from .common import (
    DEFAULT_PYTHON_IMAGE,
    ELEMENTS_SCRIPT,
    GATHER_SCRIPT,
    MERGE_SCRIPT,
    ExportError,
    Hardening,
    Image,
    Inspector,
    docker_inspector,
    image_of,
    plan,
    python_script,
    unique_ids,
    yaml_text,
)

if TYPE_CHECKING:
    from ..processes.registry import Registry

__all__ = ["CwlExport", "to_cwl", "from_cwl", "NAMESPACE"]

#: The namespace of this exporter's extension fields (``cdag:process``, ``cdag:timeout``).
NAMESPACE = "https://example.org/containerdag_widgets/cwl#"
HELPER = "containerdag-inputs"
#: The helpers of a scattered node: its elements' inputs, and its outputs gathered in lists.
ELEMENTS = "containerdag-elements"
GATHER = "containerdag-gather"
_ID = r"[^A-Za-z0-9_]"


@dataclass
class CwlExport:
    """What ``to_cwl`` wrote: run it with ``cwltool WORKFLOW JOB``."""

    workflow: Path
    job: Path
    tools: dict[str, Path]
    #: Things the user should know (an image not pinned, a module the Python image needs).
    notes: list[str] = field(default_factory=list)

    @property
    def command(self) -> str:
        """The cwltool command that runs it with the containers' memory and CPU limits."""
        return (f"cwltool --strict-memory-limit --strict-cpu-limit "
                f"{shlex.quote(str(self.workflow))} {shlex.quote(str(self.job))}")


def _dump(doc: dict[str, Any], path: Path) -> None:
    path.write_text("#!/usr/bin/env cwl-runner\n" + yaml_text(doc))


def _fix(text: str) -> str:
    return text if text[:1].isalpha() or text[:1] == "_" else f"n_{text}"


def _docker(image: Image, notes: list[str], what: str,
            process: str | None = None) -> dict[str, Any]:
    req: dict[str, Any] = {"class": "DockerRequirement", "dockerPull": image.pull}
    if image.id:
        # cwltool runs the image ID when the engine has it, and only pulls otherwise; an ID is
        # the image's content hash (a registry keeps it), so a changed tag cannot slip in.
        req["dockerImageId"] = image.id
    else:
        notes.append(f"{what}: image {image.tag!r} is not on this engine, so it is referenced "
                     "by tag only (not pinned)")
    if image.entrypoint:
        raise ExportError(
            f"{what}: image {image.tag!r} has ENTRYPOINT {list(image.entrypoint)}, which a CWL "
            "runner puts before the command; rebuild it with ENTRYPOINT [] (the toolkit's "
            "exec ignores ENTRYPOINT, so the process would get a different command line)",
            processes=[process] if process else [])
    return req


def _hints(settings: Hardening) -> list[dict[str, Any]]:
    # Min = Max: cwltool enforces the Min with --strict-memory-limit / --strict-cpu-limit.
    res: dict[str, Any] = {"class": "ResourceRequirement"}
    if settings.cpus is not None:
        res["coresMin"] = res["coresMax"] = settings.cpus
    if settings.mem_limit is not None:
        res["ramMin"] = res["ramMax"] = settings.mem_limit >> 20
    return [res] if len(res) > 1 else []


def _tool(label: str, doc: str, docker: dict[str, Any], base: list[str],
          settings: Hardening) -> dict[str, Any]:
    requirements: list[dict[str, Any]] = [docker]
    if settings.network != "none":  # cwltool runs containers with --net=none otherwise
        requirements.append({"class": "NetworkAccess", "networkAccess": True})
    return {
        "cwlVersion": "v1.2", "class": "CommandLineTool", "label": label, "doc": doc,
        "requirements": requirements, "hints": _hints(settings),
        "baseCommand": base,
        "inputs": {"inputs": {"type": "File", "doc": "the inputs: one JSON object"}},
        "stdin": "$(inputs.inputs.path)",
        "stdout": "outputs.json",
        "outputs": {"outputs": {"type": "stdout", "doc": "the outputs: one JSON object"}},
    }


def _script_tool(label: str, what: str, doc: str, python: Image, notes: list[str],
                 script: str, arguments: list[str], files: dict[str, str],
                 inputs: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    """A helper tool (``what`` in notes): ``python3 -c SCRIPT ARGUMENTS`` in the Python
    image, ``files`` (name -> input) written before it runs, hardened as the defaults."""
    return {
        "cwlVersion": "v1.2", "class": "CommandLineTool", "label": label, "doc": doc,
        "requirements": [
            _docker(python, notes, what),
            {"class": "InitialWorkDirRequirement", "listing": [
                {"entryname": name, "entry": f"$(inputs.{source})"}
                for name, source in files.items()]},
        ],
        "hints": _hints(Hardening.of(None)),
        "baseCommand": ["python3", "-c", script],
        "arguments": arguments,
        "inputs": inputs,
        "outputs": outputs,
    }


#: What an inputs helper writes before it runs: its literal values and its plan.
_MERGE_FILES = {"literals.json": "literal_values", "plan.json": "plan"}


def _merge_inputs(plan_doc: str) -> dict[str, Any]:
    """The inputs of an inputs helper: the plan, the literal values, the upstream files."""
    return {
        "plan": {"type": "Any", "doc": plan_doc},
        "literal_values": {"type": "Any",
                           "doc": "a list of values in the order of literal_ports, or {}"},
        "ref_files": {"type": {"type": "array", "items": "File"},
                      "inputBinding": {"position": 1}},
    }


def _helper(python: Image, notes: list[str]) -> dict[str, Any]:
    """Builds one node's inputs file."""
    return _script_tool(
        HELPER, "the inputs helper",
        "Builds one node's inputs JSON from its literal values and the upstream outputs "
        "files it reads (files, so values over 64 KiB pass).", python, notes, MERGE_SCRIPT,
        ["inputs.json", "literals.json", "plan.json"], _MERGE_FILES,
        _merge_inputs("literal_ports, and refs: [port, node, output]"),
        {"inputs": {"type": "File", "outputBinding": {"glob": "inputs.json"}}})


def _elements_helper(python: Image, notes: list[str]) -> dict[str, Any]:
    """The inputs helper of a scattered node: one inputs file per element, in order."""
    return _script_tool(
        ELEMENTS, "the inputs helper",
        "Builds a scattered node's inputs, one JSON file per element, in order.",
        python, notes, ELEMENTS_SCRIPT, ["element", "literals.json", "plan.json"],
        _MERGE_FILES,
        _merge_inputs("literal_ports, refs: [port, node, output], scatter: [port, ...], "
                      "method"),
        {"elements": {"type": {"type": "array", "items": "File"},
                      "outputBinding": {"glob": "element-*.json"}}})


def _gather_helper(python: Image, notes: list[str]) -> dict[str, Any]:
    """Gathers a scattered step's outputs files into one, each output a list."""
    return _script_tool(
        GATHER, "the gather helper",
        "Gathers a scattered node's outputs (one file per element, in order) into one "
        "outputs file: each output a list in element order.", python, notes, GATHER_SCRIPT,
        ["outputs.json", "plan.json"], {"plan.json": "plan"},
        {"plan": {"type": "Any", "doc": "outputs: [port, ...]"},
         "parts": {"type": {"type": "array", "items": "File"},
                   "inputBinding": {"position": 1}}},
        {"outputs": {"type": "File", "outputBinding": {"glob": "outputs.json"}}})


_CWL_TYPES: dict[str, Any] = {"boolean": "boolean", "integer": "long", "number": "double",
                               "string": "string", "null": ["null", "Any"]}


def _cwl_type(value: Any) -> Any:
    """The CWL type of a port from its example's JSON type (arrays and objects: Any)."""
    return _CWL_TYPES.get(json_type(value), "Any")


def to_cwl(graph: Graph, registry: Registry, directory: str | Path, *,
           python_image: str | None = None,
           inspect_image: Inspector | None = None) -> CwlExport:
    """Write ``graph`` as a CWL v1.2 workflow, its tools and a job file into ``directory``.

    ``python_image`` (needs ``python3``; default ``DEFAULT_PYTHON_IMAGE``) runs the inputs
    helper and the graph's in-process ``@process`` functions; ``inspect_image`` reads image
    metadata (default: the local engine).
    Raises ``GraphValidationError`` for an invalid graph and ``ExportError`` for a process
    that cannot be exported (naming it).
    """
    steps = plan(graph, registry)
    inspect_image = inspect_image or docker_inspector()
    notes: list[str] = []
    out = Path(directory)
    (out / "tools").mkdir(parents=True, exist_ok=True)
    python = image_of(python_image or DEFAULT_PYTHON_IMAGE, inspect_image)

    procs = {s.proc.name: s.proc for s in steps}
    tool_ids = unique_ids(list(procs), _ID, _fix, reserved={HELPER, ELEMENTS, GATHER})
    tools: dict[str, Path] = {}
    for name, proc in procs.items():
        settings = Hardening.of(proc)
        if isinstance(proc, PythonProcess):
            script, more = python_script(proc)
            notes.extend(more)
            doc = _tool(name, proc.description, _docker(python, notes, f"process {name!r}", name),
                        ["python3", "-c", script], settings)
        elif (command := proc.image_command()) is not None:
            tag, image_id, argv = command
            image = image_of(tag, inspect_image, image_id)
            doc = _tool(name, proc.description, _docker(image, notes, f"process {name!r}", name),
                        argv, settings)
        else:
            raise ExportError(f"process {name!r} is a {type(proc).__name__}, neither an image's "
                              "process nor an in-process @process function", processes=[name])
        tools[name] = out / "tools" / f"{tool_ids[name]}.cwl"
        _dump(doc, tools[name])
    tools[HELPER] = out / "tools" / f"{HELPER}.cwl"
    _dump(_helper(python, notes), tools[HELPER])
    scattered = [s for s in steps if s.scatter]
    if scattered:
        for name, make in ((ELEMENTS, _elements_helper), (GATHER, _gather_helper)):
            tools[name] = out / "tools" / f"{name}.cwl"
            _dump(make(python, notes), tools[name])
    for s in scattered:
        if s.on_error == "continue":
            notes.append(f"node {s.node!r}: on_error continue is not carried over: in CWL a "
                         "failed element fails the step")

    ids = unique_ids([s.node for s in steps], _ID, _fix)
    # Where each node's outputs file comes from: a scattered node's, from its gather step.
    out_of = {s.node: f"{ids[s.node]}--gather/outputs" if s.scatter else f"{ids[s.node]}/outputs"
              for s in steps}
    inputs: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    job: dict[str, Any] = {}
    wf_steps: dict[str, Any] = {}
    for s in steps:
        sid = ids[s.node]
        ports = unique_ids(list(s.literals), _ID, lambda t: t)
        literal_sources = []
        for port, value in s.literals.items():
            wid = f"{sid}-{ports[port]}"
            inputs[wid] = {"type": _cwl_type(value), "label": f"{s.node}: {port}"}
            job[wid] = value
            literal_sources.append(wid)
        merge_plan: dict[str, Any] = {"literal_ports": list(s.literals),
                                      "refs": [[p, r.node, r.output] for p, r in s.refs.items()]}
        if s.scatter:
            merge_plan.update(scatter=list(s.scatter), method=s.scatter_method)
        merge_in: dict[str, Any] = {
            "plan": {"default": merge_plan},
            "literal_values": ({"source": literal_sources, "linkMerge": "merge_nested"}
                               if literal_sources else {"default": {}}),
            "ref_files": ({"source": [out_of[r.node] for r in s.refs.values()],
                           "linkMerge": "merge_nested"} if s.refs else {"default": []}),
        }
        made = "elements" if s.scatter else "inputs"
        wf_steps[f"{sid}--inputs"] = {"label": f"inputs of {s.node}",
                                      "run": f"tools/{ELEMENTS if s.scatter else HELPER}.cwl",
                                      "in": merge_in, "out": [made]}
        step: dict[str, Any] = {"label": s.node, "cdag:process": s.process,
                                "run": f"tools/{tools[s.proc.name].name}",
                                "in": {"inputs": f"{sid}--inputs/{made}"}, "out": ["outputs"]}
        if s.scatter:  # a call per element, over the elements' inputs files, then gathered
            step.update({"scatter": "inputs", "cdag:scatter": list(s.scatter),
                         "cdag:scatter_method": s.scatter_method, "cdag:on_error": s.on_error})
            wf_steps[f"{sid}--gather"] = {
                "label": f"outputs of {s.node}", "run": f"tools/{GATHER}.cwl",
                "in": {"plan": {"default": {"outputs": list(s.proc.outputs)}},
                       "parts": f"{sid}/outputs"}, "out": ["outputs"]}
        if s.timeout is not None:
            step["cdag:timeout"] = s.timeout
            step["requirements"] = [{"class": "ToolTimeLimit",
                                     "timelimit": max(1, math.ceil(s.timeout))}]
        wf_steps[sid] = step
        outputs[f"{sid}--outputs"] = {"type": "File", "outputSource": out_of[s.node],
                                      "label": f"outputs of {s.node}"}
    workflow = {
        "cwlVersion": "v1.2", "class": "Workflow",
        "$namespaces": {"cdag": NAMESPACE},
        "label": "containerdag graph",
        "doc": "Exported by containerdag_widgets. Run: cwltool workflow.cwl job.json",
        "requirements": [{"class": "MultipleInputFeatureRequirement"}] + (
            [{"class": "ScatterFeatureRequirement"}] if scattered else []),
        "inputs": inputs, "outputs": outputs, "steps": wf_steps,
    }
    path = out / "workflow.cwl"
    _dump(workflow, path)
    job_path = out / "job.json"
    job_path.write_text(json.dumps(job, indent=2, allow_nan=False) + "\n")
    return CwlExport(path, job_path, tools, notes)


def from_cwl(path: str | Path) -> Graph:
    """The graph of a workflow ``to_cwl`` wrote (``path``: its directory or workflow.cwl)."""
    path = Path(path)
    if path.is_dir():
        path = path / "workflow.cwl"
    doc = yaml.safe_load(path.read_text())
    job_path = path.with_name("job.json")
    job = json.loads(job_path.read_text()) if job_path.exists() else {}
    if not isinstance(doc, dict) or doc.get("class") != "Workflow":
        raise ExportError(f"{path} is not a CWL Workflow")
    steps: dict[str, Any] = doc.get("steps") or {}
    names = {sid: step["label"] for sid, step in steps.items() if "cdag:process" in step}
    if not names:
        raise ExportError(f"{path} was not written by containerdag_widgets (no step has "
                          "cdag:process)")
    nodes: dict[str, Node] = {}
    for sid, name in names.items():
        try:
            nodes[name] = _node(name, steps[sid], steps, names, job)
        except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
            raise ExportError(f"{path}: step {sid!r} is not as containerdag_widgets writes it "
                              f"({type(exc).__name__}: {exc})") from None
    return Graph(nodes)


def _node(name: str, step: dict[str, Any], steps: dict[str, Any], names: dict[str, str],
          job: dict[str, Any]) -> Node:
    def sources(entry: dict[str, Any]) -> list[str]:
        src = entry.get("source", [])
        return [src] if isinstance(src, str) else list(src)

    merge = steps[step["in"]["inputs"].split("/")[0]]["in"]
    plan_ = merge["plan"]["default"]
    inputs: dict[str, Any] = {}
    for port, wid in zip(plan_["literal_ports"], sources(merge["literal_values"]), strict=True):
        if wid not in job:
            raise KeyError(f"the job file has no value for workflow input {wid!r}")
        inputs[port] = job[wid]
    for (port, _node, output), src in zip(plan_["refs"], sources(merge["ref_files"]),
                                          strict=True):
        sid = src.split("/")[0]
        inputs[port] = Ref(names[sid.removesuffix("--gather")], output)
    timeout = step.get("cdag:timeout")
    return Node(name, step["cdag:process"], inputs,
                float(timeout) if timeout is not None else None,
                scatter=tuple(step.get("cdag:scatter", ())),
                scatter_method=step.get("cdag:scatter_method", "dotproduct"),
                on_error=step.get("cdag:on_error", "fail"))
