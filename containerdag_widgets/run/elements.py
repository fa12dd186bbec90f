"""The elements of a scattered node during a run: their calls, how each ended, and the node's
own end, gathered from them (outputs as lists in element order, one status, one reason).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..model.errors import ContainerDagError, ElementsFailed
from ..model.node import Node
from ..model.status import SUCCESS
from .events import ElementFinished, NodeFinished
from .execution import NodeCall

__all__ = ["Elements", "MAX_NAMED"]

#: Elements named in a node's reason or error at most ("new a.csv, b.csv and 94 more").
MAX_NAMED = 5


def _named(labels: list[str]) -> str:
    shown = ", ".join(labels[:MAX_NAMED])
    more = len(labels) - MAX_NAMED
    return shown + (f" and {more} more" if more > 0 else "")


@dataclass
class Elements:
    """A scattered node's calls, one per element, and how each ended so far."""

    node: Node
    calls: list[NodeCall]
    labels: list[str]
    started: float = field(default_factory=time.time)
    ended: dict[int, ElementFinished] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return len(self.ended) == len(self.calls)

    def end(self, index: int, event: NodeFinished, reason: str = "") -> ElementFinished:
        """Element ``index`` ended as ``event`` (its call's own end): the element's event."""
        finished = ElementFinished(self.node.name, index, self.labels[index], event.status,
                                   event.duration, event.outputs, event.error, event.log,
                                   event.time, reason or event.reason, event.worker)
        self.ended[index] = finished
        return finished

    def gathered(self, outputs: list[str], *, process: str, worker: str = "local",
                 summary: str = "") -> NodeFinished:
        """The node's end: each output a list in element order (None for an element that gave
        nothing), ``done`` (``cached`` when every element was reused), ``failed`` when an
        element failed (``partial`` with ``on_error: continue``), ``cancelled`` when one was."""
        ended = [self.ended[i] for i in range(len(self.calls))]
        gathered = {port: [(e.outputs or {}).get(port) if e.status in SUCCESS else None
                           for e in ended] for port in outputs}
        failed = {i: e for i, e in enumerate(ended) if e.status not in SUCCESS}
        error: ContainerDagError | None = None
        if not ended:
            status, reason = "done", "no elements: the scattered input is empty"
        elif not failed:
            status = "cached" if all(e.status == "cached" for e in ended) else "done"
            reason = summary
        else:
            labels = [self.labels[i] for i in failed]
            cancelled = all(e.status in ("cancelled", "skipped") for e in failed.values())
            error = ElementsFailed(
                f"{len(failed)} of {len(ended)} elements "
                f"{'were cancelled' if cancelled else 'failed'}: {_named(labels)}"
                + ("" if cancelled else f"; first: {next(iter(failed.values())).error}"),
                process=process, node=self.node.name,
                failed={i: e.error for i, e in failed.items() if e.error is not None},
                labels={i: self.labels[i] for i in failed})
            status = ("cancelled" if cancelled else
                      "partial" if self.node.on_error == "continue" else "failed")
            reason = summary
        log = "".join(f"--- element {i} ({e.label}) ---\n{e.log}" for i, e in enumerate(ended)
                      if e.log)
        now = time.time()
        return NodeFinished(self.node.name, status, now - self.started,  # type: ignore[arg-type]
                            gathered, error, log, now, started=self.started, worker=worker,
                            reason=reason)

    def summary(self, reused: set[int], why: dict[str, list[str]]) -> str:
        """One sentence for the node: how many elements ran and why (``why``: a word, e.g.
        "new", "changed", to the labels it applies to), how many were reused."""
        n = len(self.calls)
        ran = n - len(reused)
        if ran == 0:
            return f"reused: all {n} elements cached"
        detail = "; ".join(f"{word} {_named(labels)}" for word, labels in why.items() if labels)
        return (f"{ran} of {n} ran: {detail or 'ran'}"
                + (f"; {len(reused)} reused" if reused else ""))
