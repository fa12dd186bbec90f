"""Processes: named functions from a JSON object of inputs to a JSON object of outputs.

A process declares its ports with example values; an example's JSON type is the port's type.
``Process.execute`` is what the scheduler calls; ``Process.run`` is the convenient form. Each
kind is a subclass that answers for itself (``_call``, ``key_parts``, ``details``,
``image_command``, ``settings``): ``python.PythonProcess`` here, ``ContainerProcess`` in the
Docker backend.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model.errors import (
    InputError,
    ProtocolError,
)
from ..model.files import file_hint, file_of, files_in, map_files
from ..model.ports import json_type, port_problems, type_problem

#: Called with each chunk of a running call's log (stderr) as it arrives.
LogSink = Callable[[str], None]
#: ``progress(what, done, total)``: bytes of one of the call's files moved so far.
ProgressSink = Callable[[str, int, int], None]

__all__ = ["Process", "Execution", "LogSink", "ProgressSink", "copy_sharing", "deepcopy_sharing"]


@dataclass
class Execution:
    """What one successful call gave: the outputs and the log (the process's stderr)."""

    outputs: dict[str, Any]
    log: str = ""


@dataclass(eq=False)
class Process:
    """A named process with example-typed ports. Subclasses implement ``_call``."""

    name: str
    description: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    #: Where the process comes from: ``"python"`` or an image tag; the widgets group by it.
    source: str = "python"
    #: False for non-deterministic processes, whose results are never reused from a cache.
    cacheable: bool = True
    #: Bumped by the author to invalidate cached results when the code's hash cannot tell.
    version: str | None = None
    #: Runs in this interpreter: a call cannot be killed, so a cancelled run abandons it.
    in_process: bool = False

    def run(self, inputs: Mapping[str, Any] | None = None, *, timeout: float | None = None) -> dict:
        """Call the process once and return its outputs."""
        return self.execute(inputs or {}, timeout=timeout).outputs

    def execute(
        self,
        inputs: Mapping[str, Any],
        *,
        timeout: float | None = None,
        cancel: threading.Event | None = None,
        on_log: LogSink | None = None,
        on_progress: ProgressSink | None = None,
    ) -> Execution:
        """Check the inputs, call the process, check its outputs.

        ``on_log`` receives the call's log (stderr) in chunks as it arrives, where the process
        can report it live; ``on_progress`` the bytes of its files moved, where it moves
        files. Raises a ``ProcessError`` subclass: ``InputError``,
        ``ProcessFailed``, ``ProtocolError``, ``ProcessTimeout`` or ``Cancelled``.
        """
        self.check_inputs(inputs)
        given = dict(inputs)
        if not _plain(given):
            given = map_files(given, file_of)  # {"$file": PATH} is a File from here on
        result = self._call(given, timeout=timeout, cancel=cancel, on_log=on_log,
                            on_progress=on_progress)
        self.check_outputs(result.outputs, log=result.log)
        if not _plain(result.outputs) and files_in(result.outputs):
            result.outputs = self._keep_files(result.outputs, log=result.log)
        return result

    def _keep_files(self, outputs: dict[str, Any], *, log: str) -> dict[str, Any]:
        """The outputs with each file copied into the artifact store (``ProtocolError`` for a
        file that is not there or is over the size limit).

        For a process that runs in this interpreter, whose code can read any file anyway; a
        kind whose calls run elsewhere overrides this so that only its own transport makes
        files (a container's output directory)."""
        from ..cache.artifacts import FileTooLarge, keep_files

        try:
            return keep_files(outputs)
        except (OSError, FileTooLarge) as exc:
            raise ProtocolError(f"an output file cannot be kept: {exc}", process=self.name,
                                output=repr(outputs)[:200], log=log) from None

    @property
    def file_ports(self) -> dict[str, str]:
        """The file ports, ``"inputs.data"``/``"outputs.plot"``, with their extension hint."""
        found = {}
        for side, ports in (("inputs", self.inputs), ("outputs", self.outputs)):
            for port, example in ports.items():
                hint = file_hint(example)
                if hint is not None:
                    found[f"{side}.{port}"] = hint
        return found

    def _call(self, inputs: dict[str, Any], *, timeout: float | None,
              cancel: threading.Event | None, on_log: LogSink | None,
              on_progress: ProgressSink | None = None) -> Execution:
        raise NotImplementedError

    def check_inputs(self, inputs: Mapping[str, Any]) -> None:
        """Raise ``InputError`` naming every unknown, missing or mistyped input."""
        problems = port_problems(self.name, self.inputs, inputs, optional=self.optional_inputs)
        if problems:
            raise InputError(problems, process=self.name)

    def check_outputs(self, outputs: Any, *, log: str = "") -> None:
        """Raise ``ProtocolError`` unless ``outputs`` is an object with every declared port."""
        if not isinstance(outputs, Mapping):
            raise ProtocolError(
                f"outputs must be a JSON object, got {json_type(outputs)} {outputs!r:.200}",
                process=self.name,
                output=repr(outputs),
                log=log,
            )
        missing = [port for port in self.outputs if port not in outputs]
        if missing:
            raise ProtocolError(
                f"outputs miss declared key(s) {', '.join(map(repr, missing))}; "
                f"got keys {sorted(outputs)!r}",
                process=self.name,
                output=repr(dict(outputs))[:200],
                log=log,
            )
        for port, example in self.outputs.items():
            problem = type_problem(None, self.name, port, example, outputs[port],
                                   side="outputs")
            if problem is not None:  # the rule its readers apply: it fails here, not there
                raise ProtocolError(problem.detail, process=self.name,
                                    output=repr(dict(outputs))[:200], log=log, port=port)

    # ---- what each kind says of itself ------------------------------------------------------

    def key_parts(self) -> dict[str, Any] | None:
        """What identifies this process's code in a cache key: ``kind`` first, then what a
        change of it must invalidate (``cache.keys.LABELS`` parts are kept for messages
        only). None: a call of it cannot be keyed, so it is never reused."""
        return None

    def details(self) -> dict[str, str]:
        """How it runs, in words (label -> text), for ``containerdag describe`` and the
        registry widget."""
        return {}

    @property
    def optional_inputs(self) -> frozenset[str]:
        """The inputs a call may leave out (a kind whose tool has defaults says which)."""
        return frozenset()

    def image_command(self) -> tuple[str, str, list[str]] | None:
        """``(image tag, image ID, argv)`` when a call is one command in an image (what an
        exported workflow runs); None otherwise."""
        return None

    @property
    def settings(self) -> Any:
        """The container settings its calls run with (None: it runs in no container)."""
        return None

    def close(self) -> None:
        """Release what the process holds (containers, for container processes)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} from {self.source}>"


_SCALARS = (str, int, float, bool, type(None))


def _plain(values: Any) -> bool:
    """Whether a mapping holds only scalars (so it holds no file: no walk is needed)."""
    return isinstance(values, Mapping) and all(isinstance(v, _SCALARS) for v in values.values())


def copy_sharing(obj: Any) -> Any:
    """A shallow copy of a process that pickles through a rebuild (``__reduce__``), which
    ``copy.copy`` would otherwise call: the same attributes, the same objects."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    return new


def deepcopy_sharing(obj: Any, memo: dict, shared: tuple[str, ...]) -> Any:
    """A deep copy of a process whose ``shared`` attributes (what holds a live resource: a
    container pool, a loaded CWL tool) are the same objects in the copy."""
    new = object.__new__(type(obj))
    state = {k: v for k, v in obj.__dict__.items() if k not in shared}
    new.__dict__.update(copy.deepcopy(state, memo))
    new.__dict__.update({k: obj.__dict__[k] for k in shared if k in obj.__dict__})
    return new
