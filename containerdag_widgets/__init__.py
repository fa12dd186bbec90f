"""containerdag_widgets: run DAGs of containerized processes, watch them as Jupyter widgets."""

from typing import Any

from .errors import (
    Cancelled,
    ContainerDagError,
    CycleError,
    DescriptionError,
    EngineUnavailable,
    GraphValidationError,
    ImageNotFound,
    InputError,
    OutputTooLarge,
    Problem,
    ProcessError,
    ProcessFailed,
    ProcessNotFound,
    ProcessTimeout,
    ProtocolError,
    SpecError,
    UpstreamFailed,
)
from .graph import Graph, Node, Ref, _display_hooks
from .process import Execution, Process, PythonProcess, process
from .registry import Registry
from .runner import NodeFinished, NodeStarted, RunFinished, RunHandle, RunResult

__all__ = [
    "Registry",
    "GraphWidget",
    "RegistryWidget",
    "OutputTable",
    "Graph",
    "Node",
    "Ref",
    "Process",
    "PythonProcess",
    "Execution",
    "process",
    "RunResult",
    "RunHandle",
    "NodeStarted",
    "NodeFinished",
    "RunFinished",
    "ContainerDagError",
    "ProcessNotFound",
    "SpecError",
    "Problem",
    "GraphValidationError",
    "CycleError",
    "ProcessError",
    "InputError",
    "ProcessFailed",
    "ProtocolError",
    "OutputTooLarge",
    "ProcessTimeout",
    "Cancelled",
    "UpstreamFailed",
    "ImageNotFound",
    "EngineUnavailable",
    "DescriptionError",
]

_WIDGETS = ("GraphWidget", "RegistryWidget", "OutputTable")


def __getattr__(name: str) -> Any:
    # Widgets load ipywidgets and ipycytoscape: import them on first use, not for the CLI.
    if name in _WIDGETS:
        from . import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _widget_bundle(kind: str) -> Any:
    def bundle(obj: Any) -> dict:
        from . import widgets

        cls = widgets.GraphWidget if kind == "graph" else widgets.RegistryWidget
        return cls(obj)._repr_mimebundle_()

    return bundle


# A Graph or Registry as the last expression of a notebook cell shows its widget.
_display_hooks["graph"] = _widget_bundle("graph")
_display_hooks["registry"] = _widget_bundle("registry")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext containerdag_widgets``: register %%node, %dag, %registry (IPython lazily)."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext containerdag_widgets``: drop the magics and close their own registry."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)
