"""YAML in, with its positions kept: parse safely, and locate a node's fields in the text.

``load_yaml`` refuses what YAML would accept silently but is almost always a slip (a key
written twice) or an attack (an alias bomb). ``NodeSource`` answers "which line is field
``inputs.x`` of this node on?", so problems carry their line as data and nobody parses it
back out of a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import SpecError

__all__ = ["load_yaml", "layout_section", "NodeSource", "LAYOUT_KEY", "MAX_YAML_NODES"]

#: The top-level key of a graph file's canvas positions (``layout_section``).
LAYOUT_KEY = "layout"

#: More YAML nodes than this (after expanding aliases) is refused: a bomb, not a graph.
MAX_YAML_NODES = 200_000


@dataclass(frozen=True)
class NodeSource:
    """Where one graph node is written: its mapping in the composed YAML, and its key's line."""

    mapping: yaml.Node | None
    line: int = 1
    column: int = 1

    def locate(self, field: str | None, kind: str | None = None) -> tuple[int, int]:
        """The (line, column) of ``field`` (``process``, ``inputs.x``, ...), 1-based.

        A missing input points at the ``process:`` line that requires it; a reference's
        unknown node or output points at its ``from``/``output`` value.
        """
        if not field:
            return self.line, self.column
        top, _, port = field.partition(".")
        top_item = _item(self.mapping, top)
        if top_item is None:
            fallback = _item(self.mapping, "process") if top == "inputs" else None
            return _mark(fallback[0]) if fallback else (self.line, self.column)
        key, value = top_item
        port_item = _item(value, port) if port else None
        if port_item is None:
            return _mark(key)
        port_key, port_value = port_item
        sub = {"unknown_node": "from", "unknown_output": "output"}.get(kind or "")
        ref_item = _item(port_value, sub) if sub else None
        return _mark(ref_item[1] if ref_item else port_key)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _item(mapping: yaml.Node | None, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    """The (key, value) nodes of ``key`` in a composed YAML mapping."""
    if isinstance(mapping, yaml.MappingNode):
        for k, v in mapping.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k, v
    return None


def load_yaml(text: str, *, graph: bool = False) -> tuple[Any, yaml.Node | None]:
    """Parse YAML safely; return the data and the composed root node (None if empty).

    With ``graph`` the top-level keys are node names, so a problem's path starts with its node.

    Raises ``SpecError`` with the line for a syntax error, a key written twice in one mapping
    (YAML would keep the last one silently), or a document that expands past
    ``MAX_YAML_NODES`` nodes.
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_tree(root, graph)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        raise SpecError(f"YAML error: {exc.problem or exc}", line=line, column=column) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    return data, root


def layout_section(data: Mapping[Any, Any]) -> dict[str, dict[str, float]] | None:
    """The canvas positions of a graph file: its top-level ``layout:`` when that maps node
    names to ``{x: number, y: number}`` (node -> ``{"x", "y"}``); None when there is none,
    or when ``layout`` is anything else (a node of that name: its spec has a ``process``)."""
    section = data.get(LAYOUT_KEY)
    if not isinstance(section, Mapping) or not section:
        return None
    out = {}
    for name, place in section.items():
        if not (isinstance(place, Mapping) and set(place) == {"x", "y"}
                and all(isinstance(place[k], (int, float)) and not isinstance(place[k], bool)
                        for k in ("x", "y"))):
            return None
        out[str(name)] = {"x": float(place["x"]), "y": float(place["y"])}
    return out


def _check_tree(root: yaml.Node, graph: bool) -> None:
    """Refuse duplicate keys and alias bombs, walking the composed tree once per node visit."""
    visits = 0
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        visits += 1
        if visits > MAX_YAML_NODES:
            raise SpecError(f"the YAML expands to more than {MAX_YAML_NODES} nodes "
                            "(aliases repeated?); refused", line=_mark(root)[0])
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                name = str(key.value)
                line = _mark(key)[0]
                if name in seen:
                    raise _duplicate(path + (name,), seen[name], line, _mark(key)[1], graph)
                seen[name] = line
                stack.append((value, path + (name,)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, path) for item in node.value)


def _duplicate(path: tuple[str, ...], first: int, line: int, column: int,
               graph: bool) -> SpecError:
    """A key written twice; in a graph file the path's head is the node."""
    key = path[-1]
    if graph and len(path) == 1:
        detail = f"node {key!r} is written twice (lines {first} and {line})"
        return SpecError(detail, field=None, value=key, line=line, column=column)
    detail = f"{key!r} is written twice (lines {first} and {line}); YAML would keep the last"
    node, rest = (path[0], path[1:]) if graph else (None, path)
    return SpecError(detail, node=node, field=".".join(rest), value=key, line=line,
                     column=column)
