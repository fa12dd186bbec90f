"""Graphs of nodes: each node names a process and gives its inputs, literal or referenced.

A reference to an upstream node's output is a ``Ref``; in a spec it is written as the seed's
tuple ``("node a", "z")`` or, in YAML/JSON, ``{from: node a, output: z}``.
"""

from __future__ import annotations

import copy
import graphlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from .errors import CycleError, GraphValidationError, Problem, ProcessNotFound, SpecError
from .process import accepts, json_type

if TYPE_CHECKING:
    from .registry import Registry
    from .runner import RunHandle, RunResult

__all__ = ["Ref", "Node", "Graph"]

_NODE_KEYS = {"process", "inputs", "timeout"}


@dataclass(frozen=True)
class Ref:
    """A reference to output ``output`` of upstream node ``node``."""

    node: str
    output: str

    def to_spec(self) -> dict[str, str]:
        return {"from": self.node, "output": self.output}

    def __str__(self) -> str:
        return f"{self.node}.{self.output}"


def _is_ref_mapping(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"from", "output"}


def parse_input(value: Any, *, node: str, port: str) -> Any:
    """A spec's input value as a literal or a ``Ref``."""
    if isinstance(value, Ref):
        return value
    if isinstance(value, tuple):
        if len(value) != 2 or not all(isinstance(v, str) for v in value):
            raise SpecError(
                f"input {port!r}: a reference tuple is (node, output), got {value!r}", node=node
            )
        return Ref(*value)
    if _is_ref_mapping(value):
        if not all(isinstance(value[k], str) for k in ("from", "output")):
            raise SpecError(
                f"input {port!r}: a reference is {{from: NODE, output: PORT}} with string "
                f"values, got {dict(value)!r}",
                node=node,
            )
        return Ref(value["from"], value["output"])
    if isinstance(value, Mapping) and "from" in value:
        raise SpecError(
            f"input {port!r}: a reference needs exactly the keys 'from' and 'output', "
            f"got {sorted(value)!r}",
            node=node,
        )
    return value


@dataclass
class Node:
    """One step of a graph: a process and its inputs (literals or ``Ref``)."""

    name: str
    process: str
    inputs: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None

    @property
    def refs(self) -> dict[str, Ref]:
        return {port: v for port, v in self.inputs.items() if isinstance(v, Ref)}

    @property
    def upstream(self) -> list[str]:
        """Names of the nodes this one reads from, in input order, without repeats."""
        return list(dict.fromkeys(ref.node for ref in self.refs.values()))

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "process": self.process,
            "inputs": {
                port: v.to_spec() if isinstance(v, Ref) else copy.deepcopy(v)
                for port, v in self.inputs.items()
            },
        }
        if self.timeout is not None:
            spec["timeout"] = self.timeout
        return spec

    @classmethod
    def from_spec(cls, name: str, spec: Any) -> Node:
        if not isinstance(name, str) or not name:
            raise SpecError(f"node names are non-empty strings, got {name!r}")
        if not isinstance(spec, Mapping):
            raise SpecError(
                f"a node is a mapping with 'process' and 'inputs', got {spec!r:.80}", node=name
            )
        extra = sorted(set(spec) - _NODE_KEYS)
        if extra:
            raise SpecError(
                f"unknown field(s) {', '.join(map(repr, extra))}; a node has 'process', "
                "'inputs' and optionally 'timeout'",
                node=name,
            )
        process = spec.get("process")
        if not isinstance(process, str) or not process:
            raise SpecError(f"field 'process' must name a process, got {process!r}", node=name)
        inputs = spec.get("inputs") or {}
        if not isinstance(inputs, Mapping):
            raise SpecError(f"field 'inputs' must be a mapping, got {inputs!r:.80}", node=name)
        timeout = spec.get("timeout")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
        ):
            raise SpecError(
                f"field 'timeout' must be a positive number, got {timeout!r}", node=name
            )
        return cls(
            name=name,
            process=process,
            inputs={
                str(port): parse_input(v, node=name, port=str(port)) for port, v in inputs.items()
            },
            timeout=float(timeout) if timeout is not None else None,
        )


class Graph:
    """A DAG of named nodes. Build it from a spec, YAML, or ``add``; run it with a registry."""

    def __init__(self, nodes: Mapping[str, Node] | None = None):
        self.nodes: dict[str, Node] = dict(nodes or {})

    # ---- building -----------------------------------------------------------------------

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Graph:
        """A graph from the seed's dict: ``{name: {"process": ..., "inputs": {...}}}``."""
        if not isinstance(spec, Mapping):
            raise SpecError(f"a graph spec is a mapping of node name to node, got {spec!r:.80}")
        return cls({name: Node.from_spec(name, node) for name, node in spec.items()})

    @classmethod
    def from_yaml(cls, text: str) -> Graph:
        """A graph from YAML; references are written ``{from: NODE, output: PORT}``."""
        data, lines = load_yaml(text)
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise SpecError("a graph is a mapping of node name to node", line=1)
        nodes = {}
        for name, spec in data.items():
            try:
                nodes[name] = Node.from_spec(name, spec)
            except SpecError as exc:
                raise SpecError(
                    exc.args[0].split(": ", 1)[-1], node=exc.node, line=lines.get(name)
                ) from None
        return cls(nodes)

    def add(self, name: str, process: str, inputs: Mapping[str, Any] | None = None,
            *, timeout: float | None = None) -> Node:
        """Add or replace node ``name``; returns it."""
        node = Node.from_spec(
            name, {"process": process, "inputs": dict(inputs or {}), "timeout": timeout}
        )
        self.nodes[name] = node
        return node

    def remove(self, name: str) -> None:
        del self.nodes[name]

    def to_spec(self) -> dict[str, dict[str, Any]]:
        """The JSON-compatible spec; ``Graph.from_spec(g.to_spec()) == g``."""
        return {name: node.to_spec() for name, node in self.nodes.items()}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_spec(), sort_keys=False, allow_unicode=True)

    def copy(self) -> Graph:
        return Graph.from_spec(self.to_spec())

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

    # ---- checking and ordering ------------------------------------------------------------

    def sorter(self) -> graphlib.TopologicalSorter:
        """A ``graphlib.TopologicalSorter`` over the nodes (references to unknown nodes dropped)."""
        deps = {n: [u for u in node.upstream if u in self.nodes] for n, node in self.nodes.items()}
        return graphlib.TopologicalSorter(deps)

    def order(self) -> list[str]:
        """The nodes in a topological order; raises ``CycleError`` naming the cycle."""
        try:
            return list(self.sorter().static_order())
        except graphlib.CycleError as exc:
            raise CycleError([_cycle_problem(exc.args[1])]) from None

    def problems(self, registry: Registry) -> list[Problem]:
        """Every problem with this graph against ``registry``; empty when it can run."""
        problems: list[Problem] = []
        for name, node in self.nodes.items():
            try:
                proc = registry.get(node.process)
            except ProcessNotFound as exc:
                problems.append(Problem("unknown_process", name, f"node {name!r}: {exc}",
                                        process=node.process, field="process", value=node.process))
                proc = None
            if proc is not None:
                problems.extend(self._input_problems(node, proc.name, proc.inputs))
            for port, ref in node.refs.items():
                problems.extend(self._ref_problems(registry, node, port, ref, proc))
        try:
            self.sorter().prepare()
        except graphlib.CycleError as exc:
            problems.append(_cycle_problem(exc.args[1]))
        return problems

    def validate(self, registry: Registry) -> None:
        """Raise ``GraphValidationError`` (``CycleError`` if only a cycle) listing all problems."""
        problems = self.problems(registry)
        if problems:
            only_cycle = all(p.kind == "cycle" for p in problems)
            raise (CycleError if only_cycle else GraphValidationError)(problems)

    @staticmethod
    def _input_problems(node: Node, process: str, ports: Mapping[str, Any]) -> list[Problem]:
        out = []
        name = node.name
        for port in node.inputs:
            if port not in ports:
                out.append(Problem(
                    "unknown_input", name,
                    f"node {name!r}: process {process!r} has no input {port!r} "
                    f"(inputs: {', '.join(ports) or 'none'})",
                    process=process, field=f"inputs.{port}", value=port))
        for port in ports:
            if port not in node.inputs:
                out.append(Problem(
                    "missing_input", name,
                    f"node {name!r}: missing input {port!r} of process {process!r} "
                    f"(example: {ports[port]!r})",
                    process=process, field=f"inputs.{port}", value=port))
        for port, value in node.inputs.items():
            if port in ports and not isinstance(value, Ref):
                want, got = json_type(ports[port]), json_type(value)
                if not accepts(want, got):
                    out.append(Problem(
                        "type_mismatch", name,
                        f"node {name!r}: input {port!r} of process {process!r} is {got} "
                        f"{value!r:.60}, expected {want} like {ports[port]!r}",
                        process=process, field=f"inputs.{port}", value=value))
        return out

    def _ref_problems(self, registry: Registry, node: Node, port: str, ref: Ref,
                      proc: Any) -> list[Problem]:
        name = node.name
        field_ = f"inputs.{port}"
        if ref.node not in self.nodes:
            known = ", ".join(sorted(self.nodes)) or "none"
            return [Problem("unknown_node", name,
                            f"node {name!r}: input {port!r} reads from unknown node "
                            f"{ref.node!r} (nodes: {known})",
                            process=node.process, field=field_, value=ref.node)]
        up_process = self.nodes[ref.node].process
        if up_process not in registry:
            return []  # reported as unknown_process on the upstream node
        up = registry.get(up_process)
        if ref.output not in up.outputs:
            return [Problem("unknown_output", name,
                            f"node {name!r}: input {port!r} reads output {ref.output!r} of node "
                            f"{ref.node!r}, but process {up.name!r} has outputs "
                            f"{', '.join(up.outputs) or 'none'}",
                            process=node.process, field=field_, value=ref.output)]
        if proc is not None and port in proc.inputs:
            want = json_type(proc.inputs[port])
            got = json_type(up.outputs[ref.output])
            if not accepts(want, got):
                return [Problem("type_mismatch", name,
                                f"node {name!r}: input {port!r} of process {proc.name!r} is "
                                f"{want}, but {ref} is {got}",
                                process=proc.name, field=field_, value=str(ref))]
        return []

    # ---- running --------------------------------------------------------------------------

    def run(self, registry: Registry, **options: Any) -> RunResult:
        """Validate, then run every node; see ``runner.run`` for the options."""
        from .runner import run

        return run(self, registry, **options)

    def start(self, registry: Registry, **options: Any) -> RunHandle:
        """Like ``run`` but returns at once a handle with ``cancel()`` and ``wait()``."""
        from .runner import start

        return start(self, registry, **options)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return _rich_display(self, "graph")


def _rich_display(obj: Any, kind: str) -> dict[str, Any]:
    """Show the widget for ``obj`` when the widgets layer is importable (in Jupyter)."""
    plain = {"text/plain": repr(obj)}
    hook = _display_hooks.get(kind)
    if hook is None:
        return plain
    bundle = hook(obj)
    return {**bundle, **plain} if bundle else plain


#: Filled by the widgets layer: ``kind -> callable(obj) -> mimebundle``. Keeps imports inward.
_display_hooks: dict[str, Any] = {}


def _cycle_problem(cycle: list[str]) -> Problem:
    path = " -> ".join(repr(n) for n in cycle)
    return Problem("cycle", cycle[0], f"cycle: {path}", field="inputs", value=list(cycle))


def load_yaml(text: str) -> tuple[Any, dict[str, int]]:
    """Parse YAML safely; return the data and the line (1-based) of each top-level key."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise SpecError(f"YAML error: {exc.problem or exc}", line=line) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}") from None
    lines: dict[str, int] = {}
    if isinstance(root, yaml.MappingNode):
        for key, _ in root.value:
            lines[str(key.value)] = key.start_mark.line + 1
    return data, lines
