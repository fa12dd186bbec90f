"""Exceptions: one base class, and specific subclasses that carry the node, process and value."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "ContainerDagError",
    "ProcessNotFound",
    "Problem",
    "GraphValidationError",
    "CycleError",
    "SpecError",
    "OptionError",
    "ProcessError",
    "InputError",
    "ProcessFailed",
    "ProtocolError",
    "OutputTooLarge",
    "FileError",
    "ProcessTimeout",
    "Cancelled",
    "UpstreamFailed",
    "ElementsFailed",
    "ScatterError",
    "ImageNotFound",
    "EngineUnavailable",
    "DescriptionError",
    "ClusterUnavailable",
    "WorkerLost",
]


def excerpt(text: str | bytes, limit: int = 200) -> str:
    """A short, printable excerpt of what a process printed, for error messages."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.strip()
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text)} chars)"
    return repr(text)


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` (stdlib difflib), else ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _rebuilt(cls: type, args: tuple, state: dict) -> ContainerDagError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ContainerDagError(Exception):
    """Base class of every error this package raises on purpose."""

    def __reduce__(self) -> tuple:
        # The subclasses take keyword-only arguments that ``args`` does not hold: pickle (Dask,
        # multiprocessing) rebuilds the error from its attributes instead of calling __init__.
        return _rebuilt, (type(self), self.args, self.__dict__)


#: Names of known processes an unknown-process error lists at most.
KNOWN_LISTED = 10


class ProcessNotFound(ContainerDagError, KeyError):
    """A process name that the registry does not know."""

    def __init__(self, name: str, available: Sequence[str] = (), *, reason: str | None = None,
                 hint: str | None = None):
        self.name = name
        #: Advice for a likely cause (e.g. a ``@process`` never added to the registry).
        self.hint = hint
        self.available = sorted(available)
        #: Why a process that an image declares is missing (its description failed), if so.
        self.reason = reason
        super().__init__(name)

    def __str__(self) -> str:
        if self.reason is not None:
            return f"process {self.name!r} is declared but unusable: its description failed " \
                   f"({self.reason})"
        hint = f"; {self.hint}" if self.hint else ""
        suggestion = did_you_mean(self.name, self.available)
        many = len(self.available) > KNOWN_LISTED
        if many and suggestion:  # the closest names say enough; not all of them
            known = f"{len(self.available)} processes; 'containerdag list' shows them"
        elif many:
            known = (", ".join(self.available[:KNOWN_LISTED])
                     + f" and {len(self.available) - KNOWN_LISTED} more")
        else:
            known = ", ".join(self.available) if self.available else "none"
        return f"unknown process {self.name!r}{suggestion} (known: {known}){hint}"


def _where(line: int | None, node: str | None, field: str | None = None) -> str:
    """``line 3, node 'b' (inputs.x): `` from the parts that are known."""
    parts = []
    if line is not None:
        parts.append(f"line {line}")
    if node is not None:
        parts.append(f"node {node!r}")
    text = ", ".join(parts)
    if field is not None and text:
        text += f" ({field})"
    return f"{text}: " if text else ""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a graph or a call, as data; messages are rendered from it.

    ``kind`` is one of: spec, unknown_process, unknown_input, missing_input, unknown_node,
    unknown_output, type_mismatch, cycle, bad_value, missing_file, file_too_large.
    ``line``/``column`` (1-based) are set when the node came from YAML or a ``%%node`` body.
    """

    kind: str
    node: str | None
    detail: str
    process: str | None = None
    field: str | None = None
    value: Any = None
    line: int | None = None
    column: int | None = None

    @property
    def message(self) -> str:
        """The detail prefixed with the node: ``node 'b': missing input 'y' ...``."""
        return f"node {self.node!r}: {self.detail}" if self.node is not None else self.detail

    def at(self, line: int | None, column: int | None = None) -> Problem:
        """This problem located at ``line`` (and ``column``) of its source text."""
        return replace(self, line=line, column=column)

    def __str__(self) -> str:
        return (f"line {self.line}: " if self.line is not None else "") + self.message


class SpecError(ContainerDagError, ValueError):
    """A graph specification that cannot be parsed (bad YAML, wrong shape)."""

    def __init__(self, detail: str, *, node: str | None = None, field: str | None = None,
                 value: Any = None, line: int | None = None, column: int | None = None):
        self.detail = detail
        self.node = node
        self.field = field
        self.value = value
        self.line = line
        self.column = column
        super().__init__(detail)

    @property
    def problem(self) -> Problem:
        return Problem("spec", self.node, self.detail, field=self.field, value=self.value,
                       line=self.line, column=self.column)

    def located(self, line: int | None, column: int | None = None) -> SpecError:
        """A copy of this error located at ``line``/``column`` of its source text."""
        return SpecError(self.detail, node=self.node, field=self.field, value=self.value,
                         line=line, column=column)

    def __str__(self) -> str:
        return _where(self.line, self.node) + self.detail


class OptionError(ContainerDagError, ValueError):
    """An option of a run (``max_workers``, ``timeout``, ``nodes``...) with a bad value."""

    def __init__(self, option: str, value: Any, expected: str):
        self.option = option
        self.value = value
        self.expected = expected
        super().__init__(option, value)

    def __str__(self) -> str:
        return f"option {self.option}={self.value!r}: expected {self.expected}"


class GraphValidationError(ContainerDagError, ValueError):
    """Every problem found in a graph, reported together before anything runs."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        n = len(self.problems)
        super().__init__(f"graph has {n} problem{'s' if n != 1 else ''}:\n{lines}")

    @property
    def cycle(self) -> list[str] | None:
        """The nodes of the first cycle found, the first repeated at the end (as graphlib)."""
        for p in self.problems:
            if p.kind == "cycle":
                return list(p.value)
        return None


class CycleError(GraphValidationError):
    """A graph whose references form a cycle; ``cycle`` lists it, e.g. ``[a, b, a]``."""


# ---- errors of one process call ------------------------------------------------------------


class ProcessError(ContainerDagError):
    """A process call that did not give outputs. ``node`` is filled in by the runner."""

    def __init__(
        self, message: str, *, process: str | None, node: str | None = None, log: str = ""
    ):
        self.detail = message
        self.process = process
        self.node = node
        self.log = log
        super().__init__(message)

    def __str__(self) -> str:
        where = [f"node {self.node!r}"] if self.node is not None else []
        if self.process is not None:
            where.append(f"process {self.process!r}")
        return f"{', '.join(where)}: {self.detail}" if where else self.detail


class InputError(ProcessError):
    """Inputs that do not match a process's declared ports; ``problems`` lists each one."""

    def __init__(self, problems: Sequence[Problem], *, process: str | None,
                 node: str | None = None, log: str = ""):
        self.problems = list(problems)
        super().__init__("; ".join(p.detail for p in self.problems), process=process,
                         node=node, log=log)


class ProcessFailed(ProcessError):
    """The process exited with a non-zero code (or a Python process raised)."""

    def __init__(self, message: str, *, process: str, exit_code: int | None = None, **kw: Any):
        self.exit_code = exit_code
        super().__init__(message, process=process, **kw)


class ProtocolError(ProcessError):
    """The process printed something that is not a JSON object with the declared outputs;
    ``port`` names the output at fault, when one is."""

    def __init__(self, message: str, *, process: str, output: str = "",
                 port: str | None = None, **kw: Any):
        self.output = output
        self.port = port
        super().__init__(message, process=process, **kw)


class OutputTooLarge(ProtocolError):
    """The process printed more than the configured limit on ``stream``; it was killed."""

    def __init__(self, message: str, *, process: str, stream: str = "stdout", **kw: Any):
        self.stream = stream
        super().__init__(message, process=process, **kw)


class FileError(ProcessError):
    """A file of a call that cannot be moved: ``reason`` is ``missing`` (no such file),
    ``not_a_file`` (an input that is a directory, FIFO, device or socket: ``kind`` says
    which), ``name`` (an output file name that is not UTF-8), ``outside`` (an output path
    outside the call's directory), ``too_large`` (over the size limit) or ``transfer`` (the
    copy failed); ``port`` and ``path`` name it."""

    def __init__(self, message: str, *, process: str, reason: str, port: str | None = None,
                 path: str | None = None, kind: str | None = None, **kw: Any):
        self.reason = reason
        self.port = port
        self.path = path
        self.kind = kind
        super().__init__(message, process=process, **kw)


class ProcessTimeout(ProcessError):
    """The call exceeded its timeout and was killed."""

    def __init__(self, message: str, *, process: str, timeout: float, **kw: Any):
        self.timeout = timeout
        super().__init__(message, process=process, **kw)


class Cancelled(ProcessError):
    """The run was cancelled while this node was running or waiting."""


class ElementsFailed(ProcessError):
    """Elements of a scattered node failed (the others kept their results); ``failed`` maps
    each failed element's index to its error, ``labels`` names them."""

    def __init__(self, message: str, *, process: str | None,
                 failed: dict[int, ContainerDagError], labels: dict[int, str], **kw: Any):
        self.failed = failed
        self.labels = labels
        super().__init__(message, process=process, **kw)


class ScatterError(ProcessError):
    """A scattered node whose lists cannot be paired (``dotproduct`` of unequal lengths)."""


class UpstreamFailed(ProcessError):
    """The node was skipped because a node it depends on did not finish."""

    def __init__(self, message: str, *, process: str, upstream: str, **kw: Any):
        self.upstream = upstream
        super().__init__(message, process=process, **kw)


class ImageNotFound(ProcessError):
    """The image behind a container process is not on the engine."""

    def __init__(self, message: str, *, process: str, image: str, **kw: Any):
        self.image = image
        super().__init__(message, process=process, **kw)


class EngineUnavailable(ProcessError):
    """The Docker Engine does not answer (at discovery, or during a call)."""

    def __init__(self, message: str, *, process: str | None = None, **kw: Any):
        super().__init__(message, process=process, **kw)


class DescriptionError(ContainerDagError):
    """A process whose description (run with empty stdin) is not the protocol's JSON object."""

    def __init__(self, message: str, *, process: str, image: str, output: str = ""):
        self.process = process
        self.image = image
        self.output = output
        super().__init__(f"process {process!r} in image {image!r}: {message}")


class ClusterUnavailable(ContainerDagError):
    """The Dask scheduler cannot be reached (or the client lost it); raised before any node runs."""

    def __init__(self, message: str, *, address: str | None = None):
        self.address = address
        super().__init__(message)


class WorkerLost(ProcessError):
    """The Dask worker running the node died (and no retry was left); ``worker`` names it."""

    def __init__(self, message: str, *, process: str | None, worker: str | None, **kw: Any):
        self.worker = worker
        super().__init__(message, process=process, **kw)
