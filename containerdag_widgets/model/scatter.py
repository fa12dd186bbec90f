"""Scatter: one node over the elements of its list inputs, each element a call of its own.

``elements`` expands a scattered node's resolved inputs into the inputs of each call
(``dotproduct``: the i-th of each list; ``flat_crossproduct``: every combination, in order);
``problems`` checks a scattered node before anything runs; ``label`` names an element for
people ("a.csv", "x=3").
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

from .errors import Problem, ScatterError
from .files import File, Glob
from .node import Node, Ref
from .ports import json_type, type_problem, value_problem

__all__ = ["ScatterError", "elements", "problems", "label", "literal_lists", "as_read",
           "MAX_LISTED"]

#: Element problems reported per input at most (a list of 10,000 bad values is one message).
MAX_LISTED = 5


def _as_list(value: Any) -> list[Any]:
    return value.files() if isinstance(value, Glob) else list(value)


def elements(node: Node, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The inputs of each call of scattered ``node``, in element order; ``ScatterError`` for
    ``dotproduct`` lists of different lengths (naming both)."""
    lists = {port: _as_list(inputs[port]) for port in node.scatter}
    if node.scatter_method == "dotproduct":
        unequal = _unequal(lists)
        if unequal is not None:
            raise ScatterError(_unequal_text(unequal), process=None, node=node.name)
        rows = zip(*lists.values(), strict=True)
    else:
        rows = itertools.product(*lists.values())
    return [{**inputs, **dict(zip(lists, row, strict=True))} for row in rows]


def _unequal(lists: Mapping[str, list[Any]]) -> tuple[tuple[str, int], tuple[str, int]] | None:
    """The first two inputs whose lists differ in length, with their lengths, else None."""
    items = [(port, len(values)) for port, values in lists.items()]
    other = next((item for item in items if item[1] != items[0][1]), None)
    return (items[0], other) if other is not None else None


def _unequal_text(unequal: tuple[tuple[str, int], tuple[str, int]]) -> str:
    (a, n), (b, m) = unequal
    return (f"scatter_method dotproduct takes the i-th element of each list, but input {a!r} "
            f"has {n} and input {b!r} has {m}")


def label(node: Node, element: Mapping[str, Any]) -> str:
    """An element named by its scattered values: a file by its name, a value by JSON."""
    parts = []
    for port in node.scatter:
        value = element.get(port)
        text = value.name if isinstance(value, File) else _short(value)
        parts.append(text if len(node.scatter) == 1 else f"{port}={text}")
    return ", ".join(parts)


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, sort_keys=True, default=repr)
    except ValueError:
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def literal_lists(node: Node) -> dict[str, list[Any]]:
    """The scattered inputs given as literals (lists, or globs resolved now)."""
    return {port: _as_list(node.inputs[port]) for port in node.scatter
            if isinstance(node.inputs.get(port), (list, tuple, Glob))}


def problems(node: Node, proc: Any, graph_nodes: Mapping[str, Node],
             outputs_of: Any) -> list[Problem]:
    """Every problem of scattered ``node`` against its process ``proc`` (its ports):
    unknown or unlisted inputs, a scattered literal that is not a list, a glob that matches
    nothing, elements of the wrong type, ``dotproduct`` lengths that differ, and a reference
    that cannot give a list. ``outputs_of(node_name)`` gives an upstream node's outputs, as
    its readers see them (a scattered node's are lists)."""
    found: list[Problem] = []
    name = node.name
    for port in node.scatter:
        where = f"inputs.{port}"
        if port not in proc.inputs:
            found.append(Problem("bad_scatter", name,
                                 f"scatter names input {port!r}, which process {proc.name!r} "
                                 f"does not have (inputs: {', '.join(proc.inputs) or 'none'})",
                                 process=proc.name, field="scatter", value=port))
            continue
        if port not in node.inputs:
            continue  # a missing input: reported by the port checker
        value = node.inputs[port]
        if isinstance(value, Ref):
            found.extend(_ref_problems(node, proc, port, value, graph_nodes, outputs_of))
        elif isinstance(value, Glob):
            if not value.files():
                found.append(Problem("empty_glob", name,
                                     f"input {port!r}: the glob {value.to_spec()['glob']!r} "
                                     f"matches no file in {value.folder!r}",
                                     process=proc.name, field=where,
                                     value=value.to_spec()["glob"]))
            else:
                found.extend(_element_problems(node, proc, port, value.files()))
        elif not isinstance(value, (list, tuple)):
            found.append(Problem("bad_scatter", name,
                                 f"scatter over input {port!r}: it is {json_type(value)} "
                                 f"{value!r:.60}, not a list", process=proc.name,
                                 field=where, value=value))
        else:
            found.extend(_element_problems(node, proc, port, list(value)))
    if node.scatter_method == "dotproduct" and not found:
        unequal = _unequal(literal_lists(node))
        if unequal is not None:
            found.append(Problem("scatter_lengths", name, _unequal_text(unequal),
                                 process=proc.name, field="scatter",
                                 value=[unequal[0][1], unequal[1][1]]))
    return found


def _element_problems(node: Node, proc: Any, port: str, values: list[Any]) -> list[Problem]:
    found = []
    for index, value in enumerate(values):
        problem = (value_problem(node.name, proc.name, port, value)
                   or type_problem(node.name, proc.name, port, proc.inputs[port], value))
        if problem is not None:
            found.append(Problem(problem.kind, node.name,
                                 f"element {index} of scattered {problem.detail}",
                                 process=proc.name, field=f"inputs.{port}", value=value))
            if len(found) >= MAX_LISTED:
                break
    return found


def _ref_problems(node: Node, proc: Any, port: str, ref: Ref, graph_nodes: Mapping[str, Node],
                  outputs_of: Any) -> list[Problem]:
    if ref.node not in graph_nodes:
        return []  # an unknown node: reported by the reference checker
    outputs = outputs_of(ref.node)
    if outputs is None or ref.output not in outputs:
        return []
    example = outputs[ref.output]
    if json_type(example) != "array":
        return [Problem("bad_scatter", node.name,
                        f"scatter over input {port!r}: it reads {ref}, which is "
                        f"{json_type(example)}, not a list", process=proc.name,
                        field=f"inputs.{port}", value=str(ref))]
    if example:  # an example element: the element type
        problem = type_problem(node.name, proc.name, port, proc.inputs[port], example[0])
        if problem is not None:
            return [Problem("type_mismatch", node.name,
                            f"scatter over input {port!r}: the elements of {ref} are "
                            f"{json_type(example[0])}, but the input is "
                            f"{json_type(proc.inputs[port])}", process=proc.name,
                            field=f"inputs.{port}", value=str(ref))]
    return []


def as_read(node: Node, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The outputs of ``node`` as its readers see them: a scattered node's are lists of the
    declared output (a one-element example list)."""
    if not node.scatter:
        return dict(outputs)
    return {port: [example] for port, example in outputs.items()}
