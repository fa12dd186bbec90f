"""containerdag_widgets: run DAGs of containerized processes, watch them as Jupyter widgets."""

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
from .graph import Graph, Node, Ref
from .process import Execution, Process, PythonProcess, process
from .registry import Registry
from .runner import NodeFinished, NodeStarted, RunFinished, RunHandle, RunResult

__all__ = [
    "Registry",
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
