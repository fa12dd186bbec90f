"""containerdag_widgets: run DAGs of containerized processes, watch them as Jupyter widgets."""

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .graph import Graph, GraphEdited, Node, Ref
from .model import display, errors
from .model.errors import *  # noqa: F403 - the error classes, listed once in errors.__all__
from .model.files import File, Files
from .model.status import Status
from .processes.base import Process
from .processes.python import PythonProcess, process
from .processes.registry import Registry
from .run.events import (
    ElementFinished,
    ElementStarted,
    NodeFinished,
    NodeLog,
    NodeProgress,
    NodeStarted,
    RunFinished,
    RunStarted,
)
from .run.options import RunOptions
from .run.result import RunResult
from .run.scheduler import RunHandle
from .run.session import Session

try:
    __version__ = version("containerdag_widgets")
except PackageNotFoundError:  # run from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "File",
    "Files",
    "Registry",
    "Graph",
    "Node",
    "Ref",
    "Process",
    "PythonProcess",
    "process",
    "RunResult",
    "RunHandle",
    "RunOptions",
    "Session",
    "Status",
    "RunStarted",
    "NodeStarted",
    "NodeLog",
    "NodeProgress",
    "NodeFinished",
    "RunFinished",
    "ElementStarted",
    "ElementFinished",
    "GraphEdited",
    "GraphWidget",  # noqa: F405 - lazy, see __getattr__
    "RegistryWidget",  # noqa: F405
    "OutputTable",  # noqa: F405
    "ContainerSettings",  # noqa: F405 - lazy: the Docker backend
    "ThreadExecutor",  # noqa: F405 - lazy: the executors
    "DaskExecutor",  # noqa: F405
    "errors",
    "__version__",
    *errors.__all__,
]

_WIDGETS = ("GraphWidget", "RegistryWidget", "OutputTable")
_EXECUTORS = ("ThreadExecutor", "DaskExecutor")


def __getattr__(name: str) -> Any:
    # Widgets load ipywidgets and ipycytoscape, the Docker backend docker-py, Dask its client:
    # each is imported on first use, so the CLI and plain scripts load none they do not use.
    if name in _WIDGETS:
        from . import widgets

        return getattr(widgets, name)
    if name == "ContainerSettings":
        from .docker.settings import ContainerSettings

        return ContainerSettings
    if name in _EXECUTORS:
        from . import executors

        return getattr(executors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _widget_bundle(kind: str) -> Any:
    def bundle(obj: Any) -> dict:
        from . import widgets

        cls = widgets.GraphWidget if kind == "graph" else widgets.RegistryWidget
        return cls(obj)._repr_mimebundle_()

    return bundle


# A Graph or Registry as the last expression of a notebook cell shows its widget.
display.register("graph", _widget_bundle("graph"))
display.register("registry", _widget_bundle("registry"))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext containerdag_widgets``: register %%node, %dag, %registry (IPython lazily)."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext containerdag_widgets``: drop the magics and close their own registry."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)


if "IPython" in sys.modules:  # in a notebook: a %%node cell before %load_ext says what to run
    try:
        from .magics.help import offer_magics

        offer_magics()
    except Exception:  # noqa: BLE001 - a hint must never break the import
        pass
