"""``containerdag cwl-runner TOOL JOB`` and ``containerdag add-cwl TOOL`` (issue 21).

``cwl-runner`` is cwltool's own command line (its options, its output object on stdout, its
exit codes: 0, 1 for a failed run or an invalid input, 33 for an unsupported requirement)
with the jobs run in warm containers: cwltool's ``main`` with our ``construct_tool_object``
and executor (``docker/cwl.py``). ``add-cwl`` loads a tool as ``Registry.add_cwl`` does and
prints its process: name, ports and how it runs (``describe`` for a CWL tool).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from .terminal import say, say_process

__all__ = ["add_parser"]


def _cmd_cwl_runner(args: argparse.Namespace) -> int:
    from cwltool.argparser import arg_parser
    from cwltool.context import LoadingContext
    from cwltool.main import main as cwltool_main

    from ..docker.cwl import CwlBackend
    from ..processes.cwl import CallOptions

    argv = list(args.cwl_args)
    image = None
    if "--containerdag-image" in argv:  # image= of add_cwl, for every job of this run
        at = argv.index("--containerdag-image")
        image = argv[at + 1]
        del argv[at:at + 2]
    backend = CwlBackend(session=f"cwl-runner-{os.getpid()}")
    executor = backend.executor()
    run_jobs = executor.run_jobs

    def with_image(process: Any, job_order: Any, logger: Any, runtime_context: Any) -> None:
        runtime_context.containerdag_call = CallOptions(image=image)
        run_jobs(process, job_order, logger, runtime_context)

    executor.run_jobs = with_image
    try:
        options = arg_parser().parse_args(argv)  # exits 2 as cwltool does on bad options
        loading = LoadingContext(vars(options))  # as cwltool makes it from its options
        loading.construct_tool_object = backend.tool_factory()
        return int(cwltool_main(args=options, loadingContext=loading, executor=executor))
    finally:
        backend.close()


def _cmd_add_cwl(args: argparse.Namespace) -> int:
    from ..processes.registry import Registry

    with Registry() as reg:
        proc = reg.add_cwl(args.tool, image=args.cwl_image, name=args.name)
        if args.json:
            say(json.dumps({"name": proc.name, "source": proc.source,
                            "description": proc.description, "inputs": proc.inputs,
                            "outputs": proc.outputs, "details": proc.details()}, indent=2))
            return 0
        say_process(proc)
    return 0


def add_parser(subparsers: Any) -> None:
    # '+' prefix: every '-' option after the command is cwltool's, passed on untouched.
    p = subparsers.add_parser(
        "cwl-runner", prefix_chars="+", add_help=False,
        help="run a CWL CommandLineTool with a job (cwl-runner compatible: cwltool's options, "
             "output object and exit codes; jobs in warm containers)")
    p.add_argument("cwl_args", nargs=argparse.REMAINDER,
                   help="[cwltool options] TOOL [JOB]; --containerdag-image TAG replaces the "
                        "tools' DockerRequirement")
    p.set_defaults(fn=_cmd_cwl_runner)
    p = subparsers.add_parser("add-cwl", help="load a CWL CommandLineTool as a process and "
                                              "describe it (ports, image, how it runs)")
    p.add_argument("tool", help="a CWL CommandLineTool file")
    p.add_argument("--as", dest="name", help="the process name (default: the file's stem)")
    p.add_argument("--cwl-image", metavar="TAG", help="replaces the tool's DockerRequirement")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(fn=_cmd_add_cwl)
