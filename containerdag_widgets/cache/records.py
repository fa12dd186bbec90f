"""What the store keeps and gives back: plain dataclasses, no database in sight."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CachedResult", "NodeRecord", "RunRecord", "RunSummary"]


@dataclass
class NodeRecord:
    """One node of one run in the history: what it was given, what it gave, and why it ran."""

    node: str
    status: str
    process: str | None = None
    #: The node's cache key, and the parts it was computed from (to explain a later change).
    key: str | None = None
    key_parts: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    error: str | None = None
    error_type: str | None = None
    log: str = ""
    duration: float | None = None
    started: float | None = None
    ended: float | None = None
    image_id: str | None = None
    worker: str | None = None
    reason: str | None = None
    #: The run it belongs to; set when read back from the store.
    run_id: int | None = None


@dataclass(frozen=True)
class CachedResult:
    """A stored result: the outputs of a node whose key matched, and where they came from."""

    key: str
    outputs: Any
    run_id: int | None
    node: str | None
    created: float


@dataclass(frozen=True)
class RunSummary:
    """One line of the run history: when, by whom, and how many nodes ended how."""

    run_id: int
    started: float
    ended: float | None
    summary: dict[str, Any]
    #: Count of nodes per status, e.g. ``{"done": 3, "cached": 2}``.
    statuses: dict[str, int]
    pid: int | None = None
    host: str | None = None

    @property
    def nodes(self) -> int:
        """How many nodes the run recorded."""
        return sum(self.statuses.values())


@dataclass
class RunRecord:
    """A whole recorded run: the graph spec, the summary, and every node's record by name."""

    run_id: int
    started: float
    ended: float | None
    spec: dict[str, Any]
    summary: dict[str, Any]
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    pid: int | None = None
    host: str | None = None
