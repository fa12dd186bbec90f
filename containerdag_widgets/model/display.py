"""Rich display: a ``Graph`` or ``Registry`` as the last expression of a cell shows its widget.

The core only keeps a table of hooks; the package root fills it with functions that import the
widgets layer on first use, so the core never imports Jupyter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["register", "mimebundle"]

#: ``kind -> callable(obj) -> mimebundle``; kinds are ``graph`` and ``registry``.
_hooks: dict[str, Callable[[Any], dict[str, Any] | None]] = {}


def register(kind: str, hook: Callable[[Any], dict[str, Any] | None]) -> None:
    """Show objects of ``kind`` with ``hook(obj)``'s mimebundle."""
    _hooks[kind] = hook


def mimebundle(obj: Any, kind: str) -> dict[str, Any]:
    """The widget's bundle for ``obj`` when a hook is registered, plus its plain text."""
    plain = {"text/plain": repr(obj)}
    hook = _hooks.get(kind)
    bundle = hook(obj) if hook is not None else None
    return {**bundle, **plain} if bundle else plain
