"""Export a graph to the workflow standards other engines run: CWL v1.2 and Argo Workflows.

Pure functions from a ``Graph`` and a ``Registry`` to documents (the core only; image
metadata comes from the local engine unless an ``inspect_image`` function is given).
``Graph.to_cwl``, ``Graph.to_argo`` and ``Graph.from_cwl`` call these.
"""

from .argo import to_argo
from .common import DEFAULT_PYTHON_IMAGE, ExportError
from .cwl import CwlExport, from_cwl, to_cwl

__all__ = ["to_cwl", "from_cwl", "to_argo", "CwlExport", "ExportError", "DEFAULT_PYTHON_IMAGE"]
