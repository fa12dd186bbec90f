"""Plan a run without running it: per node, reuse or run, and why.

A node whose upstream nodes are all reused has known inputs, so the plan asks the cache
exactly as the run will. A node downstream of one that runs cannot be known in advance: it
``depends`` (the run reuses it if the upstream outputs come out as before). No container is
started for a plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..model import scatter
from ..model.errors import ScatterError
from ..model.graph import Graph
from ..model.node import Node
from .decisions import RunCache
from .options import RunOptions
from .scheduler import inputs_of

if TYPE_CHECKING:
    from ..processes.registry import Registry

__all__ = ["Plan", "PlanStep", "plan"]


@dataclass(frozen=True)
class PlanStep:
    """One node of a plan: ``reuse``, ``run`` or ``depends``, and the reason."""

    node: str
    action: str
    reason: str


class Plan:
    """The steps of a planned run in topological order; ``plan["node a"].action``."""

    def __init__(self, steps: Iterable[PlanStep]):
        self.steps = {step.node: step for step in steps}

    def __getitem__(self, node: str) -> PlanStep:
        return self.steps[node]

    def __iter__(self) -> Iterator[PlanStep]:
        return iter(self.steps.values())

    def __len__(self) -> int:
        return len(self.steps)

    def nodes(self, action: str) -> list[str]:
        """The nodes whose step is ``action``."""
        return [s.node for s in self if s.action == action]

    def table(self, *, header: bool = False) -> str:
        """One line per node: name, action, reason (under a header row, if asked)."""
        width = max([len(s.node) for s in self] + [len("node")] * header, default=0)
        lines = [f"{s.node:<{width}}  {s.action:<7}  {s.reason}" for s in self]
        if header:
            lines[:0] = [f"{'node':<{width}}  {'action':<7}  reason",
                         f"{'-' * width}  {'-' * 7}  {'-' * 6}"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        counts = {a: len(self.nodes(a)) for a in ("reuse", "run", "depends")}
        return "<Plan " + ", ".join(f"{n} {a}" for a, n in counts.items() if n) + ">"


def plan(graph: Graph, registry: Registry, options: RunOptions, cache: RunCache) -> Plan:
    """What a run of ``graph`` with ``options`` and ``cache`` (the run's own view of the cache,
    from its ``Session``) would do now: the scheduler's input resolution and cache decision,
    made without running anything."""
    order = graph.validate(registry)
    if options.nodes is not None:
        wanted = graph.needs(options.nodes)
        order = [n for n in order if n in wanted]
    outputs: dict[str, dict[str, Any]] = {}
    steps = []
    for name in order:
        node = graph[name]
        running = [r.node for r in node.refs.values() if r.node not in outputs]
        proc = registry.get(node.process)
        if running:
            if name in cache.force or not proc.cacheable or not cache.read:
                # It runs whatever its inputs: the cache says why without them.
                steps.append(PlanStep(name, "run", cache.decide(node, proc, {}).reason))
            else:
                steps.append(PlanStep(name, "depends", f"depends: runs unless "
                                      f"{_names(running)} give{'s' if len(running) == 1 else ''}"
                                      " the same outputs as before"))
            continue
        if node.scatter:
            steps.append(_scattered(node, proc, cache, inputs_of(node, outputs), outputs))
            continue
        decision = cache.decide(node, proc, inputs_of(node, outputs))
        if decision.reuse:
            assert decision.hit is not None
            outputs[name] = dict(decision.hit.outputs)
        steps.append(PlanStep(name, decision.action, decision.reason))
    return Plan(steps)


def _scattered(node: Node, proc: Any, cache: RunCache, inputs: dict[str, Any],
               outputs: dict[str, dict[str, Any]]) -> PlanStep:
    """A scattered node's step: reused when every element is, else how many would run."""
    try:
        each = scatter.elements(node, inputs)
    except ScatterError as exc:
        return PlanStep(node.name, "run", f"fails: {exc.detail}")
    decisions = [cache.decide(node, proc, element, explain_run=False) for element in each]
    ran = [scatter.label(node, e) for e, d in zip(each, decisions, strict=True) if not d.reuse]
    if each and not ran:
        outputs[node.name] = {port: [d.hit.outputs.get(port) if d.hit else None
                                     for d in decisions] for port in proc.outputs}
        return PlanStep(node.name, "reuse", f"reuse: all {len(each)} elements cached")
    if not each:
        outputs[node.name] = {port: [] for port in proc.outputs}
        return PlanStep(node.name, "run", "run: no elements (the scattered input is empty)")
    shown = ", ".join(ran[:5]) + (f" and {len(ran) - 5} more" if len(ran) > 5 else "")
    return PlanStep(node.name, "run", f"run: {len(ran)} of {len(each)} elements ({shown})")


def _names(nodes: list[str]) -> str:
    return ", ".join(f"node {n!r}" for n in nodes)
