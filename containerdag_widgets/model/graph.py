"""Graphs of nodes: each node names a process and gives its inputs, literal or referenced.

A reference to an upstream node's output is a ``Ref``; in a spec it is written as the seed's
tuple ``("node a", "z")`` or, in YAML/JSON, ``{from: node a, output: z}``.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import yaml

from . import display, scatter
from .bus import EventBus
from .errors import (
    CycleError,
    GraphValidationError,
    Problem,
    ProcessNotFound,
    SpecError,
    did_you_mean,
)
from .node import Node, Ref, copy_value, parse_input
from .ordering import Ordering
from .ports import accepts, json_type, port_problems
from .yaml_source import LAYOUT_KEY, NodeSource, layout_section, load_yaml


class Ports(Protocol):
    """What validation reads of a process: its name and example-typed ports."""

    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    optional_inputs: frozenset[str]


class Catalog(Protocol):
    """Where a graph's process names are looked up (a ``Registry``)."""

    def get(self, name: str) -> Ports: ...

    def __contains__(self, name: object) -> bool: ...

__all__ = ["Ref", "Node", "Graph", "GraphEdited"]


@dataclass(frozen=True)
class GraphEdited:
    """A graph changed through its API: ``kind`` is add, replace, remove, rename, restore,
    clear, input or scatter; ``nodes`` names the nodes concerned (for rename: old, new)."""

    kind: str
    nodes: tuple[str, ...]


class Graph:
    """A DAG of named nodes, as data: build it from a spec, YAML, or ``add``; edit it (each
    edit a ``GraphEdited`` to its watchers); validate and order it against a registry.
    ``containerdag_widgets.Graph`` adds the fronts that run and export it."""

    def __init__(self, nodes: Mapping[str, Node] | None = None):
        self.nodes: dict[str, Node] = dict(nodes or {})
        #: Where each node stood on the canvas, from a YAML file's ``layout:`` section
        #: (node -> ``{"x", "y"}``); a ``GraphWidget`` of the graph starts from it. Not part
        #: of the graph's equality.
        self.layout: dict[str, dict[str, float]] = {}
        self._edits = EventBus()

    # ---- watching -----------------------------------------------------------------------

    def watch(self, callback: Callable[[GraphEdited], None]) -> Callable[[], None]:
        """Call ``callback(event)`` with a ``GraphEdited`` on each edit of this graph (from any
        thread; a bound method is held weakly). Returns a function that stops the watching.
        A run's events go out on its session's bus (``Session.subscribe``)."""
        return self._edits.subscribe(callback)

    def notify(self, event: GraphEdited) -> None:
        """Tell every watcher about an edit (a broken watcher is logged, never raised)."""
        self._edits.publish(event)

    # ---- building -----------------------------------------------------------------------

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Graph:
        """A graph from the seed's dict: ``{name: {"process": ..., "inputs": {...}}}``."""
        if not isinstance(spec, Mapping):
            raise SpecError(f"a graph spec is a mapping of node name to node, got {spec!r:.80}")
        return cls({name: Node.from_spec(name, node) for name, node in spec.items()})

    @classmethod
    def from_yaml(cls, text: str) -> Graph:
        """A graph from YAML; references are written ``{from: NODE, output: PORT}``.

        Each node remembers where it is written, so its problems carry their line. A
        top-level ``layout:`` of ``node: {x: ..., y: ...}`` entries (what ``to_yaml(layout=...)``
        writes) goes to ``graph.layout``, not to a node.
        """
        data, root = load_yaml(text, graph=True)
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise SpecError("a graph is a mapping of node name to node", line=1, column=1)
        layout = layout_section(data)
        if layout is not None:
            data = {k: v for k, v in data.items() if k != LAYOUT_KEY}
        sources = {str(k.value): NodeSource(v, k.start_mark.line + 1, k.start_mark.column + 1)
                   for k, v in root.value}
        graph = cls({name: Node.from_spec(name, spec, sources.get(str(name)))
                     for name, spec in data.items()})
        graph.layout = layout or {}
        return graph

    def add(self, name: str, process: str, inputs: Mapping[str, Any] | None = None,
            *, timeout: float | None = None, scatter: Iterable[str] | str = (),
            scatter_method: str = "dotproduct", on_error: str = "fail") -> Node:
        """Add or replace node ``name``; returns it. ``scatter`` names inputs whose lists it
        runs over, a call per element (see ``Node``)."""
        node = Node.from_spec(
            name, {"process": process, "inputs": dict(inputs or {}), "timeout": timeout,
                   "scatter": [scatter] if isinstance(scatter, str) else list(scatter),
                   "scatter_method": scatter_method, "on_error": on_error}
        )
        return self.put(node)

    def put(self, node: Node) -> Node:
        """Add ``node``, or replace the node of that name where it stands; returns it."""
        kind = "replace" if node.name in self.nodes else "add"
        self.nodes[node.name] = node
        self.notify(GraphEdited(kind, (node.name,)))
        return node

    def remove(self, name: str) -> None:
        """Remove node ``name`` (nodes reading from it are left to validation to report)."""
        self._known(name)
        del self.nodes[name]
        self.notify(GraphEdited("remove", (name,)))

    def _known(self, name: str) -> Node:
        """Node ``name``, or a ``SpecError`` naming it and the nodes there are."""
        node = self.nodes.get(name)
        if node is None:
            raise SpecError(f"no node named {name!r}{did_you_mean(name, self.nodes)}",
                            node=name, field="name", value=name)
        return node

    def rename(self, old: str, new: str) -> None:
        """Rename node ``old`` to ``new`` where it stands; references to it follow."""
        self._known(old)
        if not isinstance(new, str) or not new.strip() or new != new.strip():
            raise SpecError(f"a node name is a non-empty string without surrounding spaces, "
                            f"got {new!r}", node=old, field="name", value=new)
        if new != old and new in self.nodes:
            raise SpecError(f"a node named {new!r} exists already", node=old, field="name",
                            value=new)
        nodes = {}
        for name, node in self.nodes.items():
            for port, value in node.inputs.items():
                if isinstance(value, Ref) and value.node == old:
                    node.inputs[port] = Ref(new, value.output)
            if name == old:
                node.name = name = new
            nodes[name] = node
        self.nodes.clear()
        self.nodes.update(nodes)
        self.notify(GraphEdited("rename", (old, new)))

    def restore(self, nodes: Mapping[str, Node]) -> None:
        """Make the graph hold ``nodes`` (e.g. a ``copy().nodes`` taken before edits): one edit."""
        before = tuple(self.nodes)
        self.nodes.clear()
        self.nodes.update(nodes)
        self.notify(GraphEdited("restore", tuple(dict.fromkeys((*before, *self.nodes)))))

    def clear(self) -> None:
        """Remove every node."""
        names = tuple(self.nodes)
        self.nodes.clear()
        self.notify(GraphEdited("clear", names))

    def set_input(self, name: str, port: str, value: Any) -> None:
        """Set input ``port`` of node ``name`` to a literal or a reference (tuple, ``Ref``)."""
        node = self._known(name)
        node.inputs[port] = parse_input(value, node=name, port=port)
        self.notify(GraphEdited("input", (name,)))

    def set_scatter(self, name: str, scatter: Iterable[str],
                    method: str = "dotproduct", on_error: str | None = None) -> None:
        """Make node ``name`` scatter over inputs ``scatter`` (none: one call), its lists
        paired by ``method``; ``on_error`` as in a spec (unchanged when None)."""
        node = self._known(name)
        spec = {**node.to_spec(), "scatter": list(scatter), "scatter_method": method}
        if on_error is not None:
            spec["on_error"] = on_error
        checked = Node.from_spec(name, spec)  # a SpecError names a bad method or on_error
        node.scatter, node.scatter_method = checked.scatter, checked.scatter_method
        node.on_error = checked.on_error
        self.notify(GraphEdited("scatter", (name,)))

    def to_spec(self) -> dict[str, dict[str, Any]]:
        """The JSON-compatible spec; ``Graph.from_spec(g.to_spec()) == g``."""
        return {name: node.to_spec() for name, node in self.nodes.items()}

    def to_yaml(self, *, layout: Mapping[str, Mapping[str, float]] | None = None) -> str:
        """The spec as YAML; ``Graph.from_yaml(g.to_yaml()) == g``. With ``layout`` (node ->
        ``{"x", "y"}``, e.g. a ``GraphWidget``'s ``positions``), a ``layout:`` section after
        the nodes says where each stands on the canvas (none when a node is named
        ``layout``); ``from_yaml`` reads it back into ``graph.layout``."""
        text = yaml.safe_dump(self.to_spec(), sort_keys=False, allow_unicode=True)
        places = {name: {"x": round(float(p["x"]), 1), "y": round(float(p["y"]), 1)}
                  for name, p in (layout or {}).items() if name in self.nodes}
        if places and LAYOUT_KEY not in self.nodes:
            text += yaml.safe_dump({LAYOUT_KEY: places}, sort_keys=False, allow_unicode=True,
                                   default_flow_style=None)
        return text

    def copy(self) -> Graph:
        """An independent copy (of the same class): later edits of either graph do not touch
        the other."""
        return type(self)({
            name: Node(name, node.process, {p: copy_value(v) for p, v in node.inputs.items()},
                       node.timeout, node.source, node.scatter, node.scatter_method,
                       node.on_error, node.cwl)
            for name, node in self.nodes.items()
        })

    # ---- mapping-like access ------------------------------------------------------------

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def __contains__(self, name: object) -> bool:
        return name in self.nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Graph) and self.nodes == other.nodes

    def __repr__(self) -> str:
        return f"<Graph {len(self.nodes)} nodes: {', '.join(self.nodes)}>"

    @property
    def edges(self) -> list[tuple[str, str, str, str]]:
        """``(upstream, output, node, input)`` for every reference."""
        return [
            (ref.node, ref.output, name, port)
            for name, node in self.nodes.items()
            for port, ref in node.refs.items()
        ]

    def descendants(self, name: str) -> set[str]:
        """Every node that reads, directly or not, from ``name``."""
        down: dict[str, set[str]] = {}
        for up, _, node, _ in self.edges:
            down.setdefault(up, set()).add(node)
        seen: set[str] = set()
        stack = [name]
        while stack:
            for nxt in down.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    def needs(self, names: Iterable[str]) -> set[str]:
        """``names`` and every node they read from, directly or not (what running them takes)."""
        keep: set[str] = set()
        stack = list(names)
        while stack:
            name = stack.pop()
            if name not in keep and name in self.nodes:
                keep.add(name)
                stack.extend(self.nodes[name].upstream)
        return keep

    # ---- checking and ordering ------------------------------------------------------------

    def _upstream(self) -> dict[str, list[str]]:
        """Node -> the nodes it reads from, each once (references to unknown nodes dropped)."""
        nodes = self.nodes
        return {name: [up for up in node.upstream if up in nodes]
                for name, node in nodes.items()}

    def ordering(self) -> Ordering:
        """The nodes' ``Ordering`` (upstream, downstream, a topological order); raises
        ``CycleError`` naming the cycle."""
        try:
            return Ordering(self._upstream())
        except graphlib.CycleError as exc:
            raise CycleError([_cycle_problem(exc.args[1])]) from None

    def order(self) -> list[str]:
        """The nodes in a topological order; raises ``CycleError`` naming the cycle."""
        return self.ordering().order

    def problems(self, registry: Catalog) -> list[Problem]:
        """Every problem with this graph against ``registry``; empty when it can run.

        Problems of a node written in YAML or a ``%%node`` body carry its line and column.
        """
        return self._check(registry)[0]

    def _check(self, registry: Catalog) -> tuple[list[Problem], Ordering | None]:
        """The problems, and the ``Ordering`` when there is no cycle. One pass over the nodes;
        each process is looked up once, and a reference is type-checked once per kind
        (upstream process, output, process, input) that fits."""
        problems: list[Problem] = []
        nodes = self.nodes
        procs: dict[str, Any] = {}  # process name -> process, or its ProcessNotFound
        fits: set[tuple[str, bool, str, str, str]] = set()
        upstream: dict[str, list[str]] = {}

        def lookup(process: str) -> Any:
            found = procs.get(process, _UNSEEN)
            if found is _UNSEEN:
                try:
                    found = registry.get(process)
                except ProcessNotFound as exc:
                    found = exc
                procs[process] = found
            return found

        for name, node in nodes.items():
            found: list[Problem] = []
            proc = lookup(node.process)
            if isinstance(proc, ProcessNotFound):
                found.append(Problem("unknown_process", name, str(proc), process=node.process,
                                     field="process", value=node.process))
                proc = None
            refs = node.refs
            if proc is not None:
                found.extend(port_problems(proc.name, proc.inputs, _as_checked(node, proc),
                                           node=name, literal=_literal,
                                           optional=proc.optional_inputs))
                if node.scatter:
                    found.extend(scatter.problems(node, proc, nodes,
                                                  lambda up: self._outputs_read(registry, up)))
            ups: list[str] = []
            for port, ref in refs.items():
                up_node = nodes.get(ref.node)
                if up_node is not None and ref.node not in ups:
                    ups.append(ref.node)
                if port in node.scatter:
                    continue
                kind = (None if up_node is None else
                        (up_node.process, bool(up_node.scatter), ref.output, node.process, port))
                if kind in fits:
                    continue
                more = self._ref_problems(node, port, ref, proc, lookup)
                if more:
                    found.extend(more)
                elif kind is not None:
                    fits.add(kind)
            upstream[name] = ups
            if found and node.source is not None:
                found = [p.at(*node.source.locate(p.field, p.kind)) for p in found]
            problems.extend(found)
        ordering = None
        try:
            ordering = Ordering(upstream)
        except graphlib.CycleError as exc:
            problems.append(_cycle_problem(exc.args[1]))
        return problems, ordering

    def check(self, registry: Catalog) -> Ordering:
        """Like ``validate``, returning the nodes' ``Ordering`` (what a run walks)."""
        problems, ordering = self._check(registry)
        if problems:
            only_cycle = all(p.kind == "cycle" for p in problems)
            raise (CycleError if only_cycle else GraphValidationError)(problems)
        assert ordering is not None
        return ordering

    def validate(self, registry: Catalog) -> list[str]:
        """Raise ``GraphValidationError`` (``CycleError`` if only a cycle) listing all problems;
        return the nodes in a topological order."""
        return self.check(registry).order

    def _ref_problems(self, node: Node, port: str, ref: Ref, proc: Any,
                      lookup: Callable[[str], Any]) -> list[Problem]:
        name = node.name
        field_ = f"inputs.{port}"
        if ref.node not in self.nodes:
            known = ", ".join(sorted(self.nodes)) or "none"
            return [Problem("unknown_node", name,
                            f"input {port!r} reads from unknown node {ref.node!r}"
                            f"{did_you_mean(ref.node, self.nodes)} (nodes: {known})",
                            process=node.process, field=field_, value=ref.node)]
        up = lookup(self.nodes[ref.node].process)
        if isinstance(up, ProcessNotFound):
            return []  # reported as unknown_process on the upstream node
        if ref.output not in up.outputs:
            return [Problem("unknown_output", name,
                            f"input {port!r} reads output {ref.output!r} of node {ref.node!r}, "
                            f"but process {up.name!r} has outputs "
                            f"{', '.join(up.outputs) or 'none'}"
                            f"{did_you_mean(ref.output, up.outputs)}",
                            process=node.process, field=field_, value=ref.output)]
        if proc is not None and port in proc.inputs:
            want = json_type(proc.inputs[port])
            got = json_type(scatter.as_read(self.nodes[ref.node], up.outputs)[ref.output])
            if not accepts(want, got):
                return [Problem("type_mismatch", name,
                                f"input {port!r} of process {proc.name!r} is {want}, "
                                f"but {ref} is {got}",
                                process=proc.name, field=field_, value=str(ref))]
        return []

    def _outputs_read(self, registry: Catalog, name: str) -> dict[str, Any] | None:
        """Node ``name``'s outputs as its readers see them (None: its process is unknown)."""
        process = self.nodes[name].process
        if process not in registry:
            return None
        return scatter.as_read(self.nodes[name], registry.get(process).outputs)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return display.mimebundle(self, "graph")


_UNSEEN = object()


def _literal(value: Any) -> bool:
    """Whether an input value is checked as a literal (a reference is checked as one)."""
    return not isinstance(value, Ref)


def _as_checked(node: Node, proc: Any) -> dict[str, Any]:
    """The inputs the port checker sees: a scattered input stands for one of its elements
    (each element is checked by ``scatter.problems``), its port's example in its place."""
    if not node.scatter:
        return node.inputs
    return {port: (proc.inputs[port] if port in node.scatter and port in proc.inputs
                   and not isinstance(value, Ref) else value)
            for port, value in node.inputs.items()}


def _cycle_problem(cycle: list[str]) -> Problem:
    path = " -> ".join(repr(n) for n in cycle)
    return Problem("cycle", None, f"cycle: {path}", field="inputs", value=list(cycle))
