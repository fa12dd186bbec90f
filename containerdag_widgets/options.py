"""The options of a run, spelled out once and checked before anything starts."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import OptionError

if TYPE_CHECKING:
    from .events import Listener
    from .execution import Executor
    from .graph import Graph

__all__ = ["RunOptions"]


@dataclass(frozen=True)
class RunOptions:
    """How to run a graph. Build it with ``RunOptions.checked``, which names a bad value."""

    max_workers: int = 4
    timeout: float | None = None
    listeners: tuple[Listener, ...] = ()
    nodes: tuple[str, ...] | None = None
    executor: Executor | None = None
    #: True: reuse and store results; False: neither; or a store to use (a ``SafeStore``).
    cache: Any = True
    force: tuple[str, ...] = ()

    @classmethod
    def checked(cls, graph: Graph, *, max_workers: Any = 4, timeout: Any = None,
                listeners: Any = (), nodes: Any = None, executor: Any = None,
                cache: Any = True, force: Any = None) -> RunOptions:
        """The options, or ``OptionError`` naming the first bad one and its value."""
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise OptionError("max_workers", max_workers, "an integer >= 1")
        if timeout is not None and (isinstance(timeout, bool)
                                    or not isinstance(timeout, (int, float))
                                    or not math.isfinite(timeout) or timeout <= 0):
            raise OptionError("timeout", timeout, "a finite number of seconds > 0, or None")
        if callable(listeners) or isinstance(listeners, (str, bytes)):
            raise OptionError("listeners", listeners, "an iterable of callables")
        listeners = tuple(listeners)
        for listener in listeners:
            if not callable(listener):
                raise OptionError("listeners", listener, "a callable taking an event")
        if nodes is not None:
            nodes = _node_names(graph, "nodes", nodes)
        force = _node_names(graph, "force", force) if force is not None else ()
        if executor is not None and not all(
                callable(getattr(executor, m, None)) for m in ("prepare", "submit", "close")):
            raise OptionError("executor", executor, "an Executor (prepare, submit, close)")
        if not isinstance(cache, bool) and not callable(getattr(cache, "lookup", None)):
            raise OptionError("cache", cache, "True, False or a cache store")
        return cls(max_workers, None if timeout is None else float(timeout), listeners, nodes,
                   executor, cache, force)


def _node_names(graph: Graph, option: str, names: Iterable[str]) -> tuple[str, ...]:
    if isinstance(names, str):
        raise OptionError(option, names, "a list of node names (not one string)")
    names = tuple(names)
    unknown = [n for n in names if n not in graph]
    if unknown:
        known = ", ".join(map(repr, graph)) or "none"
        raise OptionError(option, unknown[0] if len(unknown) == 1 else unknown,
                          f"names of nodes in the graph ({known})")
    return names
