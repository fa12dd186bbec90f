"""``%dag run --dask ADDRESS``: the Dask executors of a notebook session, one per address.

``--dask local`` starts a ``LocalCluster`` of 2 worker processes the first time and keeps it
for the session; any other address connects a client once. All are closed when the extension
is unloaded (or the kernel stops); a cluster the notebook made itself is never closed here.
"""

from __future__ import annotations

import sys
import weakref
from typing import Any

from IPython.core.error import UsageError

from ..model.errors import ContainerDagError

__all__ = ["DaskSessions"]


def _close_all(executors: dict[str, Any]) -> None:
    for address, executor in list(executors.items()):
        try:
            executor.close()
        except Exception as exc:  # noqa: BLE001 - closing must never break unload or exit
            print(f"containerdag: closing the Dask executor of {address}: {exc}",
                  file=sys.stderr)
    executors.clear()


class DaskSessions:
    """Keeps one ``DaskExecutor`` per ``--dask`` address for the notebook session."""

    def __init__(self) -> None:
        self._executors: dict[str, Any] = {}
        self._finalizer = weakref.finalize(self, _close_all, self._executors)

    def executor_for(self, address: str) -> Any:
        """The executor for ``address`` (``"local"``: a LocalCluster), made on first use."""
        executor = self._executors.get(address)
        if executor is not None and not executor.closed and executor.client.status == "running":
            return executor
        try:
            from ..executors import DaskExecutor
        except ImportError as exc:
            raise UsageError(str(exc)) from None
        try:
            executor = DaskExecutor.connect(address)
        except ContainerDagError as exc:
            raise UsageError(f"--dask {address}: {exc}") from None
        self._executors[address] = executor
        return executor

    def close(self) -> None:
        """Close every executor (and the LocalCluster) made here. Idempotent."""
        _close_all(self._executors)
