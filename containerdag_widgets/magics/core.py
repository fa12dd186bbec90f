"""The magics: ``%%node`` builds the notebook's graph cell by cell; ``%dag`` shows and runs it.

Load with ``%load_ext containerdag_widgets``. A problem in a ``%%node`` body is reported as one
``UsageError`` naming the body's line and field (no traceback), and leaves the graph unchanged.
"""

from __future__ import annotations

import sys
import tempfile
import weakref
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import (
    ArgDecorator,
    argument,
    magic_arguments,
    parse_argstring,
)

from ..graph import Graph
from ..model.errors import ContainerDagError, GraphValidationError, OptionError
from ..processes.registry import Registry
from ..run.options import OPTIONS, RunOptions, add_arguments
from ..run.session import Session
from .body import node_name, parse_node
from .dask import DaskSessions
from .help import make_matcher

__all__ = ["ContainerDagMagics", "current_magics", "load_ipython_extension",
           "unload_ipython_extension"]

_COMMANDS = ("show", "run", "plan", "clear", "spec", "remove", "use", "graph")
#: Options of ``%dag`` and the subcommands they apply to: the run options from their table.
_OPTION_COMMANDS = {"quiet": "run", "yaml": "spec",
                    **{o.name: ("run", "plan") if o.planned else "run"
                       for o in OPTIONS if o.flag is not None}}


_FLAGS = {o.name: o.flag for o in OPTIONS if o.flag is not None}


class run_options(ArgDecorator):  # noqa: N801 - a decorator, named as IPython's are
    """``%dag``'s run and plan flags, from the run options' table (``options.OPTIONS``)."""

    def add_to_parser(self, parser: Any, group: Any) -> None:
        add_arguments(group if group is not None else parser)


# ---- the magics --------------------------------------------------------------------------------


def _close_quietly(registry: Registry) -> None:
    """Close a registry the magics created; report (not raise) a failure, also at exit."""
    try:
        registry.close()
    except Exception as exc:  # noqa: BLE001 - closing must never break unload or shutdown
        print(f"containerdag: closing the magics' registry failed: {exc}", file=sys.stderr)


def _widget(name: str) -> Any:
    """The widget class ``name`` from the widgets layer, imported only when a magic shows one."""
    try:
        from .. import widgets

        return getattr(widgets, name)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"the widgets are unavailable: {exc}") from None


@magics_class
class ContainerDagMagics(Magics):
    """``%%node``, ``%dag`` and ``%registry``: the notebook's current graph and registry."""

    def __init__(self, shell: InteractiveShell | None = None):
        super().__init__(shell)
        #: The notebook's current graph; magics edit it in place, so references stay live.
        self.graph = Graph()
        self._chosen: Registry | None = None
        self._owned: Registry | None = None
        self._finalizer: weakref.finalize | None = None
        #: The Dask executors of ``%dag run --dask``, closed at unload.
        self.dask = DaskSessions()
        #: Where %%process cells' tools are written (made on first use).
        self._tools: Path | None = None

    # ---- registry -----------------------------------------------------------------------

    @property
    def registry(self) -> Registry:
        """The one set by ``%dag use``, else ``Registry.current()``, else one made (once) here."""
        if self._chosen is not None:
            if self._chosen.closed:
                raise UsageError("the registry chosen with %dag use is closed; "
                                 "choose another with %dag use VARNAME")
            return self._chosen
        current = Registry.current()
        if current is not None:
            return current
        if self._owned is not None and not self._owned.closed:
            return self._owned
        return self._create_registry()

    @registry.setter
    def registry(self, registry: Registry | None) -> None:
        self.use(registry)

    def use(self, registry: Registry | None) -> None:
        """Validate and run with ``registry`` (``None``: back to the default choice)."""
        if registry is not None and not isinstance(registry, Registry):
            raise TypeError(f"expected a Registry, got {type(registry).__name__}")
        self._chosen = registry
        if registry is not None and registry is not self._owned:
            self.close()  # the one created here is no longer used: stop its containers

    def _create_registry(self) -> Registry:
        from .. import standard

        try:
            registry = standard.standard_registry()
        except ContainerDagError as exc:
            raise UsageError(
                f"no registry: {exc}\nCreate one (reg = Registry([...]) or "
                "Registry.from_docker()) and choose it with %dag use reg"
            ) from None
        self.close()
        self._owned = registry
        # Closes it on unload (close()) or at interpreter exit, without keeping self alive.
        self._finalizer = weakref.finalize(self, _close_quietly, registry)
        return registry

    def close(self) -> None:
        """Close the registry these magics created (never one the user made). Idempotent."""
        if self._finalizer is not None:
            self._finalizer()
        self._finalizer = None
        self._owned = None

    # ---- %%node -------------------------------------------------------------------------

    @no_var_expand
    @cell_magic
    def node(self, line: str, cell: str) -> None:
        """Add or replace node NAME (the whole line) from a YAML body: process:, inputs:, timeout:.

        Example::

            %%node node b
            process: python_add
            inputs:
              x: {from: node a, output: z}
              y: 16.5

        Everything is checked before the graph changes; problems name the body's line.
        """
        name = node_name(line)
        node, warnings = parse_node(name, cell, self.graph, self.registry)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        self.graph.put(node)  # an existing node keeps its position

    # ---- %%process --------------------------------------------------------------------

    @no_var_expand
    @cell_magic
    def process(self, line: str, cell: str) -> None:
        """Add process NAME (the whole line) from a CWL CommandLineTool written in the body, in
        YAML: the short way to wrap any image's command without writing a file.

        Example::

            %%process shout
            cwlVersion: v1.2
            class: CommandLineTool
            baseCommand: [tr, a-z, A-Z]
            stdin: $(inputs.text.path)
            inputs: {text: File}
            stdout: upper.txt
            outputs: {upper: stdout}

        A tool that does not validate is refused with the loader's line and field.
        """
        name = node_name(line)
        if self._tools is None:
            self._tools = Path(tempfile.mkdtemp(prefix="containerdag-tools-"))
        path = self._tools / f"{len(list(self._tools.iterdir()))}-{name}.cwl"
        path.write_text(cell)
        try:
            proc = self.registry.add_cwl(path, name=name)
        except ContainerDagError as exc:
            raise UsageError(f"%%process {name}: {exc}") from None
        print(f"process {proc.name!r}: inputs {', '.join(proc.inputs) or 'none'}; outputs "
              f"{', '.join(proc.outputs) or 'none'}")

    # ---- %dag ---------------------------------------------------------------------------

    @magic_arguments()
    @argument("command", nargs="?", default="show", choices=_COMMANDS, metavar="COMMAND",
              help="show | run | clear | spec | remove NAME | use VARNAME | graph "
                   "(default: show)")
    @argument("name", nargs="*", metavar="NAME",
              help="the node to remove (spaces allowed), or the variable holding the Registry")
    @argument("--quiet", "-q", action="store_true", default=None,
              help="run: do not print the result table")
    @run_options()
    @argument("--yaml", action="store_true", default=None,
              help="spec: print the spec as YAML (and return nothing)")
    @line_magic
    def dag(self, line: str = "") -> Any:
        """Show, run and edit the notebook's graph, built with %%node cells.

        Subcommands:
          show                 the graph as a live widget (GraphWidget); the default
          run [--max-workers N] [--timeout SECONDS] [--node NODE] [--no-cache]
              [--force NODE] [--dask ADDRESS] [--quiet]
                               validate and run it, reusing unchanged results; prints the
                               table and returns the RunResult: result = %dag run
          plan [--node NODE] [--no-cache] [--force NODE]
                               per node: reuse, run or depends, and why; runs nothing
          clear                remove every node
          spec [--yaml]        the graph's spec (a dict); with --yaml print it as YAML
          remove NAME          remove node NAME (refused while other nodes read from it)
          use VARNAME          validate and run with the Registry in variable VARNAME
          graph                the Graph object itself (edited in place by the magics)
        """
        args = parse_argstring(self.dag, line)
        command = args.command
        for option, applies_to in _OPTION_COMMANDS.items():
            allowed = (applies_to,) if isinstance(applies_to, str) else applies_to
            if getattr(args, option) is not None and command not in allowed:
                flag = _FLAGS.get(option, "--" + option)
                where = " and ".join(f"%dag {c}" for c in allowed)
                raise UsageError(f"%dag {command}: {flag} applies to {where} only")
        name = " ".join(args.name)
        if command in ("remove", "use") and not name:
            what = "NAME" if command == "remove" else "VARNAME"
            raise UsageError(f"usage: %dag {command} {what}")
        if command not in ("remove", "use") and name:
            raise UsageError(f"%dag {command} takes no argument, got {name!r}")
        return getattr(self, f"_dag_{command}")(args, name)

    def _dag_show(self, args: Any, name: str) -> Any:
        self.registry  # noqa: B018 - fails here, with a UsageError, when there is none
        # The widget asks for the registry at each run: one these magics made and that was
        # closed since is made again, instead of failing every node.
        return _widget("GraphWidget")(self.graph, lambda: self.registry)

    def _options(self, args: Any) -> RunOptions:
        try:
            return RunOptions.from_arguments(args, self.graph, context=self.dask)
        except OptionError as exc:
            raise UsageError(str(exc)) from None

    def _dag_run(self, args: Any, name: str) -> Any:
        if not self.graph:
            raise UsageError("the graph is empty: add nodes with %%node NAME cells")
        options = self._options(args)
        try:
            result = Session.of(self.registry).run(self.graph, options)
        except GraphValidationError as exc:
            raise UsageError(f"the graph cannot run: {exc}") from None
        except ContainerDagError as exc:
            raise UsageError(f"the run failed: {exc}") from None
        if not args.quiet:
            print(result.table())
        return result

    def _dag_plan(self, args: Any, name: str) -> Any:
        options = self._options(args)
        try:
            plan = Session.of(self.registry).plan(self.graph, options)
        except ContainerDagError as exc:
            raise UsageError(f"the graph cannot run: {exc}") from None
        print(plan.table())
        return plan

    def _dag_clear(self, args: Any, name: str) -> None:
        self.graph.clear()

    def _dag_spec(self, args: Any, name: str) -> dict[str, Any] | None:
        if args.yaml:
            print(self.graph.to_yaml(), end="")
            return None
        return self.graph.to_spec()

    def _dag_remove(self, args: Any, name: str) -> None:
        if name not in self.graph:
            known = ", ".join(map(repr, self.graph)) or "none"
            raise UsageError(f"no node {name!r} in the graph (nodes: {known})")
        readers = sorted({n for up, _, n, _ in self.graph.edges if up == name and n != name})
        if readers:
            raise UsageError(f"node {name!r} is read by {', '.join(map(repr, readers))}: "
                             "remove or edit those first (or %dag clear)")
        self.graph.remove(name)

    def _dag_use(self, args: Any, name: str) -> None:
        namespace = self.shell.user_ns if self.shell is not None else {}
        if name not in namespace:
            raise UsageError(f"no variable {name!r} in the notebook")
        registry = namespace[name]
        if not isinstance(registry, Registry):
            raise UsageError(f"{name!r} is a {type(registry).__name__}, not a Registry")
        if registry.closed:
            raise UsageError(f"the registry in {name!r} is closed")
        self.use(registry)

    def _dag_graph(self, args: Any, name: str) -> Graph:
        return self.graph

    # ---- %registry ----------------------------------------------------------------------

    @magic_arguments("registry")
    @argument("--refresh", action="store_true",
              help="discover the processes again first (new images appear, removed ones go)")
    @line_magic("registry")
    def registry_magic(self, line: str = "") -> Any:
        """Show the registry's processes as a widget (RegistryWidget)."""
        args = parse_argstring(self.registry_magic, line)
        registry = self.registry
        if args.refresh:
            try:
                registry.refresh()
            except ContainerDagError as exc:
                raise UsageError(f"refresh failed: {exc}") from None
        return _widget("RegistryWidget")(registry)


# ---- extension entry points --------------------------------------------------------------------


def current_magics(ip: InteractiveShell | None = None) -> ContainerDagMagics | None:
    """The loaded magics of ``ip`` (default: the running shell), for widgets and tests."""
    if ip is None:
        from IPython import get_ipython

        ip = get_ipython()
        if ip is None:
            return None
    found = ip.magics_manager.registry.get(ContainerDagMagics.__name__)
    return found if isinstance(found, ContainerDagMagics) else None


def load_ipython_extension(ip: InteractiveShell) -> None:
    """Register ``%%node``, ``%dag`` and ``%registry`` (``%load_ext containerdag_widgets``)."""
    if current_magics(ip) is None:
        magics = ContainerDagMagics(ip)
        ip.register_magics(magics)
        # Tab completion: subcommands, node and process names (see help.py).
        magics.matcher = make_matcher(magics, _COMMANDS)
        ip.Completer.custom_matchers.append(magics.matcher)


def unload_ipython_extension(ip: InteractiveShell) -> None:
    """Unregister the magics and close the registry they created (``%unload_ext``)."""
    magics = current_magics(ip)
    if magics is None:
        return
    manager = ip.magics_manager
    for kind, names in magics.magics.items():
        table = manager.magics[kind]
        for magic_name in names:
            if getattr(table.get(magic_name), "__self__", None) is magics:
                del table[magic_name]
    del manager.registry[ContainerDagMagics.__name__]
    matcher = getattr(magics, "matcher", None)
    if matcher in ip.Completer.custom_matchers:
        ip.Completer.custom_matchers.remove(matcher)
    magics.close()
    magics.dask.close()
