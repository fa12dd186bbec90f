"""Processes: named functions from a JSON object of inputs to a JSON object of outputs.

A process declares its ports with example values; an example's JSON type is the port's type.
``Process.execute`` is what the runner calls; ``Process.run`` is the convenient form.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import (
    Cancelled,
    InputError,
    ProcessError,
    ProcessFailed,
    ProcessTimeout,
    ProtocolError,
)

__all__ = [
    "Process",
    "PythonProcess",
    "Execution",
    "process",
    "json_type",
    "accepts",
]


def json_type(value: Any) -> str:
    """The JSON type name of a value: null, boolean, integer, number, string, array, object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def accepts(port_type: str, value_type: str) -> bool:
    """Whether a port typed by its example accepts a value of ``value_type``.

    A number port accepts integers; a null example accepts anything.
    """
    return port_type in ("null", value_type) or (port_type == "number" and value_type == "integer")


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

    def run(self, inputs: Mapping[str, Any] | None = None, *, timeout: float | None = None) -> dict:
        """Call the process once and return its outputs."""
        return self.execute(inputs or {}, timeout=timeout).outputs

    def execute(
        self,
        inputs: Mapping[str, Any],
        *,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> Execution:
        """Check the inputs, call the process, check its outputs.

        Raises a ``ProcessError`` subclass: ``InputError``, ``ProcessFailed``,
        ``ProtocolError``, ``ProcessTimeout`` or ``Cancelled``.
        """
        self.check_inputs(inputs)
        result = self._call(dict(inputs), timeout=timeout, cancel=cancel)
        self.check_outputs(result.outputs, log=result.log)
        return result

    def _call(
        self, inputs: dict[str, Any], *, timeout: float | None, cancel: threading.Event | None
    ) -> Execution:
        raise NotImplementedError

    def check_inputs(self, inputs: Mapping[str, Any]) -> None:
        """Raise ``InputError`` naming every unknown, missing or mistyped input."""
        problems = []
        unknown = sorted(set(inputs) - set(self.inputs))
        missing = sorted(set(self.inputs) - set(inputs))
        if unknown:
            problems.append(f"unknown input(s) {', '.join(map(repr, unknown))}")
        if missing:
            problems.append(f"missing input(s) {', '.join(map(repr, missing))}")
        for port, value in inputs.items():
            if port in self.inputs:
                want, got = json_type(self.inputs[port]), json_type(value)
                if not accepts(want, got):
                    problems.append(f"input {port!r}={value!r} is {got}, expected {want}")
        if problems:
            expected = ", ".join(self.inputs) or "none"
            raise InputError(f"{'; '.join(problems)} (inputs: {expected})", process=self.name)

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

    def close(self) -> None:
        """Release what the process holds (containers, for container processes)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} from {self.source}>"


_EXAMPLE_FOR_ANNOTATION = {float: 0.0, int: 0, str: "", bool: False, list: [], dict: {}}


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
    ):
        if description is None:
            description = (inspect.getdoc(fn) or "").strip()
        super().__init__(
            name=name or fn.__name__,
            description=description,
            inputs=dict(inputs) if inputs is not None else _ports_from_signature(fn),
            outputs=dict(outputs),
            source="python",
        )
        self.fn = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def _call(
        self, inputs: dict[str, Any], *, timeout: float | None, cancel: threading.Event | None
    ) -> Execution:
        if timeout is None and cancel is None:
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
            raise ProcessFailed(f"{type(exc).__name__}: {exc}", process=self.name) from exc

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
            annotation = {"float": float, "int": int, "str": str, "bool": bool}.get(annotation)
        if annotation not in _EXAMPLE_FOR_ANNOTATION:
            raise TypeError(
                f"{fn.__name__}: parameter {param.name!r} needs a default value or a "
                "float/int/str/bool/list/dict annotation to give its port an example"
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
) -> Any:
    """Decorator making a function an in-process ``PythonProcess``.

    Inputs come from the signature (defaults are the examples); ``outputs`` maps each output
    port to an example value. ``@process(outputs={"n": 0.5}, name="random float")``.
    """

    def wrap(f: Callable[..., Any]) -> PythonProcess:
        return PythonProcess(f, outputs=outputs, name=name, description=description, inputs=inputs)

    return wrap(fn) if fn is not None else wrap
