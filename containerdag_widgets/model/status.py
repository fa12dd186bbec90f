"""Node statuses: one type, and the sets the runner, CLI and widgets agree on."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["Status", "STATUSES", "SUCCESS", "FINAL", "is_success"]

#: What a node is doing, or how it ended. ``cached`` means its outputs came from the cache.
Status = Literal["pending", "running", "done", "cached", "partial", "failed", "skipped",
                 "cancelled"]

#: Every status, in the order a legend shows them.
STATUSES: tuple[Status, ...] = get_args(Status)
#: The statuses whose node has outputs that downstream nodes may read.
#: (``partial``: a scattered node with ``on_error: continue`` whose failed elements gave None.)
SUCCESS: frozenset[Status] = frozenset({"done", "cached", "partial"})
#: The statuses a node does not leave during a run.
FINAL: frozenset[Status] = frozenset({"done", "cached", "partial", "failed", "skipped",
                                      "cancelled"})


def is_success(status: str) -> bool:
    """Whether a node with ``status`` gave outputs (``done`` or ``cached``)."""
    return status in SUCCESS
