"""A graph as an Argo ``Workflow`` (argoproj.io/v1alpha1): a DAG, a container template per process.

Values pass between tasks as artifacts (files in the cluster's artifact repository), not as
parameters: a parameter lives in the Workflow object itself, which must stay under etcd's
1 MB, and a container's ``result`` keeps only 256 kB of stdout, while a process may print up
to the toolkit's 8 MiB. So, as in the CWL export, each node is two tasks: ``<node>--inputs``
(the inputs helper, in the Python image: the node's literals and the upstream outputs
artifacts it reads, into ``inputs.json``) and ``<node>`` (the process: ``inputs.json`` on
stdin, stdout kept as the artifact ``outputs``). Literals are the workflow's parameters, as
JSON text (``argo submit -p node-a-y=2.5`` overrides one).

Argo substitutes ``{{...}}`` (and ``{{=...}}`` expressions) in the spec's fields, parameter
values included, and has no escape for ``{{`` (argoproj/argo-workflows#8253, #2430). So the
JSON it sees never holds ``{{``: inside a JSON string the second brace is written ``\\u007b``,
which JSON reads back as ``{`` (outside strings JSON never puts two braces together). A literal
string ``{{workflow.name}}`` reaches its step as those characters.

Containers run with the warm containers' hardened settings: a read-only root, ``/tmp`` an
in-memory ``emptyDir`` of the tmpfs size (artifacts are placed there, which also suits
Argo's init-less mode), every capability dropped, no privilege escalation, the memory and CPU
limits. Kubernetes has no per-container pids limit and no "no network" switch: the workflow's
annotations say so, and pods are labelled ``containerdag-widgets/network: none`` for a
NetworkPolicy to select. Needs an artifact repository configured for the namespace.
"""

from __future__ import annotations

import base64
import json
import math
import re
from typing import TYPE_CHECKING, Any

from ..processes.cwl import CwlProcess
from ..processes.python import PythonProcess
from .common import (
    DEFAULT_PYTHON_IMAGE,
    ELEMENTS_SCRIPT,
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
)

if TYPE_CHECKING:
    from ..model.graph import Graph
    from ..processes.registry import Registry

__all__ = ["to_argo"]

DIR = "/tmp/containerdag"
#: The process template's command: the inputs file on stdin, stdout into the outputs file.
RUN = f'exec "$@" < {DIR}/inputs.json > {DIR}/outputs.json'
PREFIX = "containerdag-widgets/"
_FIELD = r"[^A-Za-z0-9-]"


def _field_id(text: str) -> str:
    """An Argo template/task name: ``[a-zA-Z0-9][-a-zA-Z0-9]*``, no ``--`` (kept for us),
    starting with a letter (a task name is also a name in ``depends`` expressions)."""
    text = re.sub("-+", "-", text.replace("_", "-")).strip("-")
    return text if text[:1].isalpha() else f"n-{text}".rstrip("-")


def _quantity_cpu(cpus: float) -> str:
    return str(int(cpus)) if float(cpus).is_integer() else f"{math.ceil(cpus * 1000)}m"


def _quantity_bytes(nbytes: int) -> str:
    for suffix, unit in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if nbytes % unit == 0:
            return f"{nbytes // unit}{suffix}"
    return str(nbytes)


def _container(image: Image, command: list[str], settings: Hardening,
               notes: list[str]) -> dict[str, Any]:
    if image.digest:
        ref, policy = image.digest, "IfNotPresent"
    elif image.id:
        ref, policy = image.id, "IfNotPresent"
        notes.append(f"image {image.tag!r} has no registry digest: referenced by its ID "
                     f"{image.id} (pinned, but only nodes that hold it can run it: push it and "
                     "export again, or load it into the nodes)")
    else:
        ref, policy = image.tag, "IfNotPresent"
        notes.append(f"image {image.tag!r} is not on this engine: referenced by tag (not "
                     "pinned)")
    security: dict[str, Any] = {
        "readOnlyRootFilesystem": settings.read_only,
        "allowPrivilegeEscalation": not settings.no_new_privileges,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if settings.cap_drop:
        security["capabilities"] = {"drop": list(settings.cap_drop)}
    user = (settings.user or "").split(":")
    if user[0].isdigit():
        security["runAsUser"] = int(user[0])
        if len(user) > 1 and user[1].isdigit():
            security["runAsGroup"] = int(user[1])
    limits = {}
    if settings.cpus is not None:
        limits["cpu"] = _quantity_cpu(settings.cpus)
    if settings.mem_limit is not None:
        limits["memory"] = _quantity_bytes(settings.mem_limit)
    container: dict[str, Any] = {
        "image": ref, "imagePullPolicy": policy, "command": command,
        "securityContext": security,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if limits:
        container["resources"] = {"limits": limits}
    return container


def _template(name: str, container: dict[str, Any], settings: Hardening,
              inputs: list[dict[str, Any]], output: str) -> dict[str, Any]:
    return {
        "name": name,
        "metadata": {"labels": {f"{PREFIX}network": (
            settings.network if re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?",
                                             settings.network) else "custom")}},
        "inputs": {"artifacts": inputs},
        "container": container,
        "outputs": {"artifacts": [{"name": output, "path": f"{DIR}/{output}.json",
                                   "archive": {"none": {}}}]},
        "volumes": [{"name": "tmp", "emptyDir": {
            "medium": "Memory", "sizeLimit": _quantity_bytes(settings.tmp_size)}}],
    }


#: Before ELEMENTS_SCRIPT: the folder of the elements' inputs files.
_MKDIR = "import os, sys\nos.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)\n"
#: Written after ELEMENTS_SCRIPT: the elements' indexes, the scatter task's ``withParam``.
_INDEXES = """
import os
with open(os.path.join(os.path.dirname(os.path.dirname(out_path)), "indexes.json"), "w") as f:
    json.dump(["%05d" % i for i in range(len(rows))], f)
"""
#: The template that gathers a scattered node's element outputs into lists, in element order
#: (an element that failed under ``on_error: continue`` gives None):
#: ``python3 -c ARGO_GATHER OUT PLAN PARTS``; PLAN is ``{"outputs": [...], "indexes": [...]}``.
GATHER_TEMPLATE = "containerdag-gather"
ARGO_GATHER = """\
import json, os, sys
out_path, plan_path, parts = sys.argv[1:4]
with open(plan_path) as f:
    plan = json.load(f)
found = []
for index in plan["indexes"]:
    path = os.path.join(parts, index + ".json")
    if os.path.exists(path):
        with open(path) as f:
            found.append(json.load(f))
    else:
        found.append({})
with open(out_path, "w") as f:
    json.dump({port: [part.get(port) for part in found] for port in plan["outputs"]}, f)
"""
#: Where an element's outputs are kept in the artifact repository (a key-only artifact).
PARTS_KEY = "containerdag/{{{{workflow.uid}}}}/{node}/{index}.json"


def _element_template(process: dict[str, Any]) -> dict[str, Any]:
    """The process template for one element of a scattered node: its outputs artifact also
    kept under ``PARTS_KEY``, for the gather to find by the node and the element's index."""
    made = json.loads(json.dumps(process))
    made["name"] = f"{process['name']}--element"
    made["inputs"]["parameters"] = [{"name": "node"}, {"name": "index"}]
    made["outputs"]["artifacts"][0]["s3"] = {"key": PARTS_KEY.format(
        node="{{inputs.parameters.node}}", index="{{inputs.parameters.index}}")}
    return made


def _scatter_tasks(s: Any, tid: str, template: str) -> list[dict[str, Any]]:
    """The tasks of scattered node ``s`` after its elements helper: one per element (Argo's
    ``withParam`` over the helper's indexes), and the gather."""
    indexes = f"{{{{tasks.{tid}--inputs.outputs.parameters.indexes}}}}"
    element: dict[str, Any] = {
        "name": tid, "template": template, "dependencies": [f"{tid}--inputs"],
        "withParam": indexes,
        "arguments": {
            "parameters": [{"name": "node", "value": tid}, {"name": "index", "value": "{{item}}"}],
            "artifacts": [{"name": "inputs", "from": f"{{{{tasks.{tid}--inputs.outputs."
                                                     "artifacts.elements}}",
                           "subPath": "e-{{item}}.json"}]}}
    if s.on_error == "continue":  # the gather gives None for a failed element
        element["continueOn"] = {"failed": True}
    plan = "{" + f'"outputs": {_json(list(s.proc.outputs))}, "indexes": {indexes}' + "}"
    gather = {
        "name": f"{tid}--gather", "template": GATHER_TEMPLATE,
        "dependencies": [tid, f"{tid}--inputs"],
        "arguments": {"artifacts": [
            {"name": "plan", "raw": {"data": plan}},
            {"name": "parts", "s3": {"key": PARTS_KEY.format(node=tid, index="")[:-len(".json")]
                                     .rstrip("/")}}]}}
    return [element, gather]


def _json(value: Any) -> str:
    """``value`` as JSON text with no ``{{`` in it, so Argo substitutes nothing in it."""
    return json.dumps(value, allow_nan=False).replace("{{", "{\\u007b")


def _python_command(script: str) -> list[str]:
    # base64: Argo substitutes {{...}} anywhere in a template, and a script may contain it.
    code = base64.b64encode(script.encode("utf-8")).decode("ascii")
    return ["python3", "-c", f"import base64; exec(base64.b64decode('{code}'))"]


def to_argo(graph: Graph, registry: Registry, *, python_image: str | None = None,
            inspect_image: Inspector | None = None,
            generate_name: str = "containerdag-") -> dict[str, Any]:
    """``graph`` as an Argo ``Workflow`` (a dict, ready for ``yaml.safe_dump``).

    ``python_image`` (needs ``python3``; default ``DEFAULT_PYTHON_IMAGE``) runs the inputs
    helper and in-process ``@process`` functions; ``inspect_image`` reads image metadata
    (default: the local engine).
    ``ExportError`` names a process that cannot be exported.
    """
    steps = plan(graph, registry, cwl_tools=True)  # CWL tools refused first, by name
    for s in steps:
        if isinstance(s.proc, CwlProcess):
            raise ExportError(f"node {s.node!r}: process {s.process!r} is a CWL tool, which an "
                              "Argo workflow cannot run as written (its steps run commands "
                              "that read JSON on stdin); export the graph to CWL (to_cwl), or "
                              "run it with the toolkit", processes=[s.process], node=s.node)
    inspect_image = inspect_image or docker_inspector()
    notes: list[str] = []
    python = image_of(python_image or DEFAULT_PYTHON_IMAGE, inspect_image)
    base = Hardening.of(None)

    procs = {s.proc.name: s.proc for s in steps}
    pids = unique_ids(list(procs), _FIELD, _field_id, reserved={"main"}, sep="-")
    templates: list[dict[str, Any]] = []
    for name, proc in procs.items():
        settings = Hardening.of(proc)
        if isinstance(proc, PythonProcess):
            script, more = python_script(proc)
            notes.extend(more)
            image, argv = python, _python_command(script)
        elif (command := proc.image_command()) is not None:
            tag, image_id, argv = command
            image = image_of(tag, inspect_image, image_id)
        else:
            raise ExportError(f"process {name!r} is a {type(proc).__name__}, neither an image's "
                              "process nor an in-process @process function", processes=[name])
        command = ["/bin/sh", "-c", RUN, "containerdag", *argv]
        tmpl = _template(pids[name], _container(image, command, settings, notes), settings,
                         [{"name": "inputs", "path": f"{DIR}/inputs.json"}], "outputs")
        tmpl["metadata"]["annotations"] = {f"{PREFIX}process": _json(name)[1:-1]}
        templates.append(tmpl)
        ports = unique_ids(list(proc.inputs), r"[^A-Za-z0-9_-]", lambda t: t)
        merge_inputs = [{"name": "literals", "path": f"{DIR}/literals.json"},
                        {"name": "plan", "path": f"{DIR}/plan.json"}]
        merge_inputs += [{"name": f"in-{ports[p]}", "path": f"{DIR}/refs/{ports[p]}.json",
                          "optional": True} for p in proc.inputs]
        merge = ["python3", "-c", MERGE_SCRIPT, f"{DIR}/inputs.json", f"{DIR}/literals.json",
                 f"{DIR}/plan.json"]
        templates.append(_template(f"{pids[name]}--inputs",
                                   _container(python, merge, base, notes), base,
                                   merge_inputs, "inputs"))
        if any(s.scatter and s.proc.name == name for s in steps):
            elements = ["python3", "-c", _MKDIR + ELEMENTS_SCRIPT + _INDEXES, f"{DIR}/elements/e",
                        f"{DIR}/literals.json", f"{DIR}/plan.json"]
            made = _template(f"{pids[name]}--elements",
                             _container(python, elements, base, notes), base, merge_inputs,
                             "elements")
            made["outputs"] = {
                "artifacts": [{"name": "elements", "path": f"{DIR}/elements",
                               "archive": {"none": {}}}],
                "parameters": [{"name": "indexes",
                                "valueFrom": {"path": f"{DIR}/indexes.json"}}]}
            templates += [made, _element_template(tmpl)]
    if any(s.scatter for s in steps):
        gather = ["python3", "-c", ARGO_GATHER, f"{DIR}/outputs.json", f"{DIR}/plan.json",
                  f"{DIR}/parts"]
        made = _template(GATHER_TEMPLATE, _container(python, gather, base, notes), base,
                         [{"name": "plan", "path": f"{DIR}/plan.json"},
                          {"name": "parts", "path": f"{DIR}/parts", "optional": True}],
                         "outputs")
        templates.append(made)
        notes.append("scattered nodes keep each element's outputs under the key "
                     f"{PARTS_KEY.format(node='NODE', index='INDEX')} of the namespace's "
                     "artifact repository (key-only artifacts: an S3-compatible repository)")

    tids = unique_ids([s.node for s in steps], _FIELD, _field_id, reserved={"main"}, sep="-")
    # The task whose artifact ``outputs`` holds a node's outputs: a scattered node's gather.
    out_task = {s.node: f"{tids[s.node]}--gather" if s.scatter else tids[s.node] for s in steps}
    parameters: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    variants: dict[str, dict[str, Any]] = {}
    for s in steps:
        tid, pid = tids[s.node], pids[s.proc.name]
        ports = unique_ids(list(s.proc.inputs), r"[^A-Za-z0-9_-]", lambda t: t)
        literal_ids = unique_ids(list(s.literals), r"[^A-Za-z0-9_]", lambda t: t)
        fields = []
        for port, value in s.literals.items():
            param = f"{tid}-{literal_ids[port]}"
            parameters.append({"name": param, "value": _json(value),
                               "description": f"node {_json(s.node)}, input {_json(port)} "
                                              "(JSON)"})
            fields.append(f"{_json(port)}: {{{{workflow.parameters.{param}}}}}")
        refs = [[p, r.node, r.output, f"{DIR}/refs/{ports[p]}.json"] for p, r in s.refs.items()]
        artifacts = [
            {"name": "literals", "raw": {"data": "{" + ", ".join(fields) + "}"}},
            {"name": "plan", "raw": {"data": _json({"refs": refs})}},
        ] + [{"name": f"in-{ports[p]}", "from": f"{{{{tasks.{out_task[r.node]}.outputs."
                                              "artifacts.outputs}}"} for p, r in s.refs.items()]
        upstream = list(dict.fromkeys(out_task[r.node] for r in s.refs.values()))
        if s.scatter:
            artifacts[1]["raw"]["data"] = _json({"refs": refs, "scatter": list(s.scatter),
                                                 "method": s.scatter_method})
        merge_task: dict[str, Any] = {
            "name": f"{tid}--inputs",
            "template": f"{pid}--elements" if s.scatter else f"{pid}--inputs",
            "arguments": {"artifacts": artifacts}}
        if upstream:
            merge_task["dependencies"] = upstream
        template = pid
        if s.timeout is not None:
            template = f"{pid}--timeout-{math.ceil(s.timeout)}s"
            if template not in variants:
                variant = json.loads(json.dumps(next(t for t in templates if t["name"] == pid)))
                variant.update(name=template, timeout=f"{s.timeout:g}s")
                variants[template] = variant
        if s.scatter:  # a task per element (withParam), then the gather
            element = f"{pid}--element"
            if s.timeout is not None:
                element = f"{pid}--element--timeout-{math.ceil(s.timeout)}s"
                if element not in variants:
                    variant = json.loads(json.dumps(
                        next(t for t in templates if t["name"] == f"{pid}--element")))
                    variant.update(name=element, timeout=f"{s.timeout:g}s")
                    variants[element] = variant
            tasks += [merge_task, *_scatter_tasks(s, tid, element)]
            continue
        tasks += [merge_task, {
            "name": tid, "template": template, "dependencies": [f"{tid}--inputs"],
            "arguments": {"artifacts": [{"name": "inputs", "from": f"{{{{tasks.{tid}--inputs."
                                                                 "outputs.artifacts.inputs}}"}]},
        }]
    templates += variants.values()
    notes = list(dict.fromkeys(notes))
    notes.append("Kubernetes has no per-container pids limit (the toolkit uses "
                 f"{base.pids_limit}): set the kubelet's podPidsLimit")
    if any(Hardening.of(p).network == "none" for p in procs.values()):
        notes.append(f"pods labelled {PREFIX}network=none ran without a network in the "
                     "toolkit: apply a NetworkPolicy that denies their ingress and egress")
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "generateName": generate_name,
            "annotations": {f"{PREFIX}exported-by": "containerdag_widgets",
                            f"{PREFIX}notes": "\n".join(notes)},
        },
        "spec": {
            "entrypoint": "main",
            "arguments": {"parameters": parameters},
            "templates": [{"name": "main", "dag": {"tasks": tasks}}, *templates],
        },
    }
