"""Stale nodes: after an edit, the nodes whose last result a run would not reuse as it is.

Computed from ``Graph.plan`` (which starts nothing), so the widget and the run agree.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..model.errors import ContainerDagError
from ..model.graph import Graph
from ..model.status import SUCCESS
from ..processes.registry import Registry
from ..run.session import Session

__all__ = ["stale_nodes"]


def stale_nodes(graph: Graph, registry: Registry | None, last: Mapping[str, str]) -> list[str]:
    """Nodes that had a result (``last`` status done or cached) and would run again now, or
    would if a node they read from changes its output (``depends``)."""
    had = [n for n in graph if last.get(n) in SUCCESS]
    if not had or registry is None or registry.closed:
        return []
    try:
        plan = Session.of(registry).plan(graph, nodes=had)
    except ContainerDagError:
        return []  # an invalid graph: the message under the toolbar says why
    return [step.node for step in plan if step.node in had and step.action != "reuse"]
