"""The options of a run: one table, ``OPTIONS``, that says each option's name, default, check,
help and command-line flag.

``RunOptions.checked`` checks values against it before anything starts; the command line and
``%dag run``/``%dag plan`` take their arguments from it (``add_arguments``,
``RunOptions.from_arguments``); the widget passes the same names. A new option is one row.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..model.errors import OptionError, did_you_mean

if TYPE_CHECKING:
    from ..model.graph import Graph

__all__ = ["Option", "OPTIONS", "RunOptions", "add_arguments", "positive", "executor_option"]


def positive(kind: type) -> Callable[[str], Any]:
    """An argparse type: a finite ``kind`` > 0 (``--max-workers 0`` exits 2 with one line)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not 0 < value < float("inf"):
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what} > 0, got {text!r}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


@dataclass(frozen=True)
class Option:
    """One run option: what it is called, its default, how a value is checked, and how the
    command line and ``%dag`` spell it (no ``flag``: given from Python only)."""

    name: str
    default: Any
    help: str
    #: ``(value, graph) -> value``: the checked (normalised) value, or ``OptionError``.
    check: Callable[[Any, Graph], Any]
    flag: str | None = None
    #: argparse keywords for ``flag`` (``type``, ``action``, ``metavar``).
    argument: Mapping[str, Any] = field(default_factory=dict)
    #: Also an option of a plan (which decides reuse without running).
    planned: bool = False
    #: ``(parsed, context) -> value`` for a flag whose text is not the value itself (``--dask
    #: ADDRESS`` gives an executor, made by the front end's ``context``).
    from_argument: Callable[[Any, Any], Any] | None = None


def _max_workers(value: Any, graph: Graph) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OptionError("max_workers", value, "an integer >= 1")
    return value


def _timeout(value: Any, graph: Graph) -> float | None:
    if value is None:
        return None
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or value <= 0):
        raise OptionError("timeout", value, "a finite number of seconds > 0, or None")
    return float(value)


def _listeners(value: Any, graph: Graph) -> tuple[Callable[[Any], None], ...]:
    if callable(value) or isinstance(value, (str, bytes)):
        raise OptionError("listeners", value, "an iterable of callables")
    value = tuple(value)
    for listener in value:
        if not callable(listener):
            raise OptionError("listeners", listener, "a callable taking an event")
    return value


def _node_names(option: str) -> Callable[[Any, Graph], tuple[str, ...] | None]:
    def check(names: Any, graph: Graph) -> tuple[str, ...] | None:
        if names is None:
            return None
        if isinstance(names, str):
            raise OptionError(option, names, "a list of node names (not one string)")
        names = tuple(names)
        unknown = [n for n in names if n not in graph]
        if unknown:
            known = ", ".join(map(repr, graph)) or "none"
            raise OptionError(option, unknown[0] if len(unknown) == 1 else unknown,
                              f"names of nodes in the graph ({known})")
        return names

    return check


def _force(value: Any, graph: Graph) -> tuple[str, ...]:
    return _node_names("force")(value, graph) or ()


def executor_option(value: Any) -> Any:
    """``value`` as the run's executor (``OneByOne`` of it if it does not chain), or an
    ``OptionError`` naming the members it lacks."""
    from .execution import CHAIN_MEMBERS, EXECUTOR_MEMBERS, OneByOne, missing_members

    missing = missing_members(value)
    if missing:
        raise OptionError("executor", value,
                          f"an Executor ({', '.join(EXECUTOR_MEMBERS)}, and optionally "
                          f"{' and '.join(CHAIN_MEMBERS)} together; missing: "
                          f"{', '.join(missing)})")
    return OneByOne.wrap(value)


def _executor(value: Any, graph: Graph) -> Any:
    return None if value is None else executor_option(value)


def _cache(value: Any, graph: Graph) -> Any:
    from ..cache import SafeStore, Store

    if not isinstance(value, (bool, Store, SafeStore)):
        raise OptionError("cache", value, "True, False or a cache store")
    return value


def _executor_from_address(address: str, context: Any) -> Any:
    return context.executor_for(address)


OPTIONS: tuple[Option, ...] = (
    Option("max_workers", None, "how many nodes run at once (default: the executor's worker "
           "threads, else 4)", _max_workers, "--max-workers",
           {"type": positive(int), "metavar": "N"}),
    Option("timeout", None, "seconds each node may take; a node's own timeout wins",
           _timeout, "--timeout", {"type": positive(float), "metavar": "SECONDS"}),
    Option("nodes", None, "run only these nodes and what they need (repeatable)",
           _node_names("nodes"), "--node", {"action": "append", "metavar": "NODE"},
           planned=True),
    Option("cache", True, "reuse and store results of unchanged deterministic nodes; "
           "False (--no-cache): neither, nor record the run; or a cache store", _cache,
           "--no-cache", {"action": "store_false"}, planned=True),
    Option("force", (), "run these nodes even if their result is cached (repeatable)", _force,
           "--force", {"action": "append", "metavar": "NODE"}, planned=True),
    Option("executor", None, "what runs each node (default: the session's threads); "
           "--dask ADDRESS: a task each on that Dask scheduler ('local': a LocalCluster of 2 "
           "worker processes)", _executor, "--dask", {"metavar": "ADDRESS"},
           from_argument=_executor_from_address),
    Option("listeners", (), "callables given each event of the run, in its thread",
           _listeners),
)

_BY_NAME = {option.name: option for option in OPTIONS}


class RunOptions:
    """How to run a graph: one value for each row of ``OPTIONS``, read as attributes
    (``options.max_workers``). Build it with ``RunOptions.checked``, which names a bad value."""

    __slots__ = ("_values",)

    def __init__(self, **values: Any) -> None:
        unknown = [name for name in values if name not in _BY_NAME]
        if unknown:
            raise OptionError(unknown[0], values[unknown[0]],
                              f"a run option{did_you_mean(unknown[0], _BY_NAME)} "
                              f"(options: {', '.join(_BY_NAME)})")
        self._values = {o.name: values.get(o.name, o.default) for o in OPTIONS}

    @classmethod
    def checked(cls, graph: Graph, **values: Any) -> RunOptions:
        """The options with each value checked (and normalised) by its row; ``OptionError``
        naming the first bad one and its value."""
        cls(**values)  # unknown names first
        return cls(**{name: _BY_NAME[name].check(value, graph)
                      for name, value in values.items()})

    @classmethod
    def from_arguments(cls, namespace: argparse.Namespace, graph: Graph, *,
                       context: Any = None) -> RunOptions:
        """The options given as command-line arguments (see ``add_arguments``); ``context``
        makes what a flag names (``executor_for(address)`` for ``--dask``)."""
        values = {}
        for option in OPTIONS:
            given = getattr(namespace, option.name, None)
            if option.flag is None or given is None:
                continue
            values[option.name] = (option.from_argument(given, context)
                                   if option.from_argument is not None else given)
        return cls.checked(graph, **values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no run option {name!r}") from None

    def replace(self, **changes: Any) -> RunOptions:
        """A copy with ``changes`` (not checked again: give checked values)."""
        return RunOptions(**{**self._values, **changes})

    def given(self) -> dict[str, Any]:
        """The options that differ from their defaults."""
        return {o.name: self._values[o.name] for o in OPTIONS
                if self._values[o.name] != o.default}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunOptions) and self._values == other._values

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        given = ", ".join(f"{k}={v!r}" for k, v in self.given().items())
        return f"RunOptions({given})"


def add_arguments(parser: Any, *, planned_only: bool = False,
                  names: Iterable[str] | None = None) -> list[Option]:
    """Add the flag of each option (of a plan only, with ``planned_only``) to an argparse
    ``parser`` (or anything with its ``add_argument``); returns the options added. Each flag
    defaults to None, so ``RunOptions.from_arguments`` sees only what was given."""
    added = []
    for option in OPTIONS:
        if option.flag is None or (planned_only and not option.planned):
            continue
        if names is not None and option.name not in names:
            continue
        parser.add_argument(option.flag, dest=option.name, default=None, help=option.help,
                            **option.argument)
        added.append(option)
    return added
