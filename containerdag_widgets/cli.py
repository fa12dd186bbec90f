"""Command line: ``containerdag list | describe | run SPEC | cleanup``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import ContainerDagError
from .generators import random_choice, random_float
from .graph import Graph
from .registry import Registry
from .runner import NodeFinished, RunFinished

__all__ = ["main", "standard_registry", "random_float", "random_choice"]


def standard_registry(images: list[str] | None = None) -> Registry:
    """The Docker processes plus the seed's in-process generators (random float/choice)."""
    registry = Registry.from_docker(images=images)
    registry.add(random_float)
    registry.add(random_choice)
    return registry


def _progress(total: int, stream: Any) -> Any:
    done = 0

    def listener(event: Any) -> None:
        nonlocal done
        if isinstance(event, NodeFinished):
            done += 1
            bar = "#" * (20 * done // max(total, 1))
            stream.write(f"\r[{bar:<20}] {done}/{total} {event.node[:30]:<30}")
            stream.flush()
        elif isinstance(event, RunFinished):
            stream.write("\n")

    return listener


def _cmd_list(args: argparse.Namespace) -> int:
    with standard_registry(args.image) as reg:
        if args.json:
            print(json.dumps([
                {"name": p.name, "source": p.source, "description": p.description,
                 "inputs": p.inputs, "outputs": p.outputs} for p in reg.processes.values()
            ], indent=2))
        else:
            width = max((len(n) for n in reg), default=0)
            for name, proc in reg.processes.items():
                print(f"{name:<{width}}  {proc.source:<36}  {proc.description}")
        for problem in reg.problems:
            print(f"warning: {problem}", file=sys.stderr)
    return 0


def _cmd_describe(args: argparse.Namespace) -> int:
    with standard_registry(args.image) as reg:
        proc = reg.get(args.process)
        print(f"{proc.name}  [{proc.source}]")
        print(f"  {proc.description}")
        print(f"  inputs:  {json.dumps(proc.inputs)}")
        print(f"  outputs: {json.dumps(proc.outputs)}")
        command = getattr(proc, "command", None)
        if command:
            print(f"  command: {command}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    text = Path(args.spec).read_text()
    graph = Graph.from_yaml(text)  # YAML is a superset of JSON
    with standard_registry(args.image) as reg:
        listeners = []
        if sys.stderr.isatty() and not args.json:
            listeners.append(_progress(len(graph), sys.stderr))
        result = graph.run(reg, max_workers=args.max_workers, timeout=args.timeout,
                           listeners=listeners)
    if args.json:
        print(json.dumps({
            "status": result.status, "inputs": result.inputs, "outputs": result.outputs,
            "errors": {n: str(e) for n, e in result.errors.items()}, "logs": result.logs,
            "durations": result.durations,
        }, indent=2))
    else:
        print(result.table())
    bad = {n: s for n, s in result.status.items() if s not in ("done", "cached")}
    for node, status in bad.items():
        print(f"{status}: {result.errors[node]}", file=sys.stderr)
    return 1 if bad else 0


def _cmd_cleanup(args: argparse.Namespace) -> int:
    from .docker import cleanup, connect

    removed = cleanup(connect(), include_live=args.all)
    for item in removed:
        print(f"removed {item.name} (session {item.session})")
    print(f"{len(removed)} container(s) removed")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="containerdag", description="Run DAGs of containerized processes.")
    parser.add_argument("--image", action="append", metavar="TAG",
                        help="discover only this image (repeatable); default: all images")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list the processes found")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(fn=_cmd_list)
    p = sub.add_parser("describe", help="show one process's description and ports")
    p.add_argument("process")
    p.set_defaults(fn=_cmd_describe)
    p = sub.add_parser("run", help="run a graph spec (YAML or JSON)")
    p.add_argument("spec", help="a YAML/JSON file: node name -> {process, inputs}")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--max-workers", type=int, default=4, metavar="N")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="per-node timeout")
    p.set_defaults(fn=_cmd_run)
    p = sub.add_parser("cleanup", help="remove containers left by crashed sessions")
    p.add_argument("--all", action="store_true",
                   help="also remove containers of sessions that are still running")
    p.set_defaults(fn=_cmd_cleanup)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except (ContainerDagError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
