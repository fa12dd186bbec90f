"""Ports typed by example values: one checker for a process's inputs, used everywhere.

``Process.execute`` and ``Graph.validate`` both call ``port_problems``, so the same mistake
gets the same message whether it is found in a call or in a graph before it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import Problem

__all__ = ["json_type", "accepts", "port_problems", "type_problem"]


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


def type_problem(node: str | None, process: str, port: str, example: Any,
                 value: Any) -> Problem | None:
    """A ``type_mismatch`` problem if ``value`` does not fit the port typed by ``example``."""
    want, got = json_type(example), json_type(value)
    if accepts(want, got):
        return None
    return Problem("type_mismatch", node,
                   f"input {port!r} of process {process!r} is {got} {value!r:.60}, "
                   f"expected {want} like {example!r}",
                   process=process, field=f"inputs.{port}", value=value)


def port_problems(process: str, ports: Mapping[str, Any], values: Mapping[str, Any], *,
                  node: str | None = None,
                  literal: Callable[[Any], bool] = lambda _v: True) -> list[Problem]:
    """Every unknown, missing or mistyped input of ``values`` against the example ``ports``.

    Values for which ``literal`` is false (references, in a graph) are not type-checked here.
    """
    out: list[Problem] = []
    for port in values:
        if port not in ports:
            out.append(Problem(
                "unknown_input", node,
                f"process {process!r} has no input {port!r} (inputs: "
                f"{', '.join(ports) or 'none'})",
                process=process, field=f"inputs.{port}", value=port))
    for port in ports:
        if port not in values:
            out.append(Problem(
                "missing_input", node,
                f"missing input {port!r} of process {process!r} (example: {ports[port]!r})",
                process=process, field=f"inputs.{port}", value=port))
    for port, value in values.items():
        if port in ports and literal(value):
            problem = type_problem(node, process, port, ports[port], value)
            if problem is not None:
                out.append(problem)
    return out
