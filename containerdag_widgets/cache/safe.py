"""SafeStore: a Store whose database failures never fail a run.

The first database failure (corrupt file, lock held past the busy timeout, unwritable
directory: an ``sqlite3.Error``, an ``OSError`` or the store's ``CacheError``) gives one
:class:`CacheUnavailable` warning naming the path, the reason and where it was raised; from
then on this SafeStore is off and every call is a no-op returning an empty value. Any other
exception is a bug, and is raised.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from .paths import DATABASE_NAME, database_path
from .records import CachedResult, NodeRecord, RunRecord, RunSummary
from .store import (
    CacheError,
    CacheUnavailable,
    CacheWarning,
    RunNotFound,
    SizePrune,
    Store,
    UnstorableValue,
    describe_failure,
)

__all__ = ["SafeStore", "FAILURES"]

#: What a database that cannot be used raises; anything else is a bug and is raised.
FAILURES = (sqlite3.Error, OSError, CacheError)

T = TypeVar("T")


class SafeStore:
    """The :class:`Store` API, but failures warn once and turn the cache off instead of raising."""

    def __init__(self, path: str | os.PathLike[str] | None, store: Store | None = None,
                 reason: str | None = None):
        self.path = Path(path) if path is not None else Path(DATABASE_NAME)
        self._store = store
        #: Why the cache is off (None while it works).
        self.reason = reason

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, busy_timeout: float = 10.0,
             clock: Callable[[], float] = time.time) -> SafeStore:
        """Open the database at ``path`` (default ``database_path()``); never raises.

        When it cannot be opened, warns :class:`CacheUnavailable` and returns a store that is off.
        """
        safe = cls(path)
        try:
            safe.path = Path(path) if path is not None else database_path()
            safe._store = Store.open(safe.path, busy_timeout=busy_timeout, clock=clock)
        except FAILURES as exc:  # the database cannot be used: run without it
            safe._disable(exc, busy_timeout, stacklevel=2)  # the caller of open()
        return safe

    @property
    def enabled(self) -> bool:
        """Whether the cache still works (False after the first failure or close)."""
        return self._store is not None

    def _disable(self, exc: BaseException, busy_timeout: float, stacklevel: int) -> None:
        """Turn the cache off and warn once, naming the path and the reason."""
        reason = exc.reason if isinstance(exc, CacheError) else describe_failure(exc, busy_timeout)
        store, self._store, self.reason = self._store, None, reason
        if store is not None:
            with contextlib.suppress(*FAILURES):  # already failing: closing is best effort
                store.close()
        warning = CacheUnavailable(self.path, reason)
        # Where it failed, so a failure that is not the file's fault can be found.
        trace = "".join(traceback.format_exception(exc, limit=-4)).rstrip()
        warning.args = (f"{warning.args[0]}\n{trace}",)
        warnings.warn(warning, stacklevel=stacklevel + 1)

    def _call(self, default: T, method: str, *args: Any, **kwargs: Any) -> T:
        """``store.method(*args, **kwargs)``, or ``default`` when off or on failure."""
        store = self._store
        if store is None:
            return default
        try:
            return getattr(store, method)(*args, **kwargs)
        except RunNotFound:
            return default
        except UnstorableValue as exc:  # one value, not the database: the cache stays on
            warnings.warn(CacheWarning(f"not cached: {exc}"), stacklevel=3)
            return default
        except FAILURES as exc:  # the database failed: run on without it
            self._disable(exc, store.busy_timeout, stacklevel=3)  # the caller of the method
            return default

    # ---- the Store API --------------------------------------------------------------------

    def lookup(self, key: str) -> CachedResult | None:
        """The stored result for ``key``, or None (also when the cache is off)."""
        return self._call(None, "lookup", key)

    def store_result(self, key: str, outputs: Any, run_id: int | None = None,
                     node: str | None = None) -> bool:
        """Store the outputs for ``key``; whether they were stored."""
        return self._call(False, "store_result", key, outputs, run_id, node) is None

    def store_results(self, results: Iterable[tuple[str, Any, int | None, str | None]]) -> bool:
        """Store several ``(key, outputs, run_id, node)`` results at once; whether all were."""
        return self._call(False, "store_results", list(results)) is None

    def begin_run(self, spec: Mapping[str, Any], started: float | None = None) -> int | None:
        """Record the start of a run; its id, or None when the cache is off."""
        return self._call(None, "begin_run", spec, started)

    def record_node(self, run_id: int | None, record: NodeRecord) -> None:
        """Record one node of run ``run_id`` (nothing when the run was not recorded)."""
        if run_id is not None:
            self._call(None, "record_nodes", run_id, [record])

    def record_nodes(self, run_id: int | None, records: Iterable[NodeRecord]) -> None:
        """Record several nodes of run ``run_id`` in one transaction."""
        if run_id is not None:
            self._call(None, "record_nodes", run_id, list(records))

    def finish_run(self, run_id: int | None, ended: float | None = None,
                   summary: Mapping[str, Any] | None = None) -> None:
        """Record the end of run ``run_id`` and its summary."""
        if run_id is not None:
            self._call(None, "finish_run", run_id, ended, summary)

    def last_node_run(self, node: str, *, before_run: int | None = None,
                      with_parts: bool = True) -> NodeRecord | None:
        """The latest record of the node named ``node``, or None."""
        return self._call(None, "last_node_run", node, before_run=before_run,
                          with_parts=with_parts)

    def runs(self, limit: int = 20) -> list[RunSummary]:
        """The latest ``limit`` runs, newest first (empty when off)."""
        return self._call([], "runs", limit)

    def load_run(self, run_id: int) -> RunRecord | None:
        """Run ``run_id`` with its nodes, or None when it is unknown or the cache is off."""
        return self._call(None, "load_run", run_id)

    def info(self) -> dict[str, Any]:
        """The Store's info, or the path and the reason when the cache is off."""
        info = self._call(None, "info")
        if info is None:
            return {"path": str(self.path), "enabled": False, "reason": self.reason}
        return {**info, "enabled": True, "reason": None}

    def file_hashes(self) -> set[str] | None:
        """The hashes of the files results and runs name; None when the store cannot say."""
        return self._call(None, "file_hashes")

    def clear(self, *, history: bool = False) -> int:
        """Remove every stored result (and the history with ``history=True``); the count."""
        return self._call(0, "clear", history=history)

    def prune(self, older_than_days: float | None = None,
              max_size_mb: float | None = None) -> int:
        """Remove old and least recently used results; the count (ValueError still raises)."""
        for value in (older_than_days, max_size_mb):
            if value is not None and value < 0:
                raise ValueError(f"prune limits must be >= 0, not {value!r}")
        return self._call(0, "prune", older_than_days, max_size_mb)

    def prune_to_size(self, limit: int, file_sizes: Mapping[str, int]) -> SizePrune | None:
        """Forget least recently used results until the database and the files still named
        fit in ``limit`` bytes (see ``Store.prune_to_size``); None when the cache is off."""
        if limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit!r}")
        return self._call(None, "prune_to_size", limit, dict(file_sizes))

    def prune_runs(self, keep: int) -> int:
        """Forget every run but the latest ``keep`` (see ``Store.prune_runs``)."""
        if keep < 0:
            raise ValueError(f"keep must be >= 0, not {keep!r}")
        return self._call(0, "prune_runs", keep)

    def close(self) -> None:
        """Close the database; the store is off afterwards (without a warning)."""
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(Exception):  # closing a cache must not fail a run
                store.close()
        if self.reason is None:
            self.reason = "closed"

    def __enter__(self) -> SafeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "on" if self.enabled else f"off: {self.reason}"
        return f"SafeStore({str(self.path)!r}, {state})"
