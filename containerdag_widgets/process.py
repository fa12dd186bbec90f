"""Processes: named functions from a JSON object of inputs to a JSON object of outputs.

A process declares its ports with example values; an example's JSON type is the port's type.
``Process.execute`` is what the runner calls; ``Process.run`` is the convenient form.
"""

from __future__ import annotations

import inspect
import sys
import threading
import traceback
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .cache.keys import code_hash, description_part
from .errors import (
    Cancelled,
    InputError,
    ProcessError,
    ProcessFailed,
    ProcessTimeout,
    ProtocolError,
)
from .files import File, file_hint, file_of, files_in, map_files
from .ports import json_type, port_problems, type_problem

#: Called with each chunk of a running call's log (stderr) as it arrives.
LogSink = Callable[[str], None]

__all__ = [
    "Process",
    "PythonProcess",
    "Execution",
    "process",
    "LogSink",
]


@dataclass
class Execution:
    """What one successful call gave: the outputs and the log (the process's stderr)."""

    outputs: dict[str, Any]
    log: str = ""


@dataclass(eq=False)
class Process:
    """A named process with example-typed ports. Subclasses implement ``_call``."""

    name: str
    description: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    #: Where the process comes from: ``"python"`` or an image tag; the widgets group by it.
    source: str = "python"
    #: False for non-deterministic processes, whose results are never reused from a cache.
    cacheable: bool = True
    #: Bumped by the author to invalidate cached results when the code's hash cannot tell.
    version: str | None = None
    #: Runs in this interpreter: a call cannot be killed, so a cancelled run abandons it.
    in_process: bool = False

    def run(self, inputs: Mapping[str, Any] | None = None, *, timeout: float | None = None) -> dict:
        """Call the process once and return its outputs."""
        return self.execute(inputs or {}, timeout=timeout).outputs

    def execute(
        self,
        inputs: Mapping[str, Any],
        *,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
        on_log: LogSink | None = None,
    ) -> Execution:
        """Check the inputs, call the process, check its outputs.

        ``on_log`` receives the call's log (stderr) in chunks as it arrives, where the process
        can report it live. Raises a ``ProcessError`` subclass: ``InputError``,
        ``ProcessFailed``, ``ProtocolError``, ``ProcessTimeout`` or ``Cancelled``.
        """
        self.check_inputs(inputs)
        given = map_files(dict(inputs), file_of)  # {"$file": PATH} is a File from here on
        result = self._call(given, timeout=timeout, cancel=cancel, on_log=on_log)
        self.check_outputs(result.outputs, log=result.log)
        if files_in(result.outputs):
            result.outputs = self._keep_files(result.outputs, log=result.log)
        return result

    def _keep_files(self, outputs: dict[str, Any], *, log: str) -> dict[str, Any]:
        """The outputs with each file copied into the artifact store (``ProtocolError`` for a
        file that is not there or is over the size limit).

        For a process that runs in this interpreter, whose code can read any file anyway; a
        kind whose calls run elsewhere overrides this so that only its own transport makes
        files (a container's output directory)."""
        from .cache.artifacts import FileTooLarge, keep_files

        try:
            return keep_files(outputs)
        except (OSError, FileTooLarge) as exc:
            raise ProtocolError(f"an output file cannot be kept: {exc}", process=self.name,
                                output=repr(outputs)[:200], log=log) from None

    @property
    def file_ports(self) -> dict[str, str]:
        """The file ports, ``"inputs.data"``/``"outputs.plot"``, with their extension hint."""
        found = {}
        for side, ports in (("inputs", self.inputs), ("outputs", self.outputs)):
            for port, example in ports.items():
                hint = file_hint(example)
                if hint is not None:
                    found[f"{side}.{port}"] = hint
        return found

    def _call(self, inputs: dict[str, Any], *, timeout: float | None,
              cancel: threading.Event | None, on_log: LogSink | None) -> Execution:
        raise NotImplementedError

    def check_inputs(self, inputs: Mapping[str, Any]) -> None:
        """Raise ``InputError`` naming every unknown, missing or mistyped input."""
        problems = port_problems(self.name, self.inputs, inputs)
        if problems:
            raise InputError(problems, process=self.name)

    def check_outputs(self, outputs: Any, *, log: str = "") -> None:
        """Raise ``ProtocolError`` unless ``outputs`` is an object with every declared port."""
        if not isinstance(outputs, Mapping):
            raise ProtocolError(
                f"outputs must be a JSON object, got {json_type(outputs)} {outputs!r:.200}",
                process=self.name,
                output=repr(outputs),
                log=log,
            )
        missing = [port for port in self.outputs if port not in outputs]
        if missing:
            raise ProtocolError(
                f"outputs miss declared key(s) {', '.join(map(repr, missing))}; "
                f"got keys {sorted(outputs)!r}",
                process=self.name,
                output=repr(dict(outputs))[:200],
                log=log,
            )
        for port, example in self.outputs.items():
            problem = type_problem(None, self.name, port, example, outputs[port],
                                   side="outputs")
            if problem is not None:  # the rule its readers apply: it fails here, not there
                raise ProtocolError(problem.detail, process=self.name,
                                    output=repr(dict(outputs))[:200], log=log, port=port)

    # ---- what each kind says of itself ------------------------------------------------------

    def key_parts(self) -> dict[str, Any] | None:
        """What identifies this process's code in a cache key: ``kind`` first, then what a
        change of it must invalidate (``cache.keys.LABELS`` parts are kept for messages
        only). None: a call of it cannot be keyed, so it is never reused."""
        return None

    def details(self) -> dict[str, str]:
        """How it runs, in words (label -> text), for ``containerdag describe`` and the
        registry widget."""
        return {}

    def image_command(self) -> tuple[str, str, list[str]] | None:
        """``(image tag, image ID, argv)`` when a call is one command in an image (what an
        exported workflow runs); None otherwise."""
        return None

    @property
    def settings(self) -> Any:
        """The container settings its calls run with (None: it runs in no container)."""
        return None

    def close(self) -> None:
        """Release what the process holds (containers, for container processes)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} from {self.source}>"


_EXAMPLE_FOR_ANNOTATION = {float: 0.0, int: 0, str: "", bool: False, list: [], dict: {}}


#: Every ``PythonProcess`` made in this interpreter, by name (weakly): to hint at one that was
#: never added to a registry.
DEFINED: weakref.WeakValueDictionary[str, PythonProcess] = weakref.WeakValueDictionary()


class PythonProcess(Process):
    """A process run in this Python interpreter: ``fn(**inputs)`` returns the outputs dict."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        outputs: Mapping[str, Any],
        name: str | None = None,
        description: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        cache: bool = True,
        version: str | None = None,
    ):
        if description is None:
            description = (inspect.getdoc(fn) or "").strip()
        super().__init__(
            name=name or fn.__name__,
            description=description,
            inputs=dict(inputs) if inputs is not None else _ports_from_signature(fn),
            outputs=dict(outputs),
            source="python",
            cacheable=cache,
            version=None if version is None else str(version),
            in_process=True,
        )
        self.fn = fn
        DEFINED[self.name] = self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def key_parts(self) -> dict[str, Any]:
        """Its function by qualified name and code hash (comments, formatting and docstrings
        do not count; globals it reads do), the Python version and ``version=``."""
        target = getattr(self.fn, "__wrapped__", self.fn)
        module = getattr(target, "__module__", None) or ""
        qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
        return {
            "kind": "python", "name": self.name,
            "qualname": f"{module}.{qualname}".lstrip("."), "code": code_hash(self.fn),
            "python": "{}.{}".format(*sys.version_info[:2]), "version": self.version,
            # The docstring is the description of a Python process: only the ports count.
            "description": description_part(self, text=False),
        }

    def details(self) -> dict[str, str]:
        target = getattr(self.fn, "__wrapped__", self.fn)
        return {"function": f"{getattr(target, '__module__', '?')}."
                            f"{getattr(target, '__qualname__', self.name)}"}

    def _call(self, inputs: dict[str, Any], *, timeout: float | None,
              cancel: threading.Event | None, on_log: LogSink | None) -> Execution:
        if timeout is None:
            # No thread of its own: a cancelled run abandons the call (see runner._abandon).
            return Execution(self._wrap(self._invoke(inputs)))
        # A Python thread cannot be killed: on timeout or cancel the call is abandoned.
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["value"] = self._invoke(inputs)
            except BaseException as exc:  # noqa: BLE001 - carried to the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=target, name=f"process {self.name}", daemon=True)
        thread.start()
        waited = 0.0
        step = 0.05
        while thread.is_alive():
            thread.join(step)
            waited += step
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled while running", process=self.name)
            if timeout is not None and waited >= timeout and thread.is_alive():
                raise ProcessTimeout(
                    f"timed out after {timeout:g} s", process=self.name, timeout=timeout
                )
        if "error" in box:
            raise box["error"]
        return Execution(self._wrap(box["value"]))

    def _invoke(self, inputs: dict[str, Any]) -> Any:
        try:
            return self.fn(**inputs)
        except ProcessError:
            raise
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            raise ProcessFailed(
                f"{type(exc).__name__}: {exc} (at {frame.filename}:{frame.lineno}, "
                f"in {frame.name})",
                process=self.name, log=traceback.format_exc(),
            ) from exc

    def _wrap(self, value: Any) -> Any:
        if not isinstance(value, Mapping) and len(self.outputs) == 1:
            return {next(iter(self.outputs)): value}
        return dict(value) if isinstance(value, Mapping) else value


def _ports_from_signature(fn: Callable[..., Any]) -> dict[str, Any]:
    ports: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is not param.empty:
            ports[param.name] = param.default
            continue
        annotation = param.annotation
        if isinstance(annotation, str):
            annotation = {"float": float, "int": int, "str": str, "bool": bool,
                          "File": File}.get(annotation)
        if annotation is File:  # a file port without an extension hint
            ports[param.name] = {"$file": "file"}
            continue
        if annotation not in _EXAMPLE_FOR_ANNOTATION:
            raise TypeError(
                f"{fn.__name__}: parameter {param.name!r} needs a default value or a "
                "float/int/str/bool/list/dict/File annotation to give its port an example"
            )
        ports[param.name] = _EXAMPLE_FOR_ANNOTATION[annotation]
    return ports


def process(
    fn: Callable[..., Any] | None = None,
    *,
    outputs: Mapping[str, Any],
    name: str | None = None,
    description: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    cache: bool = True,
    version: str | None = None,
) -> Any:
    """Decorator making a function an in-process ``PythonProcess``.

    Inputs come from the signature (defaults are the examples); ``outputs`` maps each output
    port to an example value. ``cache=False`` marks a non-deterministic process (never reused
    from the cache); ``version`` invalidates cached results when bumped.
    ``@process(outputs={"n": 0.5}, name="random float", cache=False)``.
    """

    def wrap(f: Callable[..., Any]) -> PythonProcess:
        return PythonProcess(f, outputs=outputs, name=name, description=description,
                             inputs=inputs, cache=cache, version=version)

    return wrap(fn) if fn is not None else wrap
