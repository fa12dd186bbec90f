"""``Graph``: the graph as data (``model.graph``) with its fronts: run, start and plan it in
its registry's ``Session``, export it to CWL or Argo, read a workflow back.

The fronts live here, above the run layer and export, so that the model imports neither.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .export import CwlExport, from_cwl, to_argo, to_cwl
from .model import graph as model
from .model.graph import GraphEdited, Node, Ref
from .processes.registry import Registry
from .run.plan import Plan
from .run.result import RunResult
from .run.scheduler import RunHandle
from .run.session import Session

__all__ = ["Graph", "GraphEdited", "Node", "Ref"]


class Graph(model.Graph):
    """A DAG of named nodes: build it from a spec, YAML or ``add``, run it with a registry."""

    def run(self, registry: Registry, **options: Any) -> RunResult:
        """Validate, then run every node (or ``nodes`` and what they need) and wait.

        The options are ``RunOptions``'s (``max_workers``, ``timeout`` per node, ``listeners``,
        ``nodes``, ``executor``, ``cache``, ``force``...); a bad one raises ``OptionError``
        before anything runs. Runs in ``registry``'s default ``Session``.
        """
        return Session.of(registry).run(self, **options)

    def start(self, registry: Registry, **options: Any) -> RunHandle:
        """Like ``run`` but returns at once a handle with ``cancel()`` and ``wait()``."""
        return Session.of(registry).start(self, **options)

    def plan(self, registry: Registry, **options: Any) -> Plan:
        """Per node, whether ``run`` would reuse it, run it, or decide on its upstream's
        outputs (``depends``), and why; starts no container."""
        return Session.of(registry).plan(self, **options)

    def to_cwl(self, registry: Registry, path: str | Path, *,
               python_image: str | None = None) -> CwlExport:
        """Write a CWL v1.2 workflow, a tool per process and a job file into directory ``path``.

        ``python_image`` runs in-process processes and the inputs helper (see ``export``).
        """
        return to_cwl(self, registry, path, python_image=python_image)

    def to_argo(self, registry: Registry, *, python_image: str | None = None) -> dict[str, Any]:
        """An Argo ``Workflow`` (a dict) running this graph (see ``export``)."""
        return to_argo(self, registry, python_image=python_image)

    @classmethod
    def from_cwl(cls, path: str | Path) -> Graph:
        """The graph of a workflow ``to_cwl`` wrote (its directory or its workflow.cwl)."""
        return cls(from_cwl(path).nodes)
