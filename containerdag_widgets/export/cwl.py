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

A node whose process is a CWL tool (``Registry.add_cwl``) runs as that tool: its document is
copied to ``tools/<process>.cwl`` with the image the toolkit ran it in pinned as its
``DockerRequirement`` (the only change), and the step is wired to its own typed inputs and
outputs: a literal is a workflow input of the port's type (a file a ``File`` in the job), an
output of another CWL node passes directly (files too), an output of a JSON node through
``<node>--value-<port>`` (``tools/containerdag-value.cwl``: the value read from its outputs
file, by ``cwl.output.json``); its values are gathered into its outputs file by
``<node>--collect`` (the inputs helper) for the nodes after it and the workflow output
``<node>--outputs``, and each of its file outputs is the workflow output
``<node>--file-<output>``. A scattered CWL node uses CWL's own ``scatter`` and
``scatterMethod`` on the tool's inputs (a scattered literal is a workflow input of an array
of the port's type), so each output is a list in element order, as the toolkit gives it.
"""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..model.files import File, Glob, file_of, map_files
from ..model.graph import Graph, Node, Ref
from ..model.ports import json_type
from ..processes.cwl import CwlProcess
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
#: The serialized literals above which a node's inputs helper is unkeyed (``-unkeyed``, never
#: reused by a runner's cache), since one command-line argument holds at most 128 KiB on Linux.
KEY_LIMIT = 64 * 1024
#: Before a keyed helper's script: drops its first argument, the cache key (see _script_tool).
_SKIP_KEY = "import sys\ndel sys.argv[1]  # the cache key, for the runner only\n"
#: The helpers of a scattered node: its elements' inputs, and its outputs gathered in lists.
ELEMENTS = "containerdag-elements"
GATHER = "containerdag-gather"
#: The helper that reads one value from a JSON node's outputs file for a CWL tool's input.
VALUE = "containerdag-value"
#: ``python3 -c VALUE_SCRIPT OUTPUTS OUTPUT``: the value as the tool's output ``value``.
VALUE_SCRIPT = """\
import json, sys
outputs_path, output = sys.argv[1:3]
with open(outputs_path) as f:
    outputs = json.load(f)
if not isinstance(outputs, dict) or output not in outputs:
    sys.exit("containerdag: the node gave no output %r" % output)
with open("cwl.output.json", "w") as f:
    json.dump({"value": outputs[output]}, f)
"""
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
                 inputs: dict[str, Any], outputs: dict[str, Any],
                 key: str | None) -> dict[str, Any]:
    """A helper tool (``what`` in notes): ``python3 -c SCRIPT ARGUMENTS`` in the Python
    image, ``files`` (name -> input) written before it runs, hardened as the defaults.

    cwltool keys a call by its command line, its input files and its requirements *as
    written*, so the values the ``files`` hold are not in its key: ``key`` (parameter
    references, serialized as JSON) is the script's first argument, which it drops, so
    ``cwltool --cachedir`` reuses a helper only for the same values (and the node after it,
    whose inputs file is then the same file). Without ``key`` the helper is never reused."""
    requirements: list[dict[str, Any]] = [
        _docker(python, notes, what),
        {"class": "InitialWorkDirRequirement", "listing": [
            {"entryname": name, "entry": f"$(inputs.{source})"}
            for name, source in files.items()]},
    ]
    if key is None:
        requirements.append({"class": "WorkReuse", "enableReuse": False})
    return {
        "cwlVersion": "v1.2", "class": "CommandLineTool", "label": label, "doc": doc,
        "requirements": requirements,
        "hints": _hints(Hardening.of(None)),
        "baseCommand": ["python3", "-c", script if key is None else _SKIP_KEY + script],
        "arguments": arguments if key is None else [{"valueFrom": key}, *arguments],
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


#: The cache key of an inputs helper: its plan and its literal values.
_MERGE_KEY = "cdag-key=$(inputs.plan)$(inputs.literal_values)"


def _helper(python: Image, notes: list[str], keyed: bool = True) -> dict[str, Any]:
    """Builds one node's inputs file (``keyed``: see ``_script_tool``)."""
    return _script_tool(
        HELPER if keyed else f"{HELPER}-unkeyed", "the inputs helper",
        "Builds one node's inputs JSON from its literal values and the upstream outputs "
        "files it reads (files, so values over 64 KiB pass).", python, notes, MERGE_SCRIPT,
        ["inputs.json", "literals.json", "plan.json"], _MERGE_FILES,
        _merge_inputs("literal_ports, and refs: [port, node, output]"),
        {"inputs": {"type": "File", "outputBinding": {"glob": "inputs.json"}}},
        _MERGE_KEY if keyed else None)


def _elements_helper(python: Image, notes: list[str], keyed: bool = True) -> dict[str, Any]:
    """The inputs helper of a scattered node: one inputs file per element, in order."""
    return _script_tool(
        ELEMENTS if keyed else f"{ELEMENTS}-unkeyed", "the inputs helper",
        "Builds a scattered node's inputs, one JSON file per element, in order.",
        python, notes, ELEMENTS_SCRIPT, ["element", "literals.json", "plan.json"],
        _MERGE_FILES,
        _merge_inputs("literal_ports, refs: [port, node, output], scatter: [port, ...], "
                      "method"),
        {"elements": {"type": {"type": "array", "items": "File"},
                      "outputBinding": {"glob": "element-*.json"}}},
        _MERGE_KEY if keyed else None)


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
        {"outputs": {"type": "File", "outputBinding": {"glob": "outputs.json"}}},
        "cdag-key=$(inputs.plan)")


def _value_helper(python: Image, notes: list[str]) -> dict[str, Any]:
    """Reads one output of a JSON node's outputs file, as a CWL value (any type)."""
    return {
        "cwlVersion": "v1.2", "class": "CommandLineTool", "label": VALUE,
        "doc": "One output of a node's outputs file, as a value a CWL tool's input takes.",
        "requirements": [_docker(python, notes, "the value helper")],
        "hints": _hints(Hardening.of(None)),
        "baseCommand": ["python3", "-c", VALUE_SCRIPT],
        "inputs": {"outputs": {"type": "File", "inputBinding": {"position": 1}},
                   "output": {"type": "string", "inputBinding": {"position": 2}}},
        "outputs": {"value": {"type": "Any"}},
    }


# ---- CWL tools, exported as themselves ----------------------------------------------------

_PRIMITIVE = {"null", "boolean", "int", "long", "float", "double", "string", "File",
              "Directory", "Any"}


def _short(name: Any) -> str:
    return str(name).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _ports(raw: Any) -> dict[str, dict[str, Any]]:
    """A tool's ``inputs``/``outputs`` as written (a map or a list) as ``{id: fields}``."""
    if isinstance(raw, dict):
        return {_short(k): (v if isinstance(v, dict) else {"type": v}) for k, v in raw.items()}
    return {_short(p["id"]): p for p in raw or [] if isinstance(p, dict) and "id" in p}


def _plain_type(kind: Any) -> bool:
    """Whether a type as written stands alone in the workflow (no type of the tool's
    ``SchemaDefRequirement``)."""
    if isinstance(kind, str):
        return kind.rstrip("?").removesuffix("[]").rstrip("?") in _PRIMITIVE
    if isinstance(kind, list):
        return all(_plain_type(k) for k in kind)
    if isinstance(kind, dict):
        if kind.get("type") == "array":
            return _plain_type(kind.get("items"))
        if kind.get("type") == "enum":
            return True
        if kind.get("type") == "record":
            return all(_plain_type(f.get("type")) for f in _ports(kind.get("fields")).values())
    return False


def _has_file(kind: Any) -> bool:
    """Whether values of a type as written hold files."""
    if isinstance(kind, str):
        return kind in ("stdout", "stderr") or kind.rstrip("?").removesuffix("[]").rstrip(
            "?") in ("File", "Directory")
    if isinstance(kind, list):
        return any(_has_file(k) for k in kind)
    if isinstance(kind, dict):
        return _has_file(kind.get("items")) or any(
            _has_file(f.get("type")) for f in _ports(kind.get("fields")).values())
    return False


def _with_docker(found: Any, docker: dict[str, Any]) -> Any:
    """``requirements`` as written with ``docker`` as its DockerRequirement."""
    if isinstance(found, dict):
        return {"DockerRequirement": {k: v for k, v in docker.items() if k != "class"},
                **{k: v for k, v in found.items() if _short(k) != "DockerRequirement"}}
    return [docker, *[r for r in found or []
                      if not (isinstance(r, dict) and _short(r.get("class")) ==
                              "DockerRequirement")]]


def _without_docker(found: Any) -> Any:
    if isinstance(found, dict):
        return {k: v for k, v in found.items() if _short(k) != "DockerRequirement"}
    return [r for r in found or [] if not (isinstance(r, dict)
                                           and _short(r.get("class")) == "DockerRequirement")]


def _cwl_document(proc: CwlProcess, inspect_image: Inspector,
                  notes: list[str]) -> dict[str, Any]:
    """The tool's own document, its image pinned as the toolkit ran it (by ID)."""
    name = proc.name
    try:
        doc = yaml.safe_load(proc.text)
    except yaml.YAMLError as exc:
        raise ExportError(f"CWL process {name!r}: its document {proc.path} is not YAML here "
                          f"({exc})", processes=[name]) from None
    if not isinstance(doc, dict) or doc.get("class") != "CommandLineTool":
        raise ExportError(f"CWL process {name!r}: its document {proc.path} is not one "
                          "CommandLineTool ($graph documents are not exported)",
                          processes=[name])
    reads = [key for key in ("$import", "$include", "$mixin") if key in proc.text]
    if reads:
        raise ExportError(f"CWL process {name!r}: its document {proc.path} reads other files "
                          f"({', '.join(reads)}), which the export does not copy",
                          processes=[name])
    image = image_of(proc.image, inspect_image, str(proc.image_id) or None)
    doc["requirements"] = _with_docker(doc.get("requirements"),
                                       _docker(image, notes, f"process {name!r}", name))
    hints = _without_docker(doc.get("hints"))
    if hints:
        doc["hints"] = hints
    else:
        doc.pop("hints", None)
    return doc


def _job_value(value: Any, form: str | None) -> Any:
    """A literal as a CWL job value: each file a ``File`` object (with the input's declared
    ``format``, as the toolkit gives it)."""
    def as_cwl(found: Any) -> dict[str, Any]:
        path = str(file_of(found).path)
        return {"class": "File", "path": path, **({"format": form} if form else {})}

    return map_files(value, as_cwl)


def _from_job(value: Any) -> Any:
    if isinstance(value, dict) and value.get("class") == "File" and "path" in value:
        return File(value["path"])
    if isinstance(value, dict):
        return {k: _from_job(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_job(v) for v in value]
    return value


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
    steps = plan(graph, registry, cwl_tools=True)
    inspect_image = inspect_image or docker_inspector()
    notes: list[str] = []
    out = Path(directory)
    (out / "tools").mkdir(parents=True, exist_ok=True)
    python = image_of(python_image or DEFAULT_PYTHON_IMAGE, inspect_image)

    procs = {s.proc.name: s.proc for s in steps}
    tool_ids = unique_ids(list(procs), _ID, _fix, reserved={HELPER, f"{HELPER}-unkeyed", ELEMENTS,
                                                         f"{ELEMENTS}-unkeyed", GATHER, VALUE})
    tools: dict[str, Path] = {}
    cwl_docs: dict[str, dict[str, Any]] = {}
    for name, proc in procs.items():
        settings = Hardening.of(proc)
        if isinstance(proc, CwlProcess):
            cwl_docs[name] = doc = _cwl_document(proc, inspect_image, notes)
            tools[name] = out / "tools" / f"{tool_ids[name]}.cwl"
            tools[name].write_text(
                f"#!/usr/bin/env cwl-runner\n# CWL tool {proc.path.name} (process {name!r}, "
                f"document {proc.document_hash[:12]}), its image pinned as the toolkit ran it\n"
                + yaml_text(doc))
            continue
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
    unkeyed = {s.node for s in steps if not isinstance(s.proc, CwlProcess)
               and len(json.dumps(list(s.literals.values()))) > KEY_LIMIT}
    notes.extend(f"node {n!r}: its literal values are over {KEY_LIMIT // 1024} KiB, too "
                 "large to key its inputs helper on the command line: a runner's cache "
                 "(cwltool --cachedir) never reuses it, nor the node" for n in unkeyed)

    def helper_of(s: Any) -> str:
        name = ELEMENTS if s.scatter else HELPER
        return f"{name}-unkeyed" if s.node in unkeyed else name

    made_helpers = {helper_of(s) for s in steps if not isinstance(s.proc, CwlProcess)}
    made_helpers.add(HELPER)  # a CWL node's values are collected by it too
    for name in sorted(made_helpers):
        keyed = not name.endswith("-unkeyed")
        make = _elements_helper if name.startswith(ELEMENTS) else _helper
        tools[name] = out / "tools" / f"{name}.cwl"
        _dump(make(python, notes, keyed), tools[name])
    scattered = [s for s in steps if s.scatter]
    if scattered:
        tools[GATHER] = out / "tools" / f"{GATHER}.cwl"
        _dump(_gather_helper(python, notes), tools[GATHER])
    by_node = {s.node: s for s in steps}
    if any(not isinstance(by_node[r.node].proc, CwlProcess)
           for s in steps if isinstance(s.proc, CwlProcess) for r in s.refs.values()):
        tools[VALUE] = out / "tools" / f"{VALUE}.cwl"
        _dump(_value_helper(python, notes), tools[VALUE])
    for s in scattered:
        if s.on_error == "continue":
            notes.append(f"node {s.node!r}: on_error continue is not carried over: in CWL a "
                         "failed element fails the step")

    ids = unique_ids([s.node for s in steps], _ID, _fix)
    # Where each node's outputs file comes from: a scattered node's, from its gather step.
    out_of = {s.node: f"{ids[s.node]}--collect/inputs" if isinstance(s.proc, CwlProcess) else
              f"{ids[s.node]}--gather/outputs" if s.scatter else
              f"{ids[s.node]}/outputs" for s in steps}
    inputs: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    job: dict[str, Any] = {}
    wf_steps: dict[str, Any] = {}
    for s in steps:
        sid = ids[s.node]
        if isinstance(s.proc, CwlProcess):
            _cwl_step(s, sid, ids, out_of, by_node, cwl_docs[s.proc.name],
                      f"tools/{tools[s.proc.name].name}", inputs, outputs, job, wf_steps)
            continue
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
                                      "run": f"tools/{helper_of(s)}.cwl",
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


def _cwl_step(s: Any, sid: str, ids: dict[str, str], out_of: dict[str, str],
              by_node: dict[str, Any], doc: dict[str, Any], run: str, inputs: dict[str, Any],
              outputs: dict[str, Any], job: dict[str, Any], wf_steps: dict[str, Any]) -> None:
    """A CWL tool's node: the tool itself, wired to its own inputs and outputs (see the
    module's docstring)."""
    tool_in, tool_out = _ports(doc.get("inputs")), _ports(doc.get("outputs"))
    ports = unique_ids([*s.literals, *s.refs], _ID, lambda t: t)
    step_in: dict[str, Any] = {}
    for port, value in s.literals.items():
        if value is None:
            continue  # an optional input not given: the tool's own default or null
        kind = (tool_in.get(port) or {}).get("type")
        kind = kind if kind is not None and _plain_type(kind) else "Any"
        form = s.proc._formats.get(port)
        wid = f"{sid}-{ports[port]}"
        if port in s.scatter:  # a list of the tool's type, one call per element
            kind = {"type": "array", "items": kind}
            value = [_job_value(v, form) for v in
                     (value.files() if isinstance(value, Glob) else value)]
        else:
            value = _job_value(value, form)
        inputs[wid] = {"type": kind, "label": f"{s.node}: {port}"}
        job[wid] = value
        step_in[port] = wid
    for port, ref in s.refs.items():
        if isinstance(by_node[ref.node].proc, CwlProcess):
            step_in[port] = f"{ids[ref.node]}/{ref.output}"
            continue
        vid = f"{sid}--value-{ports[port]}"
        wf_steps[vid] = {"label": f"{s.node}: {port} from {ref.node}: {ref.output}",
                         "run": f"tools/{VALUE}.cwl",
                         "in": {"outputs": out_of[ref.node], "output": {"default": ref.output}},
                         "out": ["value"]}
        step_in[port] = f"{vid}/value"
    step: dict[str, Any] = {"label": s.node, "cdag:process": s.process, "cdag:kind": "cwl",
                            "cdag:refs": {p: [r.node, r.output] for p, r in s.refs.items()},
                            "run": run, "in": step_in, "out": list(tool_out)}
    if s.scatter:  # CWL's own scatter: each output a list in element order, as the toolkit's
        step.update({"scatter": list(s.scatter), "scatterMethod": s.scatter_method,
                     "cdag:on_error": s.on_error})
    if s.timeout is not None:
        step["cdag:timeout"] = s.timeout
        step["requirements"] = [{"class": "ToolTimeLimit",
                                 "timelimit": max(1, math.ceil(s.timeout))}]
    wf_steps[sid] = step
    values = [o for o, spec in tool_out.items() if not _has_file(spec.get("type"))]
    wf_steps[f"{sid}--collect"] = {
        "label": f"outputs of {s.node}", "run": f"tools/{HELPER}.cwl",
        "in": {"plan": {"default": {"literal_ports": values, "refs": []}},
               "literal_values": ({"source": [f"{sid}/{o}" for o in values],
                                   "linkMerge": "merge_nested"} if values else {"default": {}}),
               "ref_files": {"default": []}},
        "out": ["inputs"]}
    outputs[f"{sid}--outputs"] = {"type": "File", "outputSource": out_of[s.node],
                                  "label": f"outputs of {s.node} (its values)"}
    for o, spec in tool_out.items():
        if o not in values:
            kind = spec.get("type")
            kind = "File" if kind in ("stdout", "stderr") else kind
            outputs[f"{sid}--file-{o}"] = {
                "type": {"type": "array", "items": kind} if s.scatter else kind,
                "outputSource": f"{sid}/{o}", "label": f"{s.node}: {o}"}


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

    timeout = step.get("cdag:timeout")
    if step.get("cdag:kind") == "cwl":  # a CWL tool's node: its own inputs
        refs = step.get("cdag:refs") or {}
        given: dict[str, Any] = {p: Ref(*refs[p]) for p in refs}
        for port, src in step["in"].items():
            if port not in refs:
                wid = src if isinstance(src, str) else src["source"]
                if wid not in job:
                    raise KeyError(f"the job file has no value for workflow input {wid!r}")
                given[port] = _from_job(job[wid])
        return Node(name, step["cdag:process"], given,
                    float(timeout) if timeout is not None else None,
                    scatter=tuple(step.get("scatter", ())),
                    scatter_method=step.get("scatterMethod", "dotproduct"),
                    on_error=step.get("cdag:on_error", "fail"))
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
        inputs[port] = Ref(names[sid.removesuffix("--gather").removesuffix("--collect")],
                           output)
    return Node(name, step["cdag:process"], inputs,
                float(timeout) if timeout is not None else None,
                scatter=tuple(step.get("cdag:scatter", ())),
                scatter_method=step.get("cdag:scatter_method", "dotproduct"),
                on_error=step.get("cdag:on_error", "fail"))
