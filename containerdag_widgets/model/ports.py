"""Ports typed by example values: one checker for a process's inputs, used everywhere.

``Process.execute`` and ``Graph.validate`` both call ``port_problems``, so the same mistake
gets the same message whether it is found in a call or in a graph before it runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from .errors import Problem, did_you_mean
from .files import NOT_FILES, File, files_in, is_file_json, not_a_file, shown_name, size_limit

__all__ = ["json_type", "accepts", "port_problems", "type_problem", "value_problem",
           "file_problem", "names_listed", "MAX_INPUT_BYTES"]

#: Largest JSON text of one input value; more is refused with its size (configurable).
MAX_INPUT_BYTES = 16 * 2**20
#: Deeper nesting than this is refused (JSON parsers in the images would choke).
MAX_DEPTH = 200


def json_type(value: Any) -> str:
    """The JSON type name of a value: null, boolean, integer, number, string, array, object,
    or file (a ``File``, or its wire form ``{"$file": PATH}``)."""
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
    if isinstance(value, File) or is_file_json(value):
        return "file"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def accepts(port_type: str, value_type: str) -> bool:
    """Whether a port typed by its example accepts a value of ``value_type``.

    A number port accepts integers; a null example accepts anything.
    """
    return port_type in ("null", value_type) or (port_type == "number" and value_type == "integer")


def type_problem(node: str | None, process: str, port: str, example: Any,
                 value: Any, *, side: str = "inputs") -> Problem | None:
    """A ``type_mismatch`` problem if ``value`` does not fit the port typed by ``example``:
    the one type rule, for an input given to a process and an output it returns (``side``
    is ``"inputs"`` or ``"outputs"``)."""
    want, got = json_type(example), json_type(value)
    if accepts(want, got):
        return None
    what = "input" if side == "inputs" else "output"
    return Problem("type_mismatch", node,
                   f"{what} {port!r} of process {process!r} is {got} {value!r:.60}, "
                   f"expected {want} like {example!r:.60}",
                   process=process, field=f"{side}.{port}", value=value)


def names_listed(names: Iterable[str], limit: int = 20) -> str:
    """``names`` as ``'a', 'b', ...`` for a message: at most ``limit``, then how many more."""
    names = list(names)
    shown = ", ".join(repr(n) if not isinstance(n, str) else n for n in names[:limit])
    more = len(names) - limit
    return (shown or "none") + (f" and {more} more" if more > 0 else "")


def _not_json(value: Any, path: str, depth: int = 0) -> tuple[str, str] | None:
    """(where, what) of the first part of ``value`` that JSON cannot carry, else None."""
    if depth > MAX_DEPTH:
        return path, f"nesting deeper than {MAX_DEPTH} levels"
    if value is None or isinstance(value, (bool, int, str, File)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, f"{value!r} (JSON has no NaN or infinity)")
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _not_json(item, f"{path}[{i}]", depth + 1)
            if found:
                return found
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return path, f"a {type(key).__name__} key {key!r:.40} (JSON keys are strings)"
            found = _not_json(item, f"{path}.{key}", depth + 1)
            if found:
                return found
        return None
    return path, f"a {type(value).__name__} {value!r:.40} (not a JSON value)"


def _may_exceed(value: Any, max_bytes: int) -> bool:
    """Whether the JSON text of ``value`` could be over ``max_bytes`` (a cheap upper bound:
    a character takes at most 6 bytes of JSON, a number 32, a container 2 + a comma)."""
    budget = max_bytes
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            budget -= 6 * len(item) + 2
        elif isinstance(item, Mapping):
            budget -= 2
            for key, sub in item.items():
                budget -= 6 * len(str(key)) + 4
                stack.append(sub)
        elif isinstance(item, (list, tuple)):
            budget -= 2 + len(item)
            stack.extend(item)
        else:
            budget -= 32
        if budget < 0:
            return True
    return False


def value_problem(node: str | None, process: str, port: str, value: Any,
                  max_bytes: int | None = None) -> Problem | None:
    """A ``bad_value`` problem if ``value`` is not JSON, or its JSON text is over
    ``max_bytes`` (default: this module's ``MAX_INPUT_BYTES``, which may be set)."""
    if max_bytes is None:
        max_bytes = MAX_INPUT_BYTES
    if isinstance(value, File):
        return file_problem(node, process, port, value)
    for inner in files_in(value, json_form=False):  # files inside a list or an object
        problem = file_problem(node, process, port, inner)
        if problem is not None:
            return problem
    found = _not_json(value, port)
    if found is not None:
        where, what = found
        at = "" if where == port else f" at {where}"
        return Problem("bad_value", node, f"input {port!r} of process {process!r} holds "
                       f"{what}{at}", process=process, field=f"inputs.{port}", value=value)
    if _may_exceed(value, max_bytes):
        size = len(json.dumps(value, ensure_ascii=False).encode())
        if size > max_bytes:
            return Problem("bad_value", node, f"input {port!r} of process {process!r} is "
                           f"{size} bytes of JSON, over the limit of {max_bytes}",
                           process=process, field=f"inputs.{port}", value=f"<{size} bytes>")
    return None


def file_problem(node: str | None, process: str, port: str, value: File) -> Problem | None:
    """A ``missing_file``, ``not_a_file`` or ``file_too_large`` problem for a ``File`` input,
    else None (a FIFO or device is never opened to find out)."""
    field = f"inputs.{port}"
    what = not_a_file(value.path)
    if what is not None and what not in NOT_FILES:
        return Problem("missing_file", node, f"input {port!r} of process {process!r}: file "
                       f"{shown_name(value.path)!r} does not exist"
                       + ("" if what == "missing" else f" or cannot be read ({what})"),
                       process=process, field=field, value=shown_name(value.path))
    if what is not None:
        return Problem("not_a_file", node, f"input {port!r} of process {process!r}: "
                       f"{shown_name(value.path)!r} is {what}, not a regular file",
                       process=process, field=field, value=shown_name(value.path))
    limit = size_limit()
    if value.size > limit:
        return Problem("file_too_large", node, f"input {port!r} of process {process!r}: file "
                       f"{str(value.path)!r} is {value.size} bytes, over the limit of {limit} "
                       "(CONTAINERDAG_FILE_LIMIT)", process=process, field=field,
                       value=str(value.path))
    return None


def _plainly_fits(example: Any, value: Any) -> bool:
    """A quick yes for the common literals (a finite number, a short text, a boolean) that
    fit their port; anything else gets the full checks."""
    kind, want = type(value), type(example)
    if kind is float:
        return want is float and math.isfinite(value)
    if kind is int:
        return want is int or want is float
    if kind is str:
        return want is str and 6 * len(value) + 2 <= MAX_INPUT_BYTES
    return kind is bool and want is bool


def port_problems(process: str, ports: Mapping[str, Any], values: Mapping[str, Any], *,
                  node: str | None = None,
                  literal: Callable[[Any], bool] = lambda _v: True,
                  optional: Collection[str] = ()) -> list[Problem]:
    """Every unknown, missing or mistyped input of ``values`` against the example ``ports``
    (the ``optional`` ones may be left out).

    Values for which ``literal`` is false (references, in a graph) are not type-checked here.
    """
    if values.keys() == ports.keys() - set(optional) and all(
            _plainly_fits(ports[p], v) or not literal(v) for p, v in values.items()):
        return []  # the common case, checked without building a problem
    out: list[Problem] = []
    for port in values:
        if port not in ports:
            out.append(Problem(
                "unknown_input", node,
                f"process {process!r} has no input {port!r}"
                f"{did_you_mean(port, [p for p in ports if p not in values])} (inputs: "
                f"{names_listed(ports)})",
                process=process, field=f"inputs.{port}", value=port))
    for port in ports:
        if port not in values and port not in optional:
            out.append(Problem(
                "missing_input", node,
                f"missing input {port!r} of process {process!r} (example: {ports[port]!r})",
                process=process, field=f"inputs.{port}", value=port))
    for port, value in values.items():
        if port in ports and literal(value):
            problem = (value_problem(node, process, port, value)
                       or type_problem(node, process, port, ports[port], value))
            if problem is not None:
                out.append(problem)
    return out
