"""What the canvas shows of a graph: every node, similar nodes collapsed into groups, or a focus.

Pure functions over a ``Graph`` and the nodes' statuses, so the large-graph rules are tested
without a page. A group is drawn as one box: its name, how many nodes it holds, a count per
status, and a status bar (a gradient with hard stops, one segment per status).
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model.graph import Graph
from ..model.status import STATUSES, SUCCESS
from .style import STATUS_COLORS, label_size

__all__ = ["View", "prefix_group", "build_view", "group_data", "neighbourhood"]

GROUP_PREFIX = "group: "
_TRAILING_NUMBER = re.compile(r"^(.*?)[\s_\-.:#/]*\d+$")


def prefix_group(name: str) -> str | None:
    """The group of a node named like ``sweep 17``, ``sweep_017`` or ``n42``: its name without
    the trailing number (``sweep``, ``n``); None for a name without one."""
    m = _TRAILING_NUMBER.match(name)
    return m.group(1) if m and m.group(1) else None


@dataclass
class View:
    """The elements to draw: ``nodes`` (id -> data), ``edges`` (data), and for each drawn id
    the graph nodes it stands for (a group stands for its members)."""

    nodes: dict[str, dict] = field(default_factory=dict)
    edges: list[dict] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)
    #: graph node -> the drawn id that shows it (absent: not shown, e.g. outside the focus).
    shown_as: dict[str, str] = field(default_factory=dict)
    #: drawn group id -> the graph nodes it stands for (the groups among ``members``).
    groups: dict[str, list[str]] = field(default_factory=dict)
    #: drawn element id -> (its scattered node, its index): an expanded node's elements.
    elements: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: expanded scattered node -> its elements' drawn ids, in order.
    expanded: dict[str, list[str]] = field(default_factory=dict)

    def classes(self, shown: str, status: Mapping[str, str], stale: Collection[str] = (),
                selected: str = "", invalid: Collection[str] = (),
                elements: Mapping[str, list[Mapping[str, Any]]] | None = None,
                element: int = -1) -> str:
        """The canvas classes of drawn id ``shown``: its status (a group's most telling one,
        an element's own from ``elements``), ``stale`` for a node whose last result an edit
        made out of date, ``invalid`` for one validation finds wrong (a group holding one),
        ``cdw-selected`` (an element: when it is the ``element`` shown of the selected node)."""
        if shown in self.elements:
            node, index = self.elements[shown]
            found = (elements or {}).get(node) or []
            cls = "element " + (found[index].get("status", "pending")
                                if index < len(found) and found[index] else "pending")
            return cls + (" cdw-selected" if selected == node and element == index else "")
        if shown in self.groups:
            states = {status.get(m, "pending") for m in self.groups[shown]}
            main = next((s for s in ("running", "failed", "cancelled", "pending", "skipped",
                                     "cached") if s in states), "done")
            cls = f"group {main}"
            if any(m in invalid for m in self.groups[shown]):
                cls += " invalid"
        else:
            cls = status.get(shown, "pending")
            if cls == "running" and self.nodes.get(shown, {}).get("bar_colors"):
                cls += " scatter-bar"  # its elements' progress, as a bar of their statuses
            if shown in stale and (cls == "pending" or cls in SUCCESS):
                cls += " stale"
            if shown in invalid:
                cls += " invalid"
        if selected and self.shown_as.get(selected) == shown:
            cls += " cdw-selected"
        return cls


def neighbourhood(graph: Graph, centre: str, hops: int) -> set[str]:
    """``centre`` and the nodes at most ``hops`` edges away from it, in either direction."""
    links: dict[str, set[str]] = {n: set() for n in graph}
    for up, _, down, _ in graph.edges:
        if up in links:
            links[up].add(down)
            links[down].add(up)
    seen = {centre: 0}
    todo = deque([centre])
    while todo:
        current = todo.popleft()
        if seen[current] >= hops:
            continue
        for nxt in links[current]:
            if nxt not in seen:
                seen[nxt] = seen[current] + 1
                todo.append(nxt)
    return set(seen)


def node_data(graph: Graph, name: str,
              elements: list[Mapping[str, Any]] | None = None) -> dict:
    """A node's box: its name and process; a scattered node's also its elements' counts by
    status and a bar of them (as a group box has), from ``elements`` when a run gave them."""
    node = graph[name]
    label = name if node.process == name else f"{name}\n{node.process}"  # never "x / x"
    if not node.scatter:
        return {"id": name, "label": label, "process": node.process, **label_size(label)}
    counts = Counter(e.get("status", "pending") for e in elements or [])
    total = sum(counts.values())
    line = " \u00b7 ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
    label = (f"{name} \u00d7{total or '?'}" + ("" if node.process == name else
                                                 f"\n{node.process}")
             + (f"\n{line}" if line else ""))
    size = label_size(label, pad=28.0)
    return {"id": name, "label": label, "process": node.process, "scatter": True,
            "count": total, "counts": dict(counts), **_bar(counts, total),
            "w": max(size["w"], 150.0), "h": size["h"] + 8}


def _bar(counts: Mapping[str, int], total: int) -> dict[str, str]:
    """A box's status bar: colour stops in proportion to the counts."""
    colors, stops, at = [], [], 0.0
    for s in STATUSES:
        if counts.get(s):
            end = at + 100.0 * counts[s] / total
            colors += [STATUS_COLORS[s]] * 2
            stops += [f"{at:.1f}%", f"{end:.1f}%"]
            at = end
    return {"bar_colors": " ".join(colors), "bar_stops": " ".join(stops)}


def group_data(group_id: str, members: list[str], status: Mapping[str, str]) -> dict:
    """The data of a group box: label with counts, and its status bar."""
    counts = Counter(status.get(m, "pending") for m in members)
    total = len(members)
    name = group_id[len(GROUP_PREFIX):]
    parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
    label = f"{name} \u00d7{total}\n" + " \u00b7 ".join(parts)
    size = label_size(label, pad=28.0)
    return {"id": group_id, "label": label, "group": name, "count": total,
            "counts": dict(counts), **_bar(counts, total), "w": max(size["w"], 150.0),
            "h": size["h"] + 8}


def element_data(element_id: str, node: str, index: int,
                 element: Mapping[str, Any] | None) -> dict:
    """An element's box: the node's name and the element's index and label."""
    label = f"{node} [{index}]" + (f"\n{element['label']}" if element and element.get("label")
                                   else "")
    return {"id": element_id, "label": label, "element_of": node, "index": index,
            **label_size(label)}


#: At most this many elements of one node are drawn when it is expanded (the rest: its box).
MAX_EXPANDED = 300


def build_view(graph: Graph, status: Mapping[str, str], *,
               group_by: Callable[[str], str | None] | None = None, min_group: int = 5,
               focus: str | None = None, hops: int = 2, expanded: Collection[str] = (),
               elements: Mapping[str, list[Mapping[str, Any]]] | None = None) -> View:
    """The view of ``graph``: with ``focus``, that node and its ``hops`` neighbourhood only;
    else with ``group_by``, nodes sharing a group (at least ``min_group``) as one box."""
    view = View()
    names = list(graph)
    if focus is not None and focus in graph:
        keep = neighbourhood(graph, focus, hops)
        names = [n for n in names if n in keep]
        group_by = None
    groups: dict[str, list[str]] = {}
    if group_by is not None:
        for n in names:
            g = group_by(n)
            if g is not None:
                groups.setdefault(g, []).append(n)
        groups = {g: m for g, m in groups.items() if len(m) >= min_group}
    for n in names:
        view.shown_as[n] = n
    for g, members in groups.items():
        gid = GROUP_PREFIX + g
        while gid in graph:  # never the id of a real node
            gid += "\u2009"
        for m in members:
            view.shown_as[m] = gid
        view.members[gid] = view.groups[gid] = members
    for n in names:
        found = (elements or {}).get(n) or []
        if n in expanded and view.shown_as[n] == n and graph[n].scatter and found:
            ids = []  # the node drawn as its elements (the first MAX_EXPANDED)
            for i, element in enumerate(found[:MAX_EXPANDED]):
                eid = f"{n} [{i}]"
                while eid in graph:  # never the id of a real node
                    eid += "\u2009"
                view.nodes[eid] = element_data(eid, n, i, element)
                view.elements[eid] = (n, i)
                view.members[eid] = [n]
                ids.append(eid)
            view.expanded[n] = ids
            view.shown_as[n] = ids[0]
    for n in names:
        shown = view.shown_as[n]
        if n in view.expanded:
            continue
        if shown == n:
            view.nodes[n] = node_data(graph, n, (elements or {}).get(n))
            view.members[n] = [n]
        elif shown not in view.nodes:
            view.nodes[shown] = group_data(shown, view.members[shown], status)
    merged: dict[tuple[str, str], list[str]] = {}
    for up, out, down, port in graph.edges:
        ups = view.expanded.get(up) or [view.shown_as.get(up)]
        downs = view.expanded.get(down) or [view.shown_as.get(down)]
        if len(ups) == len(downs) > 1:  # two expanded scatters, element by element
            pairs: Any = zip(ups, downs, strict=True)
        else:
            pairs = ((a, b) for a in ups for b in downs)
        for a, b in pairs:
            if a is None or b is None or a == b:
                continue
            merged.setdefault((a, b), []).append(f"{out} -> {port}")
    for (a, b), labels in merged.items():
        label = "\n".join(labels) if len(labels) <= 3 else f"{len(labels)} links"
        view.edges.append({"id": f"{a}\u2192{b}", "source": a, "target": b, "label": label})
    return view
