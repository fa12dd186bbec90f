"""Nodes of a graph: a process and its inputs, each a literal or a ``Ref`` to an output.

A reference is written as the seed's tuple ``("node a", "z")`` or, in YAML/JSON,
``{from: node a, output: z}``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SpecError
from .files import FILE_KEY, File, Glob
from .yaml_source import NodeSource

__all__ = ["Ref", "Node", "parse_input", "copy_value"]

_NODE_KEYS = {"process", "inputs", "timeout", "scatter", "scatter_method", "on_error", "cwl"}
#: How the elements of several scattered inputs pair up (CWL's names): ``dotproduct`` takes
#: the i-th of each (same lengths), ``flat_crossproduct`` every combination, in order.
SCATTER_METHODS = ("dotproduct", "flat_crossproduct")
#: What a failed element does: ``fail`` the node (the others keep their results), or
#: ``continue`` (its outputs gathered as None, the node ``partial``).
ON_ERROR = ("fail", "continue")


@dataclass(frozen=True)
class Ref:
    """A reference to output ``output`` of upstream node ``node``."""

    node: str
    output: str

    def to_spec(self) -> dict[str, str]:
        return {"from": self.node, "output": self.output}

    def __str__(self) -> str:
        return f"{self.node}.{self.output}"


def _is_ref_mapping(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"from", "output"}


def parse_input(value: Any, *, node: str, port: str) -> Any:
    """A spec's input value as a literal, a ``Ref`` or a ``File`` (``{file: PATH}`` or the wire
    form ``{"$file": PATH}``, relative to the current directory)."""
    if isinstance(value, Ref):
        return value
    if isinstance(value, tuple):
        if len(value) != 2 or not all(isinstance(v, str) for v in value):
            raise SpecError(f"input {port!r}: a reference tuple is (node, output), two "
                            f"strings, got {value!r:.80}", node=node, field=f"inputs.{port}",
                            value=value)
        return Ref(*value)
    if _is_ref_mapping(value):
        if not all(isinstance(value[k], str) for k in ("from", "output")):
            raise SpecError(f"input {port!r}: a reference is {{from: NODE, output: PORT}} with "
                            f"string values, got {dict(value)!r:.80}", node=node,
                            field=f"inputs.{port}", value=dict(value))
        return Ref(value["from"], value["output"])
    if isinstance(value, Mapping) and set(value) in ({"file"}, {FILE_KEY}):
        (key, path), = value.items()
        if not isinstance(path, str) or not path:
            raise SpecError(f"input {port!r}: a file is {{{key}: PATH}} with a path, got "
                            f"{dict(value)!r:.80}", node=node, field=f"inputs.{port}",
                            value=dict(value))
        return File(path)  # keyed by its contents from here on, never by its path
    if isinstance(value, Mapping) and set(value) == {"glob"}:
        if not isinstance(value["glob"], str) or not value["glob"]:
            raise SpecError(f"input {port!r}: a glob is {{glob: PATTERN}} with a pattern, got "
                            f"{dict(value)!r:.80}", node=node, field=f"inputs.{port}",
                            value=dict(value))
        return Glob(value["glob"])
    if isinstance(value, Mapping) and "from" in value:
        raise SpecError(f"input {port!r}: a reference needs exactly the keys 'from' and "
                        f"'output', got {sorted(map(str, value))!r:.80}", node=node,
                        field=f"inputs.{port}", value=dict(value))
    return value


@dataclass
class Node:
    """One step of a graph: a process and its inputs (literals or ``Ref``)."""

    name: str
    process: str
    inputs: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    #: Where the node is written (YAML or a ``%%node`` body), to locate its problems.
    source: NodeSource | None = field(default=None, compare=False, repr=False)
    #: Inputs whose lists the node runs over, one call per element (empty: one call).
    scatter: tuple[str, ...] = ()
    scatter_method: str = "dotproduct"
    on_error: str = "fail"
    #: A CWL CommandLineTool file this node's process comes from (added to the registry as
    #: ``process`` when a session runs or plans the graph).
    cwl: str | None = None

    @property
    def refs(self) -> dict[str, Ref]:
        return {port: v for port, v in self.inputs.items() if isinstance(v, Ref)}

    @property
    def upstream(self) -> list[str]:
        """Names of the nodes this one reads from, in input order, without repeats."""
        return list(dict.fromkeys(ref.node for ref in self.refs.values()))

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "process": self.process,
            "inputs": {
                port: v.to_spec() if isinstance(v, (Ref, Glob)) else
                {"file": _relative(v)} if isinstance(v, File) else copy.deepcopy(v)
                for port, v in self.inputs.items()
            },
        }
        if self.timeout is not None:
            spec["timeout"] = self.timeout
        if self.scatter:
            spec["scatter"] = list(self.scatter)
            if self.scatter_method != "dotproduct":
                spec["scatter_method"] = self.scatter_method
        if self.on_error != "fail":
            spec["on_error"] = self.on_error
        if self.cwl is not None:
            spec["cwl"] = self.cwl
        return spec

    @classmethod
    def from_spec(cls, name: str, spec: Any, source: NodeSource | None = None) -> Node:
        """A node from its spec; a ``SpecError`` names the field (and line, given ``source``)."""
        try:
            return cls._from_spec(name, spec, source)
        except SpecError as exc:
            if source is None or exc.line is not None:
                raise
            raise exc.located(*source.locate(exc.field)) from None

    @classmethod
    def _from_spec(cls, name: str, spec: Any, source: NodeSource | None) -> Node:
        if not isinstance(name, str) or not name:
            raise SpecError(f"node names are non-empty strings, got {name!r}", value=name)
        if not isinstance(spec, Mapping):
            raise SpecError(f"a node is a mapping with 'process' and 'inputs', got {spec!r:.80}",
                            node=name, value=spec)
        extra = [k for k in spec if k not in _NODE_KEYS]
        if extra:
            raise SpecError(
                f"unknown field(s) {', '.join(map(repr, extra))}; a node has 'process', "
                "'inputs' and optionally 'timeout', 'scatter', 'scatter_method', 'on_error', "
                "'cwl'",
                node=name, field=str(extra[0]), value=extra[0])
        cwl = spec.get("cwl")
        if cwl is not None and (not isinstance(cwl, str) or not cwl):
            raise SpecError(f"field 'cwl' names a CWL CommandLineTool file, got {cwl!r:.80}",
                            node=name, field="cwl", value=cwl)
        process = spec.get("process")
        if process is None and cwl is not None:  # the tool's name: its file's stem
            process = Path(cwl).stem
        if not isinstance(process, str) or not process:
            raise SpecError(f"field 'process' must name a process, got {process!r}", node=name,
                            field="process", value=process)
        inputs = spec.get("inputs") or {}
        if not isinstance(inputs, Mapping):
            raise SpecError(f"field 'inputs' must be a mapping, got {inputs!r:.80}", node=name,
                            field="inputs", value=inputs)
        timeout = spec.get("timeout")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float))
            or not timeout > 0 or timeout == float("inf")
        ):
            raise SpecError(f"field 'timeout' must be a positive number, got {timeout!r}",
                            node=name, field="timeout", value=timeout)
        scatter = spec.get("scatter") or ()
        if isinstance(scatter, str):
            scatter = (scatter,)
        if (not isinstance(scatter, (list, tuple))
                or not all(isinstance(s, str) and s for s in scatter)):
            raise SpecError(f"field 'scatter' lists input names, got {scatter!r:.80}", node=name,
                            field="scatter", value=scatter)
        method = spec.get("scatter_method", "dotproduct")
        if method not in SCATTER_METHODS:
            raise SpecError(f"field 'scatter_method' is one of {', '.join(SCATTER_METHODS)}, "
                            f"got {method!r:.80}", node=name, field="scatter_method",
                            value=method)
        on_error = spec.get("on_error", "fail")
        if on_error not in ON_ERROR:
            raise SpecError(f"field 'on_error' is one of {', '.join(ON_ERROR)}, got "
                            f"{on_error!r:.80}", node=name, field="on_error", value=on_error)
        return cls(
            name=name,
            process=process,
            inputs={
                str(port): parse_input(v, node=name, port=str(port)) for port, v in inputs.items()
            },
            timeout=float(timeout) if timeout is not None else None,
            source=source,
            scatter=tuple(dict.fromkeys(scatter)),
            scatter_method=method,
            on_error=on_error,
            cwl=cwl,
        )


_IMMUTABLE = (Ref, File, Glob, str, int, float, bool, type(None))


def _relative(file: File) -> str:
    """A file's path relative to the current directory when it is under it."""
    try:
        return str(file.path.relative_to(Path.cwd()))
    except ValueError:
        return str(file.path)


def copy_value(value: Any) -> Any:
    """A copy of an input value; immutable ones (most) are shared, not copied."""
    return value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)
