"""CwlProcess: a CWL ``CommandLineTool`` as a process (issue 21).

cwltool is the library that loads and validates the tool, builds each job's command line
with its inputs staged, evaluates its expressions (JavaScript with Node.js) and collects its
outputs (globs, ``outputEval``, ``loadContents``): as Toil and Arvados use it. Where a job runs
is a backend's (``docker/cwl.py``: ``CwlBackend``, the warm containers); this module knows
none of Docker. cwltool is imported when a tool is loaded, never with the package.

Ports come from the tool: a ``File`` is a file port (``{"$file": ...}``), numbers, strings,
booleans, arrays, enums and records are typed by an example (the default when the tool has
one); an optional input without a default has a null example (it accepts any value, and
null, or leaving it out, means "not given"). Inputs with a default or optional may be left
out of a call. ``stdout``/``stderr``/glob outputs are ``File``s; ``outputEval`` and
``loadContents`` values are JSON values; a ``Directory`` is an object
``{"class": "Directory", "basename": ..., "listing": [...]}`` of its files.

A pickled ``CwlProcess`` (a Dask task carries one to a worker) travels without cwltool's tool
and its backend: it carries the document's text, path and content hash, its image and
settings; the backend says how it is rebuilt there (``CwlBackend.travel``: on a Dask worker,
the worker's own backend and pools), and the tool is loaded again on its first call (from its
path when the file there is the same document, else from the text) and checked against the
hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model.errors import (
    Cancelled,
    ContainerDagError,
    DescriptionError,
    InputError,
    ProcessFailed,
)
from ..model.files import File
from ..model.ports import port_problems
from .base import (
    Execution,
    LogSink,
    Process,
    ProgressSink,
    copy_sharing,
    deepcopy_sharing,
)

__all__ = ["CwlProcess", "CwlDescriptionError", "CallOptions", "DEFAULT_IMAGE", "SUPPORTED",
           "CALLS_ROOT", "tool_resources", "refused_requirements"]

#: The image a tool runs in when it has no ``DockerRequirement`` and ``image=`` is not given.
DEFAULT_IMAGE = "debian:bookworm-slim"
#: Where a job's directories are made in its container: the warm container's writable work
#: directory, on disk (docker/workarea.py), never its memory-backed /tmp.
CALLS_ROOT = "/containerdag-work/out/cwl"
#: The requirements honoured (a requirement of any other class is refused by name; hints
#: that are not understood are ignored, as CWL says).
SUPPORTED = frozenset({
    "DockerRequirement", "InlineJavascriptRequirement", "SchemaDefRequirement",
    "InitialWorkDirRequirement", "EnvVarRequirement", "ShellCommandRequirement",
    "ResourceRequirement", "NetworkAccess", "LoadListingRequirement", "ToolTimeLimit",
    "WorkReuse", "SoftwareRequirement",
})
_MISSING = object()
_local = threading.local()


class CwlDescriptionError(DescriptionError):
    """A CWL document that cannot be a process: it does not validate (``file``, ``line`` and
    ``field`` from the loader's own message), is a Workflow, or asks for what is not
    supported (``requirement``)."""

    def __init__(self, message: str, *, path: str, process: str, line: int | None = None,
                 field: str | None = None, requirement: str | None = None):
        self.process = process
        self.image = ""
        self.output = ""
        self.file = path
        self.line = line
        self.field = field
        self.requirement = requirement
        self.detail = message
        where = f"{path}" + (f", line {line}" if line else "") + (
            f", field {field!r}" if field else "")
        ContainerDagError.__init__(self, f"CWL tool {where}: {message}")


@dataclass
class CallOptions:
    """What one call (or one ``cwl-runner`` run) tells the backend's job: the image, the
    call's limits, where its log goes; the job leaves its errors and log here."""

    process: str | None = None
    #: ``image=``: replaces the tool's DockerRequirement.
    image: str | None = None
    default_image: str = DEFAULT_IMAGE
    timeout: float | None = None
    cancel: threading.Event | None = None
    on_log: LogSink | None = None
    #: Raise what is not a cwltool error (the library path); cwl-runner logs it as cwltool.
    raise_errors: bool = False
    errors: list[str] = field(default_factory=list)
    log: str = ""

    def fail(self, message: str) -> None:
        self.errors.append(message)

    def image_of(self, job: Any) -> str:
        """The image tag a job runs in: ``image=``, else its DockerRequirement's
        ``dockerPull``/``dockerImageId``, else the default."""
        if self.image:
            return self.image
        req, _ = job.get_requirement("DockerRequirement")
        if req:
            for key in ("dockerPull", "dockerImageId"):
                if req.get(key):
                    return str(req[key])
        return self.default_image

    def refused(self, tool: Any) -> str | None:
        """Why a tool cannot run here (an unsupported requirement), or None."""
        found = refused_requirements(tool.tool, image_given=bool(self.image))
        return "; ".join(found) if found else None


def _short(name: Any) -> str:
    text = str(name)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def refused_requirements(doc: dict[str, Any], *, image_given: bool = False) -> list[str]:
    """Each requirement of ``doc`` that is not supported, in words naming it."""
    found = []
    for req in doc.get("requirements") or []:
        cls = _short(req.get("class", ""))
        if cls not in SUPPORTED:
            found.append(f"requirement {cls} is not supported (supported: "
                         f"{', '.join(sorted(SUPPORTED))})")
        elif cls == "NetworkAccess" and req.get("networkAccess") is True:
            found.append("requirement NetworkAccess (networkAccess: true) is not supported: "
                         "the warm containers run without network")
        elif cls == "DockerRequirement" and not image_given:
            if req.get("dockerOutputDirectory"):
                found.append("requirement DockerRequirement.dockerOutputDirectory is not "
                             "supported (the container's root is read-only)")
            elif not (req.get("dockerPull") or req.get("dockerImageId")):
                found.append("requirement DockerRequirement without dockerPull or dockerImageId "
                             "is not supported (dockerFile/dockerLoad: build or load the image "
                             "and give add_cwl(..., image=TAG))")
    return found


def tool_resources(resources: dict[str, Any]) -> dict[str, float]:
    """cwltool's evaluated ``builder.resources`` as the numbers the backend sizes by."""
    return {key: float(resources[key]) for key in ("cores", "ram", "outdirSize", "tmpdirSize")
            if isinstance(resources.get(key), (int, float))}


def _literal_resources(doc: dict[str, Any]) -> dict[str, float]:
    """The ResourceRequirement's literal numbers (an expression: cwltool's default)."""
    found = {"cores": 1.0, "ram": 256.0, "outdirSize": 1024.0, "tmpdirSize": 1024.0}
    for req in [*(doc.get("requirements") or []), *(doc.get("hints") or [])]:
        if _short(req.get("class", "")) != "ResourceRequirement":
            continue
        for key, target in (("coresMin", "cores"), ("ramMin", "ram"),
                            ("outdirMin", "outdirSize"), ("tmpdirMin", "tmpdirSize")):
            value = req.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found[target] = float(value)
        break
    return found


# ---- ports --------------------------------------------------------------------------------

_SCALARS = {"int": 0, "long": 0, "float": 0.0, "double": 0.0, "string": "", "boolean": False}


def _example(cwl_type: Any, default: Any = _MISSING, *, name: str = "file") -> Any:
    """The example value of a port of ``cwl_type`` (its default when there is one)."""
    if default is not _MISSING and default is not None:
        return _from_cwl_value(default)
    if isinstance(cwl_type, list):
        kinds = [t for t in cwl_type if t != "null"]
        if len(kinds) < len(cwl_type) or len(kinds) != 1:
            return None  # optional, or a union: a null example accepts any value
        return _example(kinds[0], name=name)
    if isinstance(cwl_type, dict):
        kind = cwl_type.get("type")
        if kind == "array":
            return [_example(cwl_type.get("items"), name=name)]
        if kind == "enum":
            symbols = cwl_type.get("symbols") or [""]
            return _short(symbols[0])
        if kind == "record":
            return {_short(f["name"]): _example(f.get("type"), name=_short(f["name"]))
                    for f in cwl_type.get("fields") or []}
        return _example(kind, name=name)
    if cwl_type in ("File", "stdout", "stderr"):
        return {"$file": name}
    if cwl_type == "Directory":
        return {"class": "Directory", "basename": "", "listing": []}
    return _SCALARS.get(str(cwl_type))


def _from_cwl_value(value: Any) -> Any:
    """A CWL default as an example: a File as ``{"$file": its name}``."""
    if isinstance(value, dict) and value.get("class") == "File":
        where = value.get("basename") or value.get("path") or value.get("location") or "file"
        return {"$file": os.path.basename(str(where))}
    if isinstance(value, dict):
        return {k: _from_cwl_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_cwl_value(v) for v in value]
    return value


def _output_name(port: dict[str, Any], doc: dict[str, Any]) -> str:
    """A file output's example name: its glob or the tool's stdout/stderr name if literal."""
    kind = port.get("type")
    if kind in ("stdout", "stderr"):
        literal = doc.get(kind)
        return literal if isinstance(literal, str) and "$" not in literal else f"{kind}.txt"
    glob = (port.get("outputBinding") or {}).get("glob")
    if isinstance(glob, str) and "$" not in glob:
        return glob.replace("*", "output")
    return _short(port["id"])


def _is_optional(cwl_type: Any) -> bool:
    return (isinstance(cwl_type, list) and "null" in cwl_type) or cwl_type in ("Any", "null")


# ---- messages -----------------------------------------------------------------------------

_WHERE = re.compile(r"(?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+):")
_FIELD = re.compile(r"(?:the|invalid field|missing required field|field)\s+[`'\"](?P<f>[\w$]+)"
                    r"[`'\"]", re.IGNORECASE)


def _loader_problem(exc: BaseException, path: Path, process: str) -> CwlDescriptionError:
    text = str(exc).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    line = field_name = None
    for found in _WHERE.finditer(text):
        if os.path.basename(found.group("file")) == path.name:
            line = int(found.group("line"))  # the deepest one of the file is the most precise
    fields = _FIELD.findall(text)
    if fields:
        field_name = fields[-1]
    message = " ".join(_WHERE.sub("", line).strip() for line in lines[-4:])
    return CwlDescriptionError(message or type(exc).__name__, path=str(path), process=process,
                               line=line, field=field_name)


def _peek_class(path: Path) -> str | None:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None  # the loader says why
    if isinstance(doc, dict) and "$graph" in doc:
        graph = doc.get("$graph") or []
        main = [d for d in graph if isinstance(d, dict) and str(d.get("id", "")).lstrip("#")
                == "main"]
        doc = main[0] if main else (graph[0] if len(graph) == 1 else None)
    return doc.get("class") if isinstance(doc, dict) else None


class _LogRoute(logging.Handler):
    """cwltool's log records go to the log of the call running in this thread."""

    def emit(self, record: logging.LogRecord) -> None:
        options = getattr(_local, "options", None)
        if options is None:
            return
        text = f"cwltool: {record.getMessage()}\n"
        options.log += text
        if options.on_log is not None:
            options.on_log(text)


_quieted: list[bool] = []


def _quiet_cwltool() -> None:
    """In a library, cwltool's log goes to the calls' logs, not to stderr."""
    if _quieted:
        return
    from cwltool.loghandler import _logger, defaultStreamHandler

    _logger.removeHandler(defaultStreamHandler)
    _logger.addHandler(_LogRoute(logging.WARNING))
    _logger.propagate = False
    logging.getLogger("salad").setLevel(logging.ERROR)
    _quieted.append(True)


def _load_tool(path: Path, backend: Any, name: str) -> Any:
    """cwltool's tool of the document at ``path``, made by ``backend``'s tool factory
    (``CwlDescriptionError`` from the loader's message)."""
    from cwltool.context import LoadingContext
    from cwltool.load_tool import load_tool

    _quiet_cwltool()
    loading = LoadingContext({"construct_tool_object": backend.tool_factory(),
                              "relax_path_checks": True})
    try:
        return load_tool(str(path), loading)
    except Exception as exc:  # noqa: BLE001 - schema-salad's ValidationException, cwltool's
        raise _loader_problem(exc, path, name) from None  # WorkflowException and others


def _document_hash(doc: Any, path: Path) -> str:
    """The content hash of a loaded document: where it lies is not what it is."""
    canonical = json.dumps(doc, sort_keys=True, default=str).replace(
        path.as_uri(), "").replace(path.parent.as_uri(), "")
    return hashlib.sha256(canonical.encode()).hexdigest()


# ---- the process --------------------------------------------------------------------------


class CwlProcess(Process):
    """A CWL CommandLineTool run through a backend (``CwlBackend``: warm containers).

    Made by ``CwlProcess.load`` (``Registry.add_cwl``).
    """

    def __init__(self, *, name: str, path: Path, tool: Any, backend: Any, image: str,
                 image_id: str, image_from: str, description: str,
                 inputs: dict[str, Any], outputs: dict[str, Any], required: set[str],
                 document_hash: str, settings: Any, text: str = ""):
        super().__init__(name=name, description=description, inputs=inputs, outputs=outputs,
                         source=f"cwl:{image}")
        self.path = path
        #: The document as written (what travels to a Dask worker, what an export copies).
        self.text = text
        self._tool = tool
        self._where = path  # the file cwltool loaded the tool from
        self.backend = backend
        self.image = image
        self.image_id = image_id
        self.image_from = image_from
        self.required = required
        self.document_hash = document_hash
        self._settings = settings
        self._override = image if image_from == "image=" else None
        #: The literal ``format`` of each File input: given to the File (ports carry none).
        self._formats = {_short(p["id"]): p["format"] for p in tool.tool.get("inputs") or []
                         if isinstance(p.get("format"), str) and "$" not in p["format"]}

    # ---- loading ------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, backend: Any, image: str | None = None,
             name: str | None = None) -> CwlProcess:
        """Load and validate a CommandLineTool (``CwlDescriptionError`` if it cannot be one;
        ``ImageNotFound`` if its image is not on the engine)."""
        path = Path(path).resolve()
        name = name or path.stem
        if not path.is_file():
            raise CwlDescriptionError("no such file", path=str(path), process=name)
        kind = _peek_class(path)
        if kind == "Workflow":
            raise CwlDescriptionError(
                "is a Workflow; add_cwl takes a CommandLineTool (a workflow becomes a graph: "
                "Graph.from_cwl(path))", path=str(path), process=name, field="class")
        if kind is not None and kind != "CommandLineTool":
            raise CwlDescriptionError(
                f"is a {kind}; add_cwl takes a CommandLineTool", path=str(path), process=name,
                field="class")
        text = path.read_text(encoding="utf-8", errors="replace")
        tool = _load_tool(path, backend, name)
        doc = tool.tool
        if doc.get("class") != "CommandLineTool":
            raise CwlDescriptionError(f"is a {doc.get('class')}; add_cwl takes a "
                                      "CommandLineTool", path=str(path), process=name,
                                      field="class")
        refused = refused_requirements(doc, image_given=image is not None)
        if refused:
            first = refused[0]
            req = first.split()[1].split(".")[0] if first.startswith("requirement ") else None
            raise CwlDescriptionError("; ".join(refused), path=str(path), process=name,
                                      field="requirements", requirement=req)
        if image:
            tag, image_from = image, "image="
        else:
            tag, image_from = CallOptions().image_of(tool), "DockerRequirement"
            if tag == DEFAULT_IMAGE and not tool.get_requirement("DockerRequirement")[0]:
                image_from = "default"
        image_id = backend.image_id(tag, process=name)
        inputs: dict[str, Any] = {}
        required: set[str] = set()
        for port in doc.get("inputs") or []:
            key = _short(port["id"])
            inputs[key] = _example(port.get("type"), port.get("default", _MISSING), name=key)
            if "default" not in port and not _is_optional(port.get("type")):
                required.add(key)
        outputs = {_short(p["id"]): _example(p.get("type"), name=_output_name(p, doc))
                   for p in doc.get("outputs") or []}
        document_hash = _document_hash(doc, path)
        description = " ".join(str(doc.get(k, "")).strip() for k in ("label", "doc")
                               if doc.get(k)).strip()
        settings = backend.settings_for(_literal_resources(doc))
        return cls(name=name, path=path, tool=tool, backend=backend, image=tag,
                   image_id=image_id, image_from=image_from, description=description,
                   inputs=inputs, outputs=outputs, required=required,
                   document_hash=document_hash, settings=settings, text=text)

    # ---- the tool, here or where a copy was unpickled -----------------------------------

    @property
    def tool(self) -> Any:
        """cwltool's tool (loaded again, on first use, in a copy unpickled elsewhere)."""
        if self._tool is None:
            self._tool = self._runner()[1]
        return self._tool

    def _runner(self) -> tuple[Any, Any]:
        """The backend and cwltool's tool a call runs with: this process's own, or (a copy
        unpickled on a Dask worker, whose backend stands for the worker's) the worker's
        backend and the tool it loaded from the document this copy carried (once per
        worker and document)."""
        backend = self.backend
        resolve = getattr(backend, "resolve", None)
        if resolve is None:
            return backend, self._tool
        backend = resolve()
        tool, where = backend.loaded_tool((self.document_hash, str(self.path)),
                                          lambda: self._load_again(backend))
        self._where = where
        return backend, tool

    def _load_again(self, backend: Any) -> tuple[Any, Path]:
        """The tool from its file when that file is here and the same document (its
        content hash), else from the text this process carried, written to a directory of
        its own for the loading (``CwlDescriptionError`` if that is another document: one
        that reads other files, ``$import``/``$include``, not here)."""
        if self.path.is_file():
            with contextlib.suppress(CwlDescriptionError):
                tool = _load_tool(self.path, backend, self.name)
                if _document_hash(tool.tool, self.path) == self.document_hash:
                    return tool, self.path
        if not self.text:
            raise CwlDescriptionError("the tool's document did not travel with the process "
                                      "and its file is not here", path=str(self.path),
                                      process=self.name)
        scratch = Path(tempfile.mkdtemp(prefix="containerdag-cwl-tool-"))
        try:
            copy = scratch / self.path.name
            copy.write_text(self.text, encoding="utf-8")
            try:
                tool = _load_tool(copy, backend, self.name)
            except CwlDescriptionError as exc:
                raise CwlDescriptionError(
                    f"its file is not here, and the document that travelled with the process "
                    f"does not load alone (does it read other files, $import or $include?): "
                    f"{exc.detail}".replace(str(scratch), "."),
                    path=str(self.path), process=self.name, line=exc.line,
                    field=exc.field) from None
            found = _document_hash(tool.tool, copy)
        finally:  # loaded: cwltool does not read the file again
            shutil.rmtree(scratch, ignore_errors=True)
        if found != self.document_hash:
            raise CwlDescriptionError(
                f"the document loaded here (content hash {found[:12]}) is not the one added "
                f"({self.document_hash[:12]}): it reads other files ($import, $include, "
                "SchemaDefRequirement) that are not here with the same content",
                path=str(self.path), process=self.name)
        return tool, Path(tempfile.gettempdir()) / self.path.name

    # A pickled copy (a Dask task carries one to a worker) travels without cwltool's tool and
    # the backend: the backend says what rebuilds it there (``travel``: the function and the
    # options of the pools it runs in). Copies in this process keep both.
    def __reduce__(self) -> tuple:
        travel = getattr(self.backend, "travel", None)
        if travel is None:
            raise TypeError(f"CWL process {self.name!r} cannot be pickled: its backend "
                            f"{self.backend!r} cannot be rebuilt elsewhere")
        rebuild, options = travel()
        state = {k: v for k, v in self.__dict__.items() if k not in ("_tool", "backend")}
        return (rebuild, (type(self), state, options))

    def __copy__(self) -> CwlProcess:
        return copy_sharing(self)

    def __deepcopy__(self, memo: dict) -> CwlProcess:
        return deepcopy_sharing(self, memo, ("_tool", "backend"))

    # ---- what the kind says of itself ----------------------------------------------------

    def key_parts(self) -> dict[str, Any] | None:
        return {"kind": "cwl", "name": self.name, "document": self.document_hash,
                "image": self.image, "image_id": str(self.image_id),
                "settings": self._settings.key() if self._settings is not None else ""}

    def details(self) -> dict[str, str]:
        doc = self.tool.tool
        base = doc.get("baseCommand")
        command = " ".join(base) if isinstance(base, list) else str(base or "")
        reqs = sorted({_short(r.get("class", "")) for r in doc.get("requirements") or []})
        origin = {"image=": "given by image=",
                  "default": "the default: the tool names no image"}.get(
            self.image_from, "the tool's DockerRequirement")
        found = {
            "CWL tool": f"{self.path} (document {self.document_hash[:12]})",
            "image": f"{self.image} ({origin})",
            "command": command or "(from arguments)",
        }
        if reqs:
            found["requirements"] = ", ".join(reqs)
        if self._settings is not None:
            found["container"] = self._settings.summary()
        return found

    def documentation(self) -> dict[str, Any]:
        """The tool's own words: its ``label``, its ``doc`` (its line breaks kept) and its
        ``hints``, each ``{"class": ..., field: value}`` (the registry widget shows them)."""
        doc = self.tool.tool
        text = doc.get("doc")
        if isinstance(text, list):
            text = "\n".join(str(t) for t in text)
        hints = doc.get("hints") or []
        return {"label": str(doc.get("label") or ""), "doc": str(text or "").strip(),
                "hints": [{("class" if k == "class" else _short(k)):
                           (_short(v) if k == "class" else v) for k, v in dict(h).items()}
                          for h in hints if isinstance(h, dict)]}

    @property
    def settings(self) -> Any:
        return self._settings

    @property
    def optional_inputs(self) -> frozenset[str]:
        """The tool's inputs with a default or an optional type: a node may leave them out."""
        return frozenset(self.inputs) - frozenset(self.required)

    # ---- calls --------------------------------------------------------------------------

    def check_inputs(self, inputs: Any) -> None:
        """Inputs with a default, and optional ones, may be left out; null for an optional
        input is "not given"."""
        given = {k: v for k, v in inputs.items() if v is not None or k in self.required}
        ports = {k: v for k, v in self.inputs.items() if k in given or k in self.required}
        problems = port_problems(self.name, ports, given)
        if problems:
            raise InputError(problems, process=self.name)

    def _call(self, inputs: dict[str, Any], *, timeout: float | None,
              cancel: threading.Event | None, on_log: LogSink | None,
              on_progress: ProgressSink | None = None) -> Execution:
        from cwltool.context import RuntimeContext
        from cwltool.errors import WorkflowException
        from cwltool.loghandler import _logger

        _quiet_cwltool()
        backend, tool = self._runner()  # in the task's thread (Dask finds its worker by it)
        options = CallOptions(process=self.name, image=self._override, timeout=timeout,
                              cancel=cancel, on_log=on_log, raise_errors=True)
        order = {k: _to_cwl_value(v, self._formats.get(k)) for k, v in inputs.items()
                 if v is not None}
        host = tempfile.mkdtemp(prefix="containerdag-cwl-")
        try:
            runtime = RuntimeContext({
                "outdir": os.path.join(host, "final"),
                "tmp_outdir_prefix": os.path.join(host, "out") + "/",
                "tmpdir_prefix": os.path.join(host, "tmp") + "/",
                "stagedir": os.path.join(host, "stage"),
                "use_container": True, "move_outputs": "move", "rm_tmpdir": True,
                "basedir": str(self._where.parent),
            })
            for part in ("final", "out", "tmp", "stage"):
                os.makedirs(os.path.join(host, part))
            runtime.containerdag_call = options
            _local.options = options
            try:
                out, status = backend.executor()(tool, order, runtime, logger=_logger)
            except Cancelled:
                raise
            except WorkflowException as exc:
                raise ProcessFailed(_clean(str(exc)), process=self.name, log=options.log) from None
            finally:
                _local.options = None
            if status != "success" or out is None:
                why = "; ".join(_clean(e) for e in options.errors) or f"status {status}"
                raise ProcessFailed(why, process=self.name, log=options.log)
            return Execution({k: _from_cwl_output(v) for k, v in out.items()}, options.log)
        finally:
            shutil.rmtree(host, ignore_errors=True)

    def _keep_files(self, outputs: dict[str, Any], *, log: str) -> dict[str, Any]:
        return outputs  # made by _from_cwl_output, from the job's output directory only

    def __repr__(self) -> str:
        return f"<CwlProcess {self.name!r} from {self.path.name} in {self.image}>"


def _clean(text: str) -> str:
    """cwltool's message without its file:line prefixes repeated on every line."""
    lines = [re.sub(r"^\S+:\d+:\d+:\s?", "", line).rstrip() for line in text.splitlines()]
    return " | ".join(line.strip() for line in lines if line.strip())


def _to_cwl_value(value: Any, form: str | None = None) -> Any:
    """A port value as a CWL value: a ``File`` as a File object (with the input's declared
    ``format``, which a file port cannot carry)."""
    if isinstance(value, File):
        found = {"class": "File", "location": value.path.as_uri()}
        return {**found, "format": form} if form else found
    if isinstance(value, dict):
        return {k: _to_cwl_value(v, form) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_cwl_value(v, form) for v in value]
    return value


def _from_cwl_output(value: Any) -> Any:
    """A CWL output value as a port value: Files stored in the artifact store."""
    if isinstance(value, dict) and value.get("class") == "File":
        from ..cache.artifacts import ArtifactStore

        path = value.get("path") or _uri_path(value["location"])
        return ArtifactStore().put_path(path, name=value.get("basename") or None)
    if isinstance(value, dict) and value.get("class") == "Directory":
        return {"class": "Directory", "basename": value.get("basename", ""),
                "listing": [_from_cwl_output(v) for v in value.get("listing") or []]}
    if isinstance(value, dict):
        return {k: _from_cwl_output(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_cwl_output(v) for v in value]
    return value


def _uri_path(location: str) -> str:
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(location).path)


def new_call_id() -> str:
    return uuid.uuid4().hex
