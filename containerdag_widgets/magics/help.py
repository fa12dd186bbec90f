"""Help while typing: Tab completion for the magics, hints for likely slips, and what to run
when a ``%%node`` cell comes before ``%load_ext containerdag_widgets``.

- ``%dag <Tab>`` completes subcommands, ``%dag remove <Tab>`` node names, ``%dag use <Tab>``
  the notebook's ``Registry`` variables; in a ``%%node`` body, ``process: <Tab>`` completes
  process names and ``{from: <Tab>`` node names.
- ``x: stats.mean`` (a string where a reference was meant) gets the ``{from: stats, output:
  mean}`` form in its problem, or in a warning when the port takes strings.
- Importing the package in IPython without the extension registers stand-in magics that say
  ``%load_ext containerdag_widgets`` (or ``c.InteractiveShellApp.extensions``) is needed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any

from IPython.core.completer import (
    CompletionContext,
    SimpleCompletion,
    SimpleMatcherResult,
    context_matcher,
)
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from ..model.errors import Problem
from ..model.graph import Graph

__all__ = ["LOAD_HINT", "make_matcher", "reference_hints", "offer_magics"]

LOAD_HINT = ("the containerdag magics are not loaded: run %load_ext containerdag_widgets in a "
             "cell first (to load them in every session, add 'containerdag_widgets' to "
             "c.InteractiveShellApp.extensions in ~/.ipython/profile_default/ipython_config.py)")
_DOTTED = re.compile(r"^\s*([^{}\[\]]+?)\.([A-Za-z_]\w*)\s*$")


# ---- hints ----------------------------------------------------------------------------------


def reference_hints(inputs: Any, graph: Graph, problems: list[Problem]
                    ) -> tuple[list[Problem], list[str]]:
    """Problems (and warnings) with a hint for each input written ``node.output`` as text."""
    if not isinstance(inputs, dict):
        return problems, []
    hints = {}
    for port, value in inputs.items():
        m = _DOTTED.match(value) if isinstance(value, str) else None
        if m and m.group(1) in graph:
            hints[f"inputs.{port}"] = (
                f"to read output {m.group(2)!r} of node {m.group(1)!r}, write "
                f"{port}: {{from: {m.group(1)}, output: {m.group(2)}}}")
    out = [dataclasses.replace(p, detail=f"{p.detail}; {hints.pop(p.field)}")
           if p.field in hints else p for p in problems]
    return out, [f"input {field[7:]!r} is text; {hint}" for field, hint in hints.items()]


# ---- completion -----------------------------------------------------------------------------


def _complete(prefix: str, token: str, names: Iterable[str]) -> list[str]:
    """Names starting with ``prefix``, cut so they replace just the ``token`` (a name may hold
    spaces, and the token is only its last word)."""
    cut = len(prefix) - len(token)
    return sorted(n[cut:] for n in names if n.startswith(prefix) and cut >= 0)


def make_matcher(magics: Any, commands: Iterable[str]
                 ) -> Callable[[CompletionContext], SimpleMatcherResult]:
    """An IPython context matcher for ``magics`` (a ``ContainerDagMagics``) whose ``%dag``
    takes ``commands``."""
    commands = tuple(commands)

    @context_matcher()
    def containerdag_matcher(context: CompletionContext) -> SimpleMatcherResult:
        found = _matches(magics, context, commands)
        return {"completions": [SimpleCompletion(text=t, type="containerdag") for t in found],
                "suppress": bool(found)}

    return containerdag_matcher


def _matches(magics: Any, context: CompletionContext, commands: tuple[str, ...]) -> list[str]:
    line, token = context.line_with_cursor, context.token
    if context.full_text.lstrip().startswith("%%node") and not line.lstrip().startswith("%%"):
        if m := re.match(r"\s*process:\s*(.*)$", line):
            return _complete(m.group(1), token, _process_names(magics))
        if m := re.search(r"from:\s*([^,}]*)$", line):
            return _complete(m.group(1), token, magics.graph)
        return []
    m = re.match(r"\s*(?:[\w.]+\s*=\s*)?%dag\s+(.*)$", line)
    if m is None:
        return []
    args = m.group(1)
    if " " not in args:
        return _complete(args, token, commands)
    command, rest = args.split(" ", 1)
    if command == "remove":
        return _complete(rest.lstrip(), token, magics.graph)
    if command == "use" and magics.shell is not None:
        from ..processes.registry import Registry

        return _complete(rest.lstrip(), token, [k for k, v in magics.shell.user_ns.items()
                                                if isinstance(v, Registry)])
    return []


def _process_names(magics: Any) -> list[str]:
    try:
        return list(magics.registry)
    except Exception:  # noqa: BLE001 - no registry yet: nothing to complete
        return []


# ---- before the extension is loaded -----------------------------------------------------------


@magics_class
class NotLoadedMagics(Magics):
    """Stand-ins for ``%%node``, ``%dag`` and ``%registry`` that say how to load the real ones."""

    @cell_magic
    def node(self, line: str, cell: str) -> None:
        raise UsageError(LOAD_HINT)

    @line_magic
    def dag(self, line: str = "") -> None:
        raise UsageError(LOAD_HINT)

    @line_magic("registry")
    def registry_magic(self, line: str = "") -> None:
        raise UsageError(LOAD_HINT)


def offer_magics() -> None:
    """In an IPython shell without the extension, register the stand-ins (never over the
    real magics, and never over magics of the same names from elsewhere)."""
    from IPython import get_ipython

    ip = get_ipython()
    if ip is None or "ContainerDagMagics" in ip.magics_manager.registry:
        return
    taken = ip.magics_manager.magics
    if "node" in taken["cell"] or "dag" in taken["line"]:
        return
    ip.register_magics(NotLoadedMagics)
