"""Command line for the run history and the cache: history, show, reproduce, cache."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import time
from typing import Any

from ..cache import RunRecord, SafeStore, Store
from ..cache.artifacts import ArtifactStore
from ..cache.paths import database_path
from ..model.errors import ContainerDagError
from ..model.files import File, files_in, human_size, json_default
from .terminal import say

__all__ = ["add_parsers"]


class HistoryError(ContainerDagError):
    """A run or node that the history does not hold, or cannot reproduce."""


def _store() -> Store:
    """The history store, raising (not warning) when it cannot be opened: the user asked."""
    try:
        return Store.open(database_path())
    except ContainerDagError:
        raise
    except Exception as exc:  # noqa: BLE001 - named with the path, exit code 2
        raise HistoryError(f"cannot open {database_path()}: {exc}") from None


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "-"


def _source_text(source: str | None) -> str:
    """Where a run came from as ``history`` shows it: a spec file under the working directory
    relative to it (what ``--spec`` takes), another by its path; "-" when not recorded (a
    notebook's run, or one from before the history kept it)."""
    if source is None:
        return "-"
    here = os.getcwd()
    if source.startswith(here.rstrip(os.sep) + os.sep):
        return os.path.relpath(source, here)
    return source


def _spec_filter(name: str) -> str:
    """What ``history --spec NAME`` matches: an existing file by its absolute path (that file
    only), else ``NAME`` as the end of the recorded path (any directory's ``g.yaml``)."""
    if os.path.isfile(name):
        return os.path.abspath(name)
    return os.path.normpath(name)


def _cmd_history(args: argparse.Namespace) -> int:
    wanted = None if args.spec is None else _spec_filter(args.spec)
    with _store() as store:
        runs = store.runs(limit=args.limit, source=wanted)
        sources = store.sources(r.run_id for r in runs)
    if args.json:
        say(json.dumps([{"run": r.run_id, "started": r.started, "ended": r.ended,
                         "source": sources.get(r.run_id), "statuses": r.statuses}
                        for r in runs], indent=2))
        return 0
    names = {r.run_id: _source_text(sources.get(r.run_id)) for r in runs}
    width = max((len(n) for n in names.values()), default=0)
    width = max(width, len("spec"))
    say(f"{'run':>5}  {'started':19}  {'secs':>7}  {'spec':{width}}  nodes")
    for r in runs:
        secs = f"{r.ended - r.started:7.2f}" if r.ended else "running"
        counts = ", ".join(f"{n} {s}" for s, n in r.statuses.items())
        say(f"{r.run_id:>5}  {_when(r.started):19}  {secs:>7}  {names[r.run_id]:{width}}  "
            f"{counts}")
    return 0


def _load(run_id: int) -> RunRecord:
    with _store() as store:
        return store.load_run(run_id)


def _cmd_show(args: argparse.Namespace) -> int:
    with _store() as store:
        record = store.load_run(args.run)
        source = store.sources([args.run]).get(args.run)
    if args.json:
        say(json.dumps({
            "run": record.run_id, "started": record.started, "ended": record.ended,
            "source": source, "spec": record.spec, "nodes": {name: {
                "status": n.status, "reason": n.reason, "inputs": n.inputs,
                "outputs": n.outputs, "error": n.error, "log": n.log, "duration": n.duration,
                "image_id": n.image_id, "key": n.key, "worker": n.worker,
            } for name, n in record.nodes.items()}}, indent=2, default=json_default))
        return 0
    say(f"run {record.run_id}: {_when(record.started)} to {_when(record.ended)}"
        + ("" if source is None else f"  spec {_source_text(source)}"))
    for name, n in record.nodes.items():
        secs = f"{n.duration:.3f}s" if n.duration is not None else "-"
        say(f"  {name}  {n.status}  {secs}  {n.reason or ''}")
        if n.inputs is not None:
            say(f"    inputs: {json.dumps(n.inputs, default=_file_text)}")
        if n.outputs is not None:
            say(f"    outputs: {json.dumps(n.outputs, default=_file_text)}")
        for side, values in (("input", n.inputs), ("output", n.outputs)):
            for found in files_in(values, json_form=False):
                there = "" if found.exists() else " (no longer there)"
                say(f"    {side} file: {found.name}  {found.size} bytes  sha256 "
                    f"{found.sha256[:12]}  {found.path}{there}")
        if n.error:
            say(f"    error: {n.error}")
        _say_log(n.log, args.log_lines)
    return 0


def _say_log(log: str, keep: int) -> None:
    """The last ``keep`` lines of a node's log, each after a bar (escapes made visible)."""
    lines = log.rstrip("\n").splitlines() if log.strip() else []
    if not lines or keep <= 0:
        return
    shown = lines[-keep:]
    said = "log" if len(shown) == len(lines) else f"log, last {len(shown)} of {len(lines)} lines"
    say(f"    {said}:")
    for line in shown:
        say(f"    | {line}")


def _file_text(value: Any) -> Any:
    if isinstance(value, File):
        return f"<file {value.name}>"
    raise TypeError(f"{type(value).__name__} is not JSON")


def _cmd_reproduce(args: argparse.Namespace) -> int:
    record = _load(args.run)
    node = record.nodes.get(args.node)
    if node is None:
        known = ", ".join(map(repr, record.nodes)) or "none"
        raise HistoryError(f"run {args.run} has no node {args.node!r} (nodes: {known})")
    parts = node.key_parts or {}
    if parts.get("kind") != "container" or node.inputs is None:
        what = (f"the Python function {parts['qualname']}" if parts.get("kind") == "python"
                else f"process {node.process!r}, with no recorded container call")
        raise HistoryError(f"node {args.node!r} of run {args.run} ran {what}; reproduce "
                           "replays container calls only")
    for port, value in node.inputs.items():
        for found in files_in(value, json_form=False):
            name = found.name if isinstance(found, File) else str(found)
            raise HistoryError(f"node {args.node!r} of run {args.run}: input {port!r} is a file "
                               f"({name!r}); reproduce replays calls whose inputs are JSON "
                               "only (run the graph again to call it with its files)")
    stdin = json.dumps(node.inputs, allow_nan=False).encode()
    from ..docker import connect
    from ..docker.reproduce import checked_call, docker_run_line, reproduce

    client = connect()
    settings = checked_call(client, node=args.node, process=node.process,
                            image_id=parts.get("image_id"), recorded_image=node.image_id,
                            argv=parts.get("argv"))
    if args.print:
        slug = "".join(c if c.isalnum() else "_" for c in args.node)
        path = f"containerdag-run{args.run}-{slug}.json"
        with open(path, "wb") as fh:
            fh.write(stdin)
        say(f"# input written to {path}")
        say(docker_run_line(parts["image_id"], parts["argv"], path, settings))
        return 0
    again = reproduce(client, parts["image_id"], parts["argv"], stdin, settings=settings)
    say(f"# {shlex.join(parts['argv'])} in {parts['image_id'][:19]} (run {args.run}, node "
        f"{args.node!r}, recorded status {node.status})")
    say(again.stdout.decode("utf-8", "replace"), end="")
    say(again.stderr.decode("utf-8", "replace"), end="", file=sys.stderr)
    say(f"# exit code {again.exit_code}", file=sys.stderr)
    return 0 if again.exit_code == 0 else 1


def _cmd_cache(args: argparse.Namespace) -> int:
    store = SafeStore.open(database_path())
    if args.action == "info":
        info = store.info()
        for key, value in info.items():
            say(f"{key}: {value}")
        artifacts = ArtifactStore()
        files, nbytes = artifacts.usage()
        say(f"artifacts: {artifacts.root} ({files} files, {human_size(nbytes)}, {nbytes} bytes)")
        total = info.get("bytes", 0) + nbytes
        say(f"total: {human_size(total)} ({total} bytes: the database and the artifacts)")
    elif args.action == "clear":
        say(f"{store.clear(history=args.history)} result(s) removed")
        _prune_files(store)
    else:
        if (args.older_than is None and args.max_size is None and args.keep_runs is None
                and args.keep_size is None):
            raise HistoryError("cache prune needs --older-than DAYS, --max-size MB, "
                               "--keep-runs N and/or --keep-size SIZE")
        if args.older_than is not None or args.max_size is not None:
            say(f"{store.prune(args.older_than, args.max_size)} result(s) removed")
        if args.keep_runs is not None:
            say(f"{store.prune_runs(args.keep_runs)} run(s) forgotten")
        done = None
        if args.keep_size is not None:
            done = store.prune_to_size(args.keep_size, ArtifactStore().sizes())
            if done is not None:
                dead = f" ({done.dead} named a missing file)" if done.dead else ""
                say(f"{done.results} least recently used result(s) removed to fit in "
                    f"{human_size(args.keep_size)}{dead}")
        _prune_files(store)
        if done is not None:
            files, nbytes = ArtifactStore().usage()
            total = store.info().get("bytes", 0) + nbytes
            say(f"now {human_size(total)} ({total} bytes): the database and {files} file(s)")
            if not done.fits:  # every result went: what is left is the history's
                say(f"cannot fit in {human_size(args.keep_size)}: the recorded runs name "
                    f"{human_size(done.history_files)} of files and the database takes "
                    f"{human_size(done.database)}; forget runs with --keep-runs N",
                    file=sys.stderr)
                store.close()
                return 1
    store.close()
    return 0


def _size(text: str) -> int:
    """Bytes of ``--keep-size``: ``50G``, ``512m``, ``1.5T``, ``64KB`` or plain bytes."""
    from ..docker.settings import parse_size  # the containers' sizes (k, m, g); t added here

    terabytes = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*tb?\s*", text, re.IGNORECASE)
    try:
        return parse_size(f"{terabytes.group(1)}g") * 1024 if terabytes else parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a size above 0 such as 50G, 512M, 1.5T or a number of bytes (units K, "
            f"M, G, T, any case), got {text!r}") from None


def _prune_files(store: SafeStore) -> None:
    """Remove the artifact store's files that no cached result or recorded run names."""
    keep = store.file_hashes()
    if keep is not None:
        say(f"{ArtifactStore().prune(keep)} file(s) removed from the artifact store")


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def add_parsers(sub: Any) -> None:
    """The history and cache subcommands, on the main parser's subparsers."""
    p = sub.add_parser("history", help="list recent runs, each with its spec file")
    p.add_argument("--limit", type=int, default=20, metavar="N")
    p.add_argument("--spec", metavar="NAME",
                   help="only the runs of this spec file (a path, or the end of one: g.yaml)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=_cmd_history)
    p = sub.add_parser("show", help="one recorded run, node by node: status, inputs, "
                                    "outputs, files, error and the end of the log")
    p.add_argument("run", type=int, metavar="RUN")
    p.add_argument("--log-lines", type=lambda t: int(_non_negative(t)), default=10,
                   metavar="N", help="the last N lines of each node's log (default 10; 0: none)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=_cmd_show)
    p = sub.add_parser("reproduce", help="run one recorded container call again, outside "
                                         "the scheduler")
    p.add_argument("run", type=int, metavar="RUN")
    p.add_argument("node", metavar="NODE")
    p.add_argument("--print", action="store_true",
                   help="print the equivalent docker run line (input in a file) instead")
    p.set_defaults(fn=_cmd_reproduce)
    p = sub.add_parser("cache", help="the result cache and the artifact store: info, "
                                     "clear, prune")
    p.add_argument("action", choices=("info", "clear", "prune"))
    p.add_argument("--history", action="store_true", help="clear: the run history too")
    p.add_argument("--older-than", type=_non_negative, metavar="DAYS",
                   help="prune: results unused for DAYS")
    p.add_argument("--max-size", type=_non_negative, metavar="MB",
                   help="prune: least recently used results until the rest fit in MB")
    p.add_argument("--keep-runs", type=lambda t: int(_non_negative(t)), metavar="N",
                   help="prune: forget all but the latest N runs of the history (it keeps "
                        "1000 by itself)")
    p.add_argument("--keep-size", type=_size, metavar="SIZE",
                   help="prune: least recently used results and the files only they name until "
                        "the database and the artifact store fit in SIZE (50G, 512M, bytes)")
    p.set_defaults(fn=_cmd_cache)
