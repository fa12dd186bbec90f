"""A ``%%node`` cell body: parsed, checked against the graph, or one message naming each line.

Every problem is a ``Problem`` located by the core (``NodeSource``); this module only renders
them with the body's source lines.
"""

from __future__ import annotations

from collections import deque

from IPython.core.error import UsageError

from ..model.errors import Problem, SpecError
from ..model.graph import Graph, Node
from ..model.yaml_source import NodeSource, load_yaml
from ..processes.registry import Registry
from .help import reference_hints

__all__ = ["parse_node", "node_name", "report"]


def node_name(line: str) -> str:
    """The ``%%node`` line as a node name: stripped, one pair of surrounding quotes removed."""
    name = line.strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
        name = name[1:-1].strip()
    if not name:
        raise UsageError("usage: %%node NAME, then the node as YAML: process: ..., inputs: ...")
    return name


def parse_node(name: str, body: str, graph: Graph, registry: Registry) -> tuple[Node, list[str]]:
    """The checked node of a ``%%node`` cell and warnings about other nodes it breaks.

    Raises one ``UsageError`` listing every problem of the node, with line and field.
    """
    replacing = name in graph

    def refuse(problems: list[Problem]) -> UsageError:
        return UsageError(report(name, replacing, problems, body))

    try:
        data, root = load_yaml(body)
    except SpecError as exc:
        raise refuse([exc.problem]) from None
    if data is None:
        raise refuse([Problem("spec", name, "the body is empty; write the node as YAML with "
                              "process: and inputs:")])
    if not isinstance(data, dict):
        raise refuse([Problem("spec", name, "the body is a YAML mapping with process: and "
                              f"inputs:, got {type(data).__name__}", line=1)])
    source = NodeSource(root)
    try:
        node = Node.from_spec(name, data, source)
    except SpecError as exc:
        raise refuse([exc.problem]) from None

    candidate = Graph(graph.nodes)
    candidate.nodes[name] = node
    found = candidate.problems(registry)
    problems = [p for p in found if p.node == name]
    problems += cycle_problems(candidate, name)
    # "x: stats.mean" was meant as a reference: say how to write one.
    problems, warnings = reference_hints(data.get("inputs"), graph, problems)
    if problems:
        raise refuse(problems)
    # Allowed, but said: a replaced node can break nodes that read from it.
    before = {(p.node, p.detail) for p in graph.problems(registry)}
    warnings += [p.message for p in found
                 if p.node not in (name, None) and (p.node, p.detail) not in before]
    return node, warnings


def cycle_problems(graph: Graph, name: str) -> list[Problem]:
    """A problem for each input of node ``name`` whose reference closes a cycle back to it."""
    down: dict[str, list[str]] = {}
    for up, _, node, _ in graph.edges:
        down.setdefault(up, []).append(node)
    node = graph[name]
    problems = []
    for port, ref in node.refs.items():
        path = _path(down, name, ref.node) if ref.node in graph else None
        if path is not None:
            cycle = [*path, name]
            problem = Problem("cycle", name, "cycle: " + " -> ".join(map(repr, cycle)),
                              process=node.process, field=f"inputs.{port}", value=cycle)
            if node.source is not None:
                problem = problem.at(*node.source.locate(problem.field))
            problems.append(problem)
    return problems


def _path(down: dict[str, list[str]], start: str, goal: str) -> list[str] | None:
    """A shortest path ``start -> ... -> goal`` along ``down`` edges, if there is one."""
    parent: dict[str, str | None] = {start: None}
    todo = deque([start])
    while todo:
        current = todo.popleft()
        if current == goal:
            path = [current]
            while (prev := parent[path[-1]]) is not None:
                path.append(prev)
            return path[::-1]
        for nxt in down.get(current, ()):
            if nxt not in parent:
                parent[nxt] = current
                todo.append(nxt)
    return None


def report(name: str, replacing: bool, problems: list[Problem], body: str) -> str:
    """One readable message listing every problem with its line, field and source text."""
    lines = body.splitlines()
    entries = []
    for p in sorted(problems, key=lambda p: p.line or 0):
        where = f"line {p.line}" if p.line else ""
        if p.field:
            where = f"{where} ({p.field})" if where else p.field
        entry = f"{where}: {p.detail}" if where else p.detail
        if p.line and p.line <= len(lines):
            entry += f"\n    {p.line} | {lines[p.line - 1].rstrip()}"
        entries.append(entry)
    head = f"node {name!r} {'not replaced' if replacing else 'not added'}"
    if len(entries) == 1:
        return f"{head}: {entries[0]}"
    return f"{head} ({len(entries)} problems):\n" + "\n".join(
        "  " + e.replace("\n", "\n  ") for e in entries
    )
