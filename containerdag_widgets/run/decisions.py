"""One run's use of the cache: per node, reuse or run and why; then record what happened.

The scheduler asks ``RunCache.decide`` before it hands a node to the executor (a reused node
is never submitted) and tells ``RunCache.finished`` how each node ended. History and results
are written in batches from the scheduler's thread, so a cached node costs one indexed read.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..cache.keys import KeyParts, node_key, pick_env, process_parts, with_inputs
from ..cache.reasons import CACHE_DISABLED, FORCED, cached, explain, not_cacheable
from ..cache.records import CachedResult, NodeRecord
from ..cache.safe import SafeStore
from ..model.node import Node
from ..processes.base import Process
from .events import NodeFinished

__all__ = ["Decision", "RunCache", "default_store", "references_of", "ENV_ALLOW"]

#: Environment variables that are part of every key (none by default): a process whose
#: results depend on one lists it here, e.g. ``ENV_ALLOW.append("OMP_NUM_THREADS")``.
ENV_ALLOW: list[str] = []
#: Seconds between two writes of buffered history while a run goes on.
FLUSH_INTERVAL = 1.0

_MISSING = object()
_stores: dict[str, SafeStore] = {}
_stores_lock = threading.Lock()


def default_store() -> SafeStore:
    """The process-wide store at the default path (``$CONTAINERDAG_CACHE_DIR``), opened once."""
    from ..cache.paths import database_path

    path = str(database_path())
    with _stores_lock:
        store = _stores.get(path)
        if store is None or not store.enabled:
            store = _stores[path] = SafeStore.open(path)
        return store


@dataclass(frozen=True)
class Decision:
    """What to do with one node: ``reuse`` the cached outputs or ``run`` it, and why."""

    node: str
    action: str  # "reuse" | "run"
    reason: str
    key: str | None = None
    parts: KeyParts | None = None
    hit: CachedResult | None = None

    @property
    def reuse(self) -> bool:
        return self.action == "reuse"


def references_of(node: Node) -> dict[str, tuple[str, str]]:
    """``port -> (upstream node, output)`` for each reference of ``node`` (to blame a changed
    input on the node it came from)."""
    return {port: (v.node, v.output) for port, v in node.refs.items()}


def _history_parts(proc: Process, inputs: Mapping[str, Any]) -> KeyParts | None:
    try:
        return process_parts(proc, inputs, env=pick_env(ENV_ALLOW), deterministic=True)
    except (TypeError, ValueError):
        return None


class RunCache:
    """The cache and history as one run sees them. ``store`` None: nothing read or written
    (``cache=False``); ``read=False``: history kept, results neither reused nor stored."""

    def __init__(self, store: SafeStore | None, *, read: bool = True,
                 force: Iterable[str] = ()):
        self.store = store
        #: False: results are neither looked up nor stored (history is still kept).
        self.read = read and store is not None
        self.force = frozenset(force)
        self.run_id: int | None = None
        self._records: list[NodeRecord] = []
        self._results: list[tuple[str, Any, str]] = []
        self._flushed = time.monotonic()
        self._parts: dict[int, KeyParts | None | object] = {}

    def begin(self, spec: Callable[[], Mapping[str, Any]], started: float) -> int | None:
        """Record the run's start with its graph's spec (``spec()``, made only when a
        history is kept)."""
        if self.store is not None:
            self.run_id = self.store.begin_run(spec(), started)
        return self.run_id

    def decide(self, node: Node, proc: Process, inputs: Mapping[str, Any], *,
               explain_run: bool = True) -> Decision:
        """Reuse or run ``node`` called with ``inputs`` (a changed value it reads from an
        upstream node is blamed on that node)."""
        name = node.name
        if self.store is None:
            return Decision(name, "run", CACHE_DISABLED)
        try:
            parts = self._process_parts(proc)
            if parts is not None:
                parts = with_inputs(parts, inputs)
        except (TypeError, ValueError) as exc:  # e.g. a callable whose code cannot be hashed
            return Decision(name, "run", f"ran: not cacheable ({exc})")
        if parts is None:
            # Never reused, but its parts are recorded, so the call can be reproduced.
            parts = _history_parts(proc, inputs)
            return Decision(name, "run", not_cacheable(proc.name), None, parts)
        key = node_key(parts)
        if not self.read:
            return Decision(name, "run", CACHE_DISABLED, key, parts)
        if name in self.force:
            return Decision(name, "run", FORCED, key, parts)
        assert self.store is not None
        hit = self.store.lookup(key)
        if hit is not None:
            return Decision(name, "reuse", cached(parts, hit.run_id, hit.created), key, parts,
                            hit)
        if not explain_run:  # an element: its node's summary says why
            return Decision(name, "run", "ran", key, parts)
        last = self.store.last_node_run(name, before_run=self.run_id)
        reason = explain(last.key_parts if last else None, parts,
                         references=references_of(node),
                         last_status=last.status if last else None)
        return Decision(name, "run", reason, key, parts)

    def may_reuse(self, name: str, proc: Process) -> bool:
        """Whether the decision on node ``name`` of ``proc`` may be to reuse (else it runs
        whatever its inputs are, and needs none to be decided)."""
        return self.read and name not in self.force and proc.cacheable

    def last_elements(self, name: str) -> dict[str, str | None]:
        """The elements of scattered node ``name`` in its last recorded run: label -> key."""
        if self.store is None:
            return {}
        last = self.store.last_node_run(name, before_run=self.run_id)
        parts = last.key_parts if last is not None else None
        if not parts or parts.get("kind") != "scatter":
            return {}
        return {e.get("label"): e.get("key") for e in parts.get("elements", [])}

    def element_finished(self, node: str, status: str, outputs: Any,
                         decision: Decision | None) -> None:
        """Keep an element's outputs for reuse (its node's history record comes at its end)."""
        if (self.read and status == "done" and decision is not None
                and decision.key is not None):
            self._results.append((decision.key, outputs, node))

    def _process_parts(self, proc: Process) -> KeyParts | None:
        """The process's own key parts, computed once per run (its code is hashed once)."""
        found = self._parts.get(id(proc), _MISSING)
        if found is _MISSING:
            found = self._parts[id(proc)] = process_parts(proc, env=pick_env(ENV_ALLOW))
        return found  # type: ignore[return-value]

    def finished(self, event: NodeFinished, decision: Decision | None, process: str,
                 inputs: Mapping[str, Any] | None) -> None:
        """Buffer the node's history record, and its outputs when they may be reused."""
        if self.store is None:
            return
        parts = decision.parts if decision is not None else None
        error = event.error
        self._records.append(NodeRecord(
            node=event.node, status=event.status, process=process,
            key=decision.key if decision else None, key_parts=dict(parts) if parts else None,
            inputs=dict(inputs) if inputs is not None else None, outputs=event.outputs,
            error=str(error) if error is not None else None,
            error_type=type(error).__name__ if error is not None else None,
            log=event.log, duration=event.duration, started=event.started, ended=event.time,
            image_id=parts.get("image_id") if parts else None, worker=event.worker,
            reason=event.reason or (decision.reason if decision else None)))
        if (self.read and event.status == "done" and decision is not None
                and decision.key is not None):
            self._results.append((decision.key, event.outputs, event.node))
        if time.monotonic() - self._flushed > FLUSH_INTERVAL:
            self.flush()

    def flush(self) -> None:
        """Write what is buffered (results first: a crash keeps them for the next run)."""
        self._flushed = time.monotonic()
        if self.store is None:
            return
        results, self._results = self._results, []
        self.store.store_results((key, outputs, self.run_id, node)
                                 for key, outputs, node in results)
        records, self._records = self._records, []
        self.store.record_nodes(self.run_id, records)

    def finish(self, ended: float, counts: Mapping[str, int]) -> None:
        self.flush()
        if self.store is not None:
            self.store.finish_run(self.run_id, ended, {"statuses": dict(counts),
                                                       "pid": os.getpid()})
