"""Command line: ``containerdag list | describe | run SPEC | cleanup``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ..cache import SafeStore
from ..cache.paths import database_path
from ..model.errors import ContainerDagError, OptionError
from ..model.files import json_default
from ..model.graph import Graph
from ..model.status import SUCCESS
from ..run.options import RunOptions, add_arguments
from ..run.session import Session
from ..standard import standard_registry
from .cwl import add_parser as add_cwl_parsers
from .history import add_parsers as add_history_parsers
from .terminal import RunProgress, read_spec, say, say_process

__all__ = ["main"]


class _SpecStore(SafeStore):
    """The history of one ``containerdag run``: each run it begins records its spec file (the
    ``source`` that ``containerdag history`` names and ``--spec`` filters by)."""

    source: str | None = None

    def begin_run(self, spec: Mapping[str, Any], started: float | None = None) -> int | None:
        return self._call(None, "begin_run", spec, started, source=self.source)


def _cmd_list(args: argparse.Namespace) -> int:
    with standard_registry(args.image) as reg:
        if args.json:
            say(json.dumps([
                {"name": p.name, "source": p.source, "description": p.description,
                 "inputs": p.inputs, "outputs": p.outputs} for p in reg.processes.values()
            ], indent=2))
        else:
            width = max((len(n) for n in reg), default=0)
            for name, proc in reg.processes.items():
                say(f"{name:<{width}}  {proc.source:<36}  {proc.description}")
        for problem in reg.problems:
            say(f"warning: {problem}", file=sys.stderr)
    return 0


def _cmd_describe(args: argparse.Namespace) -> int:
    with standard_registry(args.image) as reg:
        say_process(reg.get(args.process))
    return 0


class _Executors:
    """What ``--dask ADDRESS`` names, made for one command and closed at its end."""

    def __init__(self) -> None:
        self.made: list[Any] = []

    def executor_for(self, address: str) -> Any:
        try:
            from ..executors import DaskExecutor
        except ImportError as exc:
            raise ContainerDagError(str(exc)) from None
        executor = DaskExecutor.connect(address)
        self.made.append(executor)
        return executor

    def close(self) -> None:
        for executor in self.made:
            executor.close()


def _cmd_plan(args: argparse.Namespace) -> int:
    """``containerdag plan SPEC``: per node, whether a run would reuse or run it, and why."""
    graph = Graph.from_yaml(read_spec(args.spec))
    with standard_registry(args.image) as reg:
        session = Session(reg)
        try:
            plan = session.plan(graph, RunOptions.from_arguments(args, graph))
        finally:
            session.close()
    if args.json:
        say(json.dumps({s.node: {"action": s.action, "reason": s.reason} for s in plan},
                       indent=2))
    else:
        say(plan.table(header=True))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    text = read_spec(args.spec)
    graph = Graph.from_yaml(text)  # YAML is a superset of JSON
    executors = _Executors()
    store = None  # --no-cache: no store opened, no run recorded
    try:
        with standard_registry(args.image) as reg:
            if args.cache is not False:
                store = _SpecStore.open(database_path())
                store.source = os.path.abspath(args.spec)
            session = Session(reg, store=store)
            if args.dry_run:
                if args.executor is not None:
                    raise OptionError("executor", args.executor,
                                      "no --dask with --dry-run (a plan runs nothing)")
                plan = session.plan(graph, RunOptions.from_arguments(args, graph))
                if args.json:
                    say(json.dumps({s.node: {"action": s.action, "reason": s.reason}
                                    for s in plan}, indent=2))
                else:
                    say(plan.table())
                return 0
            options = RunOptions.from_arguments(args, graph, context=executors)
            if sys.stdout.isatty() and not args.json:  # else quiet: the table at the end
                progress = RunProgress(sys.stdout, verbose=args.verbose)
                options = options.replace(listeners=(*options.listeners, progress))
            try:
                result = session.run(graph, options)
            finally:
                session.close()
    finally:
        if store is not None:
            store.close()
        executors.close()
    if args.json:
        say(json.dumps({
            "status": result.status, "inputs": result.inputs, "outputs": result.outputs,
            "errors": {n: str(e) for n, e in result.errors.items()}, "logs": result.logs,
            "durations": result.durations, "workers": result.workers,
            "reasons": result.reasons, "run": result.run_id,
        }, indent=2, default=json_default))
    else:
        say(result.table())
    bad = {n: s for n, s in result.status.items() if s not in SUCCESS}
    for node, status in bad.items():
        say(f"{status}: {result.errors[node]}", file=sys.stderr)
    return 1 if bad else 0


def _cmd_cleanup(args: argparse.Namespace) -> int:
    from ..docker import cleanup, connect

    removed = cleanup(connect(), include_live=args.all)
    for item in removed:
        say(f"removed {item.name} (session {item.session})")
    say(f"{len(removed)} container(s) removed")
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
    add_arguments(p)  # the run options: --max-workers, --timeout, --node, --no-cache, ...
    p.add_argument("--dry-run", action="store_true",
                   help="print per node whether it would run or be reused, and why; run nothing")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="on a terminal, also show the last lines of the running nodes' logs")
    p.set_defaults(fn=_cmd_run)
    p = sub.add_parser("plan", help="print per node whether a run would reuse or run it, and "
                                    "why; run nothing (the same as run --dry-run)")
    p.add_argument("spec", help="a YAML/JSON file: node name -> {process, inputs}")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    add_arguments(p, planned_only=True)  # --node, --no-cache, --force
    p.set_defaults(fn=_cmd_plan)
    p = sub.add_parser("cleanup", help="remove containers left by crashed sessions")
    p.add_argument("--all", action="store_true",
                   help="also remove containers of sessions that are still running")
    p.set_defaults(fn=_cmd_cleanup)
    add_history_parsers(sub)  # history, show, reproduce, cache
    from .export import add_parser as add_export_parser  # export cwl|argo SPEC

    add_export_parser(sub)
    add_cwl_parsers(sub)  # cwl-runner, add-cwl
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except (ContainerDagError, OSError) as exc:
        say(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
