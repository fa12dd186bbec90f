"""Editing a graph by hand: names for new nodes, which outputs may feed which inputs, undo
and redo.

Pure functions over ``Graph`` and ``Registry`` (the canvas editor in ``widgets/`` calls them),
so a refused connection gets exactly the message validation would give.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .model.errors import Problem
from .model.node import Node, Ref, copy_value
from .model.ports import accepts, json_type

if TYPE_CHECKING:
    from .model.graph import Graph
    from .processes.registry import Registry

__all__ = ["unique_name", "example_inputs", "connect_choices", "connection_problems",
           "Undo"]


def unique_name(graph: Graph, base: str) -> str:
    """``base`` if no node has that name, else ``base 2``, ``base 3``, ..."""
    if base not in graph:
        return base
    n = 2
    while f"{base} {n}" in graph:
        n += 1
    return f"{base} {n}"


def example_inputs(registry: Registry, process: str) -> dict[str, Any]:
    """The process's example inputs, as literals for a new node."""
    return {port: copy_value(value) for port, value in registry.get(process).inputs.items()}


def connect_choices(graph: Graph, registry: Registry, up: str, down: str
                    ) -> list[tuple[str, str]]:
    """The (output of ``up``, input of ``down``) pairs whose example types fit."""
    outputs = registry.get(graph[up].process).outputs
    inputs = registry.get(graph[down].process).inputs
    return [(out, port) for out, example in outputs.items() for port, want in inputs.items()
            if accepts(json_type(want), json_type(example))]


def connection_problems(graph: Graph, registry: Registry, up: str, output: str, down: str,
                        port: str) -> list[Problem]:
    """What validation would say of input ``port`` of ``down`` reading ``up``'s ``output``
    (a type mismatch, an unknown port, a cycle), without changing ``graph``."""
    candidate = graph.copy()
    candidate.nodes[down].inputs[port] = Ref(up, output)
    where = f"inputs.{port}"
    return [p for p in candidate.problems(registry)
            if p.kind == "cycle" or (p.node == down and p.field == where)]


@dataclass
class Undo:
    """Snapshots of a graph taken before each edit: ``undo`` restores the last one, ``redo``
    makes the undone edit again. A new edit (``record``) forgets what could be redone; so does
    an edit made elsewhere after an undo (``redo`` then refuses: it would lose that edit)."""

    depth: int = 20
    _snapshots: list[dict[str, Node]] = field(default_factory=list)
    #: Per undone edit: (the graph after that edit, the graph as the undo left it).
    _redo: list[tuple[dict[str, Node], dict[str, Node]]] = field(default_factory=list)
    #: What could be redone before the edit being tried (``revert`` gives it back).
    _held: list[tuple[dict[str, Node], dict[str, Node]]] | None = None

    def record(self, graph: Graph) -> None:
        """Remember ``graph`` as it is now (call before an edit)."""
        self._snapshots.append(graph.copy().nodes)
        del self._snapshots[:-self.depth]
        self._held, self._redo = self._redo, []

    def undo(self, graph: Graph) -> bool:
        """Put ``graph`` back as it was before the last recorded edit; False if none."""
        if not self._snapshots:
            return False
        after = graph.copy().nodes
        graph.restore(self._snapshots.pop())
        self._redo.append((after, graph.copy().nodes))
        self._held = None
        return True

    def redo(self, graph: Graph) -> bool:
        """Make the last undone edit again; False if none, or if ``graph`` changed since that
        undo (then nothing can be redone)."""
        if not self._redo:
            return False
        if graph.nodes != self._redo[-1][1]:
            self._redo.clear()
            return False
        after, _ = self._redo.pop()
        self._snapshots.append(graph.copy().nodes)
        del self._snapshots[:-self.depth]
        graph.restore(after)
        self._held = None
        return True

    def revert(self, graph: Graph) -> None:
        """Forget the last snapshot after a refused edit, restoring it if the edit got halfway;
        what could be redone before it still can."""
        if self._snapshots:
            snapshot = self._snapshots.pop()
            if snapshot != graph.nodes:
                graph.restore(snapshot)
        if self._held is not None:
            self._redo, self._held = self._held, None

    @property
    def redoable(self) -> int:
        """How many undone edits ``redo`` can make again."""
        return len(self._redo)

    def __len__(self) -> int:
        return len(self._snapshots)
