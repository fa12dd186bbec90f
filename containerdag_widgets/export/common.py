"""What the CWL and Argo exporters share: each node's plan, images, settings, helper scripts.

Every value between steps travels as a JSON file, never inline: CWL's ``loadContents`` reads
at most 64 KiB and Argo's parameters live in the Workflow object (``result`` keeps 256 kB of
stdout; the whole object must stay under etcd's 1 MB). So each node runs as two steps: a
small Python helper builds the node's inputs JSON from its literal values and the upstream
outputs files it reads, then the process runs with that file on stdin and its stdout kept as
its outputs file.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import math
import re
import sys
import textwrap
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import yaml

from ..model.errors import ContainerDagError
from ..model.files import Glob, file_of, files_in
from ..model.graph import Ref
from ..processes.cwl import CwlProcess
from ..processes.python import PythonProcess

if TYPE_CHECKING:
    from ..model.graph import Graph
    from ..processes.registry import Registry

__all__ = ["ExportError", "Step", "Image", "Hardening", "plan", "MERGE_SCRIPT",
           "ELEMENTS_SCRIPT", "GATHER_SCRIPT",
           "DEFAULT_PYTHON_IMAGE", "python_script", "image_of", "docker_inspector", "unique_ids",
           "yaml_text"]

#: The image of the inputs helper and of exported ``@process`` functions (needs ``python3``).
DEFAULT_PYTHON_IMAGE = "python:3.12-slim"

#: Builds one node's inputs JSON. ``python3 -c MERGE_SCRIPT OUT LITERALS PLAN [FILE...]``:
#: LITERALS is a JSON file holding an object ``{port: value}``, or a list of values in the
#: order of PLAN's ``literal_ports``; PLAN is a JSON file ``{"literal_ports": [...], "refs":
#: [[port, node, output] or [port, node, output, path], ...]}``; references without a path
#: read the FILE arguments in order. Written for any Python 3.
_READ_INPUTS = """\
import itertools, json, sys
out_path, literals_path, plan_path = sys.argv[1:4]
files = list(sys.argv[4:])
with open(plan_path) as f:
    plan = json.load(f)
with open(literals_path) as f:
    literals = json.load(f)
if isinstance(literals, list):
    literals = dict(zip(plan["literal_ports"], literals))
inputs = dict(literals)
for ref in plan["refs"]:
    port, node, output = ref[:3]
    path = ref[3] if len(ref) > 3 else files.pop(0)
    with open(path) as f:
        outputs = json.load(f)
    if not isinstance(outputs, dict) or output not in outputs:
        sys.exit("containerdag: node %r gave no output %r (input %r)" % (node, output, port))
    inputs[port] = outputs[output]
"""
MERGE_SCRIPT = _READ_INPUTS + """\
with open(out_path, "w") as f:
    json.dump(inputs, f)
"""
#: The same, for a scattered node: PLAN also has ``scatter`` (ports) and ``method``
#: (``dotproduct`` or ``flat_crossproduct``); one file of inputs per element is written,
#: ``OUT-00000.json``, ``OUT-00001.json``... (the step scatters over them, in order).
ELEMENTS_SCRIPT = _READ_INPUTS + """\
lists = [inputs[p] for p in plan["scatter"]]
if plan["method"] == "dotproduct":
    if len(set(map(len, lists))) > 1:
        sys.exit("containerdag: scatter_method dotproduct takes the i-th element of each "
                 "list, but the lists have %s elements" % [len(x) for x in lists])
    rows = list(zip(*lists))
else:
    rows = list(itertools.product(*lists))
for i, row in enumerate(rows):
    element = dict(inputs)
    element.update(zip(plan["scatter"], row))
    with open("%s-%05d.json" % (out_path, i), "w") as f:
        json.dump(element, f)
"""
#: Gathers a scattered step's outputs files (in element order) into one: each output a list.
#: ``python3 -c GATHER_SCRIPT OUT PLAN [FILE...]``; PLAN is ``{"outputs": [port, ...]}``.
GATHER_SCRIPT = """\
import json, sys
out_path, plan_path = sys.argv[1:3]
with open(plan_path) as f:
    plan = json.load(f)
parts = []
for path in sys.argv[3:]:
    with open(path) as f:
        parts.append(json.load(f))
with open(out_path, "w") as f:
    json.dump({port: [part.get(port) for part in parts] for port in plan["outputs"]}, f)
"""


class ExportError(ContainerDagError, ValueError):
    """A graph that cannot be exported; ``processes`` names the processes at fault, and
    ``node``/``port``/``value`` the input or output when one is."""

    def __init__(self, message: str, *, processes: list[str] | None = None,
                 node: str | None = None, port: str | None = None, value: Any = None):
        self.processes = list(processes or [])
        self.node, self.port, self.value = node, port, value
        super().__init__(message)


def _no_files(step: Step) -> None:
    """Exported steps pass JSON values only: refuse a file input or a file port by name."""
    for port, value in step.literals.items():
        if isinstance(value, Glob):
            raise ExportError(
                f"node {step.node!r} input {port!r} is a glob of files ({value.pattern}): "
                "exported workflows pass JSON values between steps, not files; run this graph "
                "with the toolkit", processes=[step.process], node=step.node, port=port,
                value=value.pattern)
        found = files_in(value)
        if found:
            path = str(file_of(found[0]).path)
            raise ExportError(
                f"node {step.node!r} input {port!r} is a file ({path}): exported workflows "
                "pass JSON values between steps, not files; run this graph with the toolkit",
                processes=[step.process], node=step.node, port=port, value=path)
    ports = step.proc.file_ports
    if ports:
        port = next(iter(ports))
        raise ExportError(
            f"node {step.node!r}: process {step.process!r} has file ports "
            f"({', '.join(ports)}); exported workflows pass JSON values between steps, not "
            "files; run this graph with the toolkit",
            processes=[step.process], node=step.node, port=port)


# ---- the graph, node by node -----------------------------------------------------------


@dataclass
class Step:
    """One node as the exporters see it: its process and where each input comes from."""

    node: str
    process: str  # the node's process as written (may be the alias ``process.<name>``)
    proc: Any  # the registry's Process
    literals: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, Ref] = field(default_factory=dict)
    timeout: float | None = None
    #: The node's scattered inputs and how their elements pair up (empty: one call).
    scatter: tuple[str, ...] = ()
    scatter_method: str = "dotproduct"
    on_error: str = "fail"


def plan(graph: Graph, registry: Registry, *, cwl_tools: bool = False) -> list[Step]:
    """The graph's nodes in its own order, validated against ``registry`` (so acyclic).

    ``cwl_tools``: a CWL tool's node may take and give files (the CWL export runs the tool
    document itself, whose ``File`` ports are CWL's own); elsewhere files are refused."""
    graph.validate(registry)
    steps = [
        Step(name, node.process, registry.get(node.process),
             {p: v for p, v in node.inputs.items() if not isinstance(v, Ref)},
             dict(node.refs), node.timeout, node.scatter, node.scatter_method, node.on_error)
        for name, node in graph.nodes.items()
    ]
    for step in steps:
        if not (cwl_tools and isinstance(step.proc, CwlProcess)):
            _no_files(step)
    return steps


def unique_ids(names: list[str], pattern: str, fix: Callable[[str], str],
               reserved: Iterable[str] = (), sep: str = "_") -> dict[str, str]:
    """A distinct id for each name: characters matching ``pattern`` become ``_``, then ``fix``;
    a repeated id gets ``<sep>2``, ``<sep>3``..."""
    ids: dict[str, str] = {}
    taken = set(reserved)
    for name in names:
        base = fix(re.sub(pattern, "_", name)) or "x"
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}{sep}{n}", n + 1
        ids[name] = candidate
        taken.add(candidate)
    return ids


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (scripts) as literal blocks."""


_Dumper.add_representer(
    str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s,
                                         style="|" if "\n" in s else None))


def yaml_text(doc: Any) -> str:
    """``doc`` as YAML, in its own key order, scripts as literal blocks."""
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


# ---- images --------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    """An image as pinned in an export."""

    tag: str
    id: str | None  # the content ID (sha256:...), None when the image is not on this engine
    digest: str | None  # ``repo@sha256:...`` when the image came from a registry
    entrypoint: tuple[str, ...] = ()

    @property
    def pull(self) -> str:
        """The reference to pull: by registry digest where there is one, else the tag."""
        return self.digest or self.tag


Inspector = Callable[[str], "Mapping[str, Any] | None"]


def docker_inspector() -> Inspector:
    """``docker image inspect`` through the local engine (None for a missing image)."""
    import docker.errors

    from ..docker import connect

    client = connect()

    def inspect_image(ref: str) -> Mapping[str, Any] | None:
        try:
            return client.api.inspect_image(ref)
        except docker.errors.ImageNotFound:
            return None

    return inspect_image


def image_of(tag: str, inspect_image: Inspector, image_id: str | None = None) -> Image:
    """The image ``image_id`` (or what ``tag`` names on the engine) with digest and entrypoint."""
    attrs = inspect_image(image_id or tag)
    if attrs is None:
        return Image(tag, image_id, None)
    repo = tag.rsplit(":", 1)[0] if ":" in tag.rsplit("/", 1)[-1] else tag
    digests = attrs.get("RepoDigests") or []
    digest = next((d for d in digests if d.split("@")[0] == repo), digests[0] if digests else None)
    entrypoint = tuple((attrs.get("Config") or {}).get("Entrypoint") or ())
    return Image(tag, attrs.get("Id") or image_id, digest, entrypoint)


# ---- the hardened container settings ---------------------------------------------------


@dataclass(frozen=True)
class Hardening:
    """The warm containers' settings (``docker/settings.py``), as the exporters carry them."""

    network: str = "none"
    read_only: bool = True
    tmp_size: int = 64 * 2**20
    cap_drop: tuple[str, ...] = ("ALL",)
    no_new_privileges: bool = True
    pids_limit: int | None = 256
    mem_limit: int | None = 512 * 2**20
    cpus: float | None = 1.0
    user: str | None = None

    @classmethod
    def of(cls, proc: Any) -> Hardening:
        """The settings ``proc``'s container runs with (labels applied), or the defaults."""
        # The image's, labels applied (None: not a container's, or the defaults asked for).
        from ..docker.settings import UNPRIVILEGED, ContainerSettings

        settings = proc.settings if proc is not None else None
        if settings is None:
            settings = ContainerSettings()
        found = cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__
                       if hasattr(settings, name)})
        # No user chosen (a Python step, the defaults): unprivileged, as the warm containers
        # run an image that sets no USER; an exported step must not run as root instead.
        return found if found.user is not None else replace(found, user=UNPRIVILEGED)


# ---- @process functions as scripts -----------------------------------------------------

_JSONISH = (int, float, str, bool, type(None))


def _plain(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, _JSONISH):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def python_script(proc: PythonProcess) -> tuple[str, list[str]]:
    """A standalone ``python3`` script running ``proc`` by the process protocol, and notes.

    The function's source, its decorators and annotations removed, with the modules and plain
    values it reads from its module. ``ExportError`` names the process when that is not
    enough (no source, a lambda, a closure, a global that is not a module or a plain value).
    """
    fn = proc.fn

    def refuse(why: str) -> ExportError:
        return ExportError(f"in-process process {proc.name!r} cannot be exported as a script: "
                           f"{why}", processes=[proc.name])

    if fn.__closure__:
        raise refuse(f"{fn.__name__} is a closure (it reads {', '.join(fn.__code__.co_freevars)}"
                     " from an enclosing function); define it at module level")
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as exc:
        raise refuse(f"its source is not available ({exc})") from None
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise refuse(f"its source does not parse on its own ({exc.msg})") from None
    fdef = tree.body[0] if tree.body else None
    if not isinstance(fdef, ast.FunctionDef) or fdef.name != fn.__name__:
        raise refuse("it is not a plain 'def' function (a lambda or an async def?)")
    fdef.decorator_list = []
    fdef.returns = None
    for arg in ast.walk(fdef.args):
        if isinstance(arg, ast.arg):
            arg.annotation = None

    stored = {fdef.name} | {a.arg for a in ast.walk(fdef.args) if isinstance(a, ast.arg)}
    loaded: set[str] = set()
    for node in ast.walk(fdef):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else stored).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            stored.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            stored.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            stored.add(node.name)
    prelude, notes = [], []
    for name in sorted(loaded - stored):
        if name not in fn.__globals__:
            if hasattr(builtins, name):
                continue
            raise refuse(f"it reads {name!r}, which its module does not define")
        value = fn.__globals__[name]
        if isinstance(value, types.ModuleType):
            module = value.__name__
            prelude.append(f"import {module}" if module == name else
                           f"import {module} as {name}")
        elif _plain(value):
            prelude.append(f"{name} = {value!r}")
            continue
        elif (getattr(value, "__module__", None) not in (None, "__main__", fn.__module__)
              and "." not in getattr(value, "__qualname__", ".")
              and getattr(sys.modules.get(value.__module__), value.__qualname__, None) is value):
            module = value.__module__
            prelude.append(f"from {module} import {value.__qualname__} as {name}")
        else:
            raise refuse(f"it reads the global {name!r} ({type(value).__name__}), which is "
                         "not a module, an importable name or a plain value")
        top = module.split(".")[0]
        if top not in sys.stdlib_module_names:
            notes.append(f"process {proc.name!r} imports {module!r}: the Python image must "
                         "have it")
    body = ast.unparse(fdef)
    wrap = ""
    if len(proc.outputs) == 1:
        wrap = (f"if not isinstance(_outputs, dict):\n"
                f"    _outputs = {{{next(iter(proc.outputs))!r}: _outputs}}\n")
    script = (f"# in-process process {proc.name!r}, exported by containerdag_widgets\n"
              "import json as _json\nimport sys as _sys\n"
              + "".join(line + "\n" for line in prelude) + "\n\n" + body + "\n\n\n"
              f"_outputs = {fn.__name__}(**_json.load(_sys.stdin))\n" + wrap
              + "_json.dump(_outputs, _sys.stdout, allow_nan=False)\n")
    return script, notes
