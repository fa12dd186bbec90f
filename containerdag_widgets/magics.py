"""IPython magics: ``%%node`` builds the notebook's graph cell by cell; ``%dag`` shows and runs it.

Load with ``%load_ext containerdag_widgets``. A problem in a ``%%node`` body is reported as one
``UsageError`` naming the body's line and field (no traceback), and leaves the graph unchanged.
"""

from __future__ import annotations

import re
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from .errors import ContainerDagError, GraphValidationError, Problem, SpecError
from .graph import Graph, Node, load_yaml
from .registry import Registry

__all__ = [
    "ContainerDagMagics",
    "current_magics",
    "load_ipython_extension",
    "unload_ipython_extension",
]

_NODE_FIELDS = ("process", "inputs", "timeout")
_COMMANDS = ("show", "run", "clear", "spec", "remove", "use", "graph")
#: Options of ``%dag`` and the subcommands they apply to.
_OPTION_COMMANDS = {"max_workers": "run", "timeout": "run", "quiet": "run", "yaml": "spec"}


# ---- locating problems in a cell body ----------------------------------------------------------


@dataclass(frozen=True)
class _Issue:
    """One problem of a ``%%node`` cell, located by body line (1-based) and field."""

    message: str
    field: str | None = None
    line: int | None = None


def _item(mapping: yaml.Node | None, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    """The (key, value) nodes of ``key`` in a composed YAML mapping (the last one if repeated)."""
    found = None
    if isinstance(mapping, yaml.MappingNode):
        for k, v in mapping.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                found = (k, v)
    return found


def _line_of(root: yaml.Node | None, field: str | None, kind: str | None = None) -> int | None:
    """The body line of ``field`` (``process``, ``inputs.x``...) in the composed body."""
    if not field:
        return None
    top, _, port = field.partition(".")
    top_item = _item(root, top)
    if top_item is None:
        # A missing field or input: point at what defines it, the ``process:`` line.
        fallback = _item(root, "process") if top == "inputs" else None
        return fallback[0].start_mark.line + 1 if fallback else None
    key, value = top_item
    port_item = _item(value, port) if port else None
    if port_item is None:
        return key.start_mark.line + 1
    port_key, port_value = port_item
    sub = {"unknown_node": "from", "unknown_output": "output"}.get(kind or "")
    ref_item = _item(port_value, sub) if sub else None
    return (ref_item[1] if ref_item else port_key).start_mark.line + 1


def _duplicate_keys(node: yaml.Node | None, path: str = "") -> list[_Issue]:
    """Keys written twice in the same mapping: YAML keeps the last silently, a likely slip."""
    issues: list[_Issue] = []
    if not isinstance(node, yaml.MappingNode):
        return issues
    seen: set[str] = set()
    for k, v in node.value:
        name = str(k.value)
        field = f"{path}.{name}" if path else name
        if name in seen:
            issues.append(_Issue(f"{name!r} is written twice", field, k.start_mark.line + 1))
        seen.add(name)
        if not path:  # the top level and its direct children (inputs) only
            issues.extend(_duplicate_keys(v, field))
    return issues


_SPEC_FIELD = re.compile(
    r"field '(?P<field>\w+)'|input (?P<port>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"):"
)


def _spec_issue(exc: SpecError, name: str, root: yaml.Node | None) -> _Issue:
    """A ``Node.from_spec`` shape error located at its field's line."""
    message = _bare(exc)
    field = None
    if message.startswith("unknown field"):
        extra = [k for k, _ in getattr(root, "value", []) if str(k.value) not in _NODE_FIELDS]
        if extra:
            return _Issue(message, str(extra[0].value), extra[0].start_mark.line + 1)
    match = _SPEC_FIELD.search(message)
    if match and match["field"]:
        field = match["field"]
    elif match and match["port"]:
        field = f"inputs.{match['port'][1:-1]}"
    return _Issue(message, field, _line_of(root, field) or (1 if field is None else None))


def _bare(exc: SpecError) -> str:
    """A ``SpecError``'s message without its ``line N, node 'x': `` prefix."""
    where = [f"line {exc.line}"] if exc.line is not None else []
    if exc.node is not None:
        where.append(f"node {exc.node!r}")
    text = str(exc)
    prefix = f"{', '.join(where)}: "
    return text[len(prefix):] if where and text.startswith(prefix) else text


def _cycle_issues(graph: Graph, name: str, root: yaml.Node | None) -> list[_Issue]:
    """Each input of node ``name`` whose reference closes a cycle back to ``name``."""
    down: dict[str, list[str]] = {}
    for up, _, node, _ in graph.edges:
        down.setdefault(up, []).append(node)
    issues = []
    for port, ref in graph[name].refs.items():
        path = _path(down, name, ref.node) if ref.node in graph else None
        if path is not None:
            cycle = " -> ".join(repr(n) for n in [*path, name])
            issues.append(_Issue(f"cycle: {cycle}", f"inputs.{port}",
                                 _line_of(root, f"inputs.{port}")))
    return issues


def _path(down: dict[str, list[str]], start: str, goal: str) -> list[str] | None:
    """A shortest path ``start -> ... -> goal`` along ``down`` edges, if there is one."""
    parent: dict[str, str | None] = {start: None}
    queue = [start]
    while queue:
        current = queue.pop(0)
        if current == goal:
            path = [current]
            while (prev := parent[path[-1]]) is not None:
                path.append(prev)
            return path[::-1]
        for nxt in down.get(current, ()):
            if nxt not in parent:
                parent[nxt] = current
                queue.append(nxt)
    return None


def _problem_issue(problem: Problem, name: str, root: yaml.Node | None) -> _Issue:
    """A validation ``Problem`` of node ``name`` located at its field's line."""
    message = problem.message.removeprefix(f"node {name!r}: ")
    return _Issue(message, problem.field, _line_of(root, problem.field, problem.kind))


def _report(name: str, replacing: bool, issues: list[_Issue], body: str) -> str:
    """One readable message listing every issue with its line, field and source text."""
    lines = body.splitlines()
    entries = []
    for issue in sorted(issues, key=lambda i: i.line or 0):
        where = f"line {issue.line}" if issue.line else ""
        if issue.field:
            where = f"{where} ({issue.field})" if where else issue.field
        entry = f"{where}: {issue.message}" if where else issue.message
        if issue.line and issue.line <= len(lines):
            entry += f"\n    {issue.line} | {lines[issue.line - 1].rstrip()}"
        entries.append(entry)
    head = f"node {name!r} {'not replaced' if replacing else 'not added'}"
    if len(entries) == 1:
        return f"{head}: {entries[0]}"
    return f"{head} ({len(entries)} problems):\n" + "\n".join(
        "  " + e.replace("\n", "\n  ") for e in entries
    )


def _node_name(line: str) -> str:
    """The ``%%node`` line as a node name: stripped, one pair of surrounding quotes removed."""
    name = line.strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
        name = name[1:-1].strip()
    if not name:
        raise UsageError("usage: %%node NAME, then the node as YAML: process: ..., inputs: ...")
    return name


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
        from . import widgets

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
        self._listeners: list[Callable[[Graph], None]] = []

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
        from .cli import standard_registry

        try:
            registry = standard_registry()
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

    # ---- change notification ------------------------------------------------------------

    def on_change(self, callback: Callable[[Graph], None], remove: bool = False) -> None:
        """Call ``callback(graph)`` after each magic edits the graph, so a widget can redraw."""
        if remove:
            self._listeners = [cb for cb in self._listeners if cb != callback]
        else:
            self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in list(self._listeners):
            try:
                callback(self.graph)
            except Exception as exc:  # noqa: BLE001 - a broken listener must not break a cell
                print(f"containerdag: graph listener {callback!r} failed: {exc}", file=sys.stderr)

    # ---- %%node -------------------------------------------------------------------------

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
        name = _node_name(line)
        node = self._parse(name, cell)
        self.graph.nodes[name] = node  # an existing key keeps its position
        self._changed()

    def _parse(self, name: str, body: str) -> Node:
        """The checked ``Node`` of a ``%%node`` cell, or a ``UsageError`` listing every problem."""
        replacing = name in self.graph
        try:
            data, _ = load_yaml(body)
            root = yaml.compose(body, Loader=yaml.SafeLoader)
        except SpecError as exc:
            issue = _Issue(_bare(exc), None, exc.line)
            raise UsageError(_report(name, replacing, [issue], body)) from None
        if data is None:
            issue = _Issue("the body is empty; write the node as YAML with process: and inputs:")
            raise UsageError(_report(name, replacing, [issue], body))
        if not isinstance(data, dict):
            issue = _Issue(f"the body is a YAML mapping with process: and inputs:, "
                           f"got {type(data).__name__}", None, 1)
            raise UsageError(_report(name, replacing, [issue], body))
        duplicates = _duplicate_keys(root)
        if duplicates:
            raise UsageError(_report(name, replacing, duplicates, body))
        try:
            node = Node.from_spec(name, data)
        except SpecError as exc:
            issue = _spec_issue(exc, name, root)
            raise UsageError(_report(name, replacing, [issue], body)) from None

        registry = self.registry
        candidate = Graph(self.graph.nodes)
        candidate.nodes[name] = node
        found = candidate.problems(registry)
        issues = [_problem_issue(p, name, root) for p in found
                  if p.node == name and p.kind != "cycle"]
        issues += _cycle_issues(candidate, name, root)
        if issues:
            raise UsageError(_report(name, replacing, issues, body))
        # Allowed, but say so: a replaced node can break nodes reading from it.
        before = {(p.node, p.message) for p in self.graph.problems(registry)}
        for p in found:
            if p.node != name and (p.node, p.message) not in before:
                print(f"warning: {p.message}", file=sys.stderr)
        return node

    # ---- %dag ---------------------------------------------------------------------------

    @magic_arguments()
    @argument("command", nargs="?", default="show", choices=_COMMANDS, metavar="COMMAND",
              help="show | run | clear | spec | remove NAME | use VARNAME | graph "
                   "(default: show)")
    @argument("name", nargs="*", metavar="NAME",
              help="the node to remove (spaces allowed), or the variable holding the Registry")
    @argument("--max-workers", type=int, default=None, metavar="N",
              help="run: how many nodes run at once (default 4)")
    @argument("--timeout", type=float, default=None, metavar="SECONDS",
              help="run: timeout of each node in seconds (a node's own timeout wins)")
    @argument("--quiet", "-q", action="store_true",
              help="run: do not print the result table")
    @argument("--yaml", action="store_true",
              help="spec: print the spec as YAML (and return nothing)")
    @line_magic
    def dag(self, line: str = "") -> Any:
        """Show, run and edit the notebook's graph, built with %%node cells.

        Subcommands:
          show                 the graph as a live widget (GraphWidget); the default
          run [--max-workers N] [--timeout SECONDS] [--quiet]
                               validate and run it; prints the result table and returns the
                               RunResult: result = %dag run
          clear                remove every node
          spec [--yaml]        the graph's spec (a dict); with --yaml print it as YAML
          remove NAME          remove node NAME (refused while other nodes read from it)
          use VARNAME          validate and run with the Registry in variable VARNAME
          graph                the Graph object itself (edited in place by the magics)
        """
        args = parse_argstring(self.dag, line)
        command = args.command
        for option, applies_to in _OPTION_COMMANDS.items():
            if getattr(args, option) not in (None, False) and command != applies_to:
                flag = "--" + option.replace("_", "-")
                raise UsageError(f"%dag {command}: {flag} applies to %dag {applies_to} only")
        name = " ".join(args.name)
        if command in ("remove", "use") and not name:
            what = "NAME" if command == "remove" else "VARNAME"
            raise UsageError(f"usage: %dag {command} {what}")
        if command not in ("remove", "use") and name:
            raise UsageError(f"%dag {command} takes no argument, got {name!r}")
        return getattr(self, f"_dag_{command}")(args, name)

    def _dag_show(self, args: Any, name: str) -> Any:
        return _widget("GraphWidget")(self.graph, self.registry)

    def _dag_run(self, args: Any, name: str) -> Any:
        if not self.graph:
            raise UsageError("the graph is empty: add nodes with %%node NAME cells")
        options: dict[str, Any] = {}
        if args.max_workers is not None:
            if args.max_workers < 1:
                raise UsageError(f"--max-workers must be at least 1, got {args.max_workers}")
            options["max_workers"] = args.max_workers
        if args.timeout is not None:
            if args.timeout <= 0:
                raise UsageError(f"--timeout must be positive, got {args.timeout}")
            options["timeout"] = args.timeout
        try:
            result = self.graph.run(self.registry, **options)
        except GraphValidationError as exc:
            raise UsageError(f"the graph cannot run: {exc}") from None
        except ContainerDagError as exc:
            raise UsageError(f"the run failed: {exc}") from None
        if not args.quiet:
            print(result.table())
        return result

    def _dag_clear(self, args: Any, name: str) -> None:
        self.graph.nodes.clear()
        self._changed()

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
        self._changed()

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
        ip.register_magics(ContainerDagMagics(ip))


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
    magics.close()
