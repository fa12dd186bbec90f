"""Executors: where a graph's nodes run. ``ThreadExecutor`` (the default) runs them in threads
of this process; ``DaskExecutor`` runs each node as a task on a ``dask.distributed`` cluster
(the optional extra ``containerdag_widgets[dask]``, imported only when asked for).
"""

from typing import Any

from ..run.execution import Executor, NodeCall, ThreadExecutor

__all__ = ["Executor", "NodeCall", "ThreadExecutor", "DaskExecutor", "dask_executor"]


def __getattr__(name: str) -> Any:
    if name in ("DaskExecutor", "dask_executor"):
        try:
            from . import dask
        except ImportError as exc:
            raise ImportError(
                f"{name} needs dask.distributed: pip install 'containerdag_widgets[dask]' "
                f"({exc})") from exc
        return getattr(dask, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
