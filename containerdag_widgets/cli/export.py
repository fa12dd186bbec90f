"""``containerdag export cwl SPEC -o DIR`` and ``containerdag export argo SPEC [-o FILE]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..export.common import DEFAULT_PYTHON_IMAGE, yaml_text

__all__ = ["add_parser"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``export`` subcommand (``cwl`` and ``argo``) to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "export", help="write a graph spec as a CWL workflow or an Argo Workflow",
        description="Export a graph spec to a workflow standard other engines run. The "
                    "processes are found as for 'run' (the images on the local engine).")
    formats = parser.add_subparsers(dest="format", required=True)
    cwl = formats.add_parser("cwl", help="a CWL v1.2 workflow, a tool per process, a job file")
    cwl.add_argument("spec", help="a YAML/JSON graph spec")
    cwl.add_argument("-o", "--output", required=True, metavar="DIR",
                     help="directory to write workflow.cwl, job.json and tools/ into")
    argo = formats.add_parser("argo", help="an Argo Workflow (YAML; JSON if FILE ends .json)")
    argo.add_argument("spec", help="a YAML/JSON graph spec")
    argo.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    for p in (cwl, argo):
        p.add_argument("--python-image", default=DEFAULT_PYTHON_IMAGE, metavar="IMAGE",
                       help="image with python3 for the inputs helper and in-process "
                            f"processes (default {DEFAULT_PYTHON_IMAGE})")
        p.set_defaults(fn=_cmd_export)
    return parser


def _cmd_export(args: argparse.Namespace) -> int:
    from ..graph import Graph
    from ..standard import standard_registry
    from .terminal import read_spec, say

    graph = Graph.from_yaml(read_spec(args.spec))
    with standard_registry(args.image) as registry:
        if args.format == "cwl":
            export = graph.to_cwl(registry, args.output, python_image=args.python_image)
            notes = export.notes
        else:
            workflow = graph.to_argo(registry, python_image=args.python_image)
            notes = []
    if args.format == "cwl":
        say(f"wrote {export.workflow}, {export.job} and {len(export.tools)} tools")
        say(f"run it: {export.command}")
    else:
        text = _argo_text(workflow, args.output)
        if args.output:
            Path(args.output).write_text(text)
            say(f"wrote {args.output}")
        else:
            sys.stdout.write(text)
        annotations = workflow["metadata"]["annotations"]
        notes = [n for n in annotations.get("containerdag-widgets/notes", "").split("\n") if n]
    for note in notes:
        say(f"note: {note}", file=sys.stderr)
    return 0


def _argo_text(workflow: dict[str, Any], output: str | None) -> str:
    if output and output.endswith(".json"):
        return json.dumps(workflow, indent=2) + "\n"
    return yaml_text(workflow)
