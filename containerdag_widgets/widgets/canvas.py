"""The Cytoscape view both widgets draw on: ipycytoscape's widget, with its rough edges handled.

This is the one module that knows ipycytoscape's internals (``tests/widgets/test_canvas.py``
checks the ones it relies on, and pyproject pins ipycytoscape below 1.4):

- ipycytoscape makes a widget (a comm, a model in the page, a view) for every node and edge:
  a 2,000-node graph opened 5,827 comms and took seconds to draw. ``CanvasPane.draw`` sends
  every element as plain data in one message of the ``CanvasHelper``, which adds them to the
  view's Cytoscape instance in one batch and lays them out; status changes travel as one
  ``classes`` map. The ipycytoscape graph model stays empty; the view, its stylesheet, zoom
  settings and click events (``Canvas.on``) are ipycytoscape's.
- ``CytoscapeWidget.__init__`` opens the comm with a default graph model and then replaces it.
  A page that renders the view before that replacement arrives stays bound to the empty first
  graph. ``Canvas`` opens with the graph model it keeps.
- Cytoscape cannot read CSS variables, scroll-hijacks the page with the mouse wheel, and draws
  straight edges through nodes that lie between their ends. The helper (see ``canvas_js.py``)
  fixes these in the page and takes commands (fit, centre on a node) from the kernel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import anywidget
import ipycytoscape
import ipywidgets as W
from ipywidgets import DOMWidget
from traitlets import Bool, Dict, Float, Int, List, Unicode

from .canvas_js import CANVAS_CSS, CANVAS_ESM
from .closing import close_tree
from .style import ACCENT, WIDGET_CSS

__all__ = ["Canvas", "CanvasHelper", "CanvasPane", "OVERLAY_STYLE", "resolve_fallbacks"]

#: Rules for the classes the page adds over the kernel's (``canvas_js.decorate``): the
#: selected node's lineage (its upstream and downstream), the rest dimmed; the nodes the
#: legend's filter leaves out; a connection dragged from a node (``canvas_js.linking``).
OVERLAY_STYLE = [
    {"selector": "node.cdw-dim", "style": {"opacity": 0.28}},
    {"selector": "edge.cdw-dim", "style": {"opacity": 0.12}},
    {"selector": "edge.cdw-lineage", "style": {
        "line-color": ACCENT, "target-arrow-color": ACCENT, "width": 2.5}},
    {"selector": "node.cdw-filtered", "style": {"display": "none"}},
    # Shift+drag from a node: the nodes it may feed, and the line to the pointer.
    {"selector": "node.cdw-target", "style": {
        "border-width": 4, "border-style": "solid", "border-color": "#2e7d32"}},
    {"selector": "node.cdw-not-target", "style": {"opacity": 0.3}},
    {"selector": "node.cdw-ghost", "style": {"opacity": 0, "events": "no"}},
    {"selector": "edge.cdw-ghost", "style": {
        "line-style": "dashed", "line-color": ACCENT, "target-arrow-color": ACCENT,
        "width": 2, "events": "no"}},
]

_VAR = re.compile(r"var\(\s*--[\w-]+\s*,\s*([^()]*(?:\([^()]*\))?[^()]*)\)")


def resolve_fallbacks(stylesheet: list[dict]) -> list[dict]:
    """The stylesheet with each ``var(--name, fallback)`` replaced by its fallback (what
    Cytoscape gets before the helper, which resolves the variables in the page, is there)."""
    def value(v: Any) -> Any:
        return _VAR.sub(lambda m: m.group(1).strip(), v) if isinstance(v, str) else v

    return [{"selector": rule["selector"],
             "style": {k: value(v) for k, v in rule["style"].items()}} for rule in stylesheet]


class Canvas(ipycytoscape.CytoscapeWidget):
    """A ``CytoscapeWidget`` whose ``graph`` model never changes after the comm is open (and
    stays empty: the elements come through the pane's helper)."""

    def __init__(self, **kwargs: Any):
        DOMWidget.__init__(self, graph=ipycytoscape.Graph(), **kwargs)
        self.on_msg(self._handle_interaction)


class CanvasHelper(anywidget.AnyWidget):
    """The page-side companion of a ``Canvas`` in the same ``CanvasPane``.

    Resolves the stylesheet's ``var(--jp-..., fallback)`` values from the page's theme (and
    again when the theme changes), zooms with the mouse wheel only while the canvas has focus,
    keeps a large graph readable after its layout, bends edges around nodes, and runs the
    kernel's commands.
    """

    _esm = CANVAS_ESM
    _css = CANVAS_CSS + WIDGET_CSS
    stylesheet = List(help="the Cytoscape stylesheet, with var(--jp-name, fallback) colours "
                           "resolved in the page").tag(sync=True)
    readable_zoom = Float(0.6, help="after a layout, zoom in to at least this (and show the "
                                    "top of the graph) when fitting would draw smaller").tag(
        sync=True)
    wheel = Unicode("focus", help="mouse-wheel zoom: 'focus' (only while the canvas has focus), "
                                  "'always' or 'never'").tag(sync=True)

    elements = List(help="every element drawn, as Cytoscape JSON: group, data, classes and "
                         "(for a preset layout) position").tag(sync=True)
    classes = Dict(help="element id -> its classes now (status colours, selection); applied "
                        "over the drawing").tag(sync=True)
    data = Dict(help="element id -> data changed since the drawing (a group's counts)").tag(
        sync=True)
    layout_options = Dict(help="the Cytoscape layout of a drawing: run on every node for the "
                               "first drawing, a fresh one and Re-layout; after that (unless "
                               "'preset') only new nodes are placed, near their neighbours"
                          ).tag(sync=True)
    positions = Dict(help="node id -> {x, y}: where each node stands; the page writes it after a "
                          "layout, a placement or a drag, and keeps it across drawings").tag(
        sync=True)
    fresh = Bool(False, help="lay the current drawing out afresh (a new view: focus, groups), "
                             "not from positions").tag(sync=True)
    revision = Int(0, help="counts drawings: the page redraws and lays out when it changes, "
                           "even for equal elements").tag(sync=True)

    def command(self, name: str, **args: Any) -> None:
        """Send a command to the page: ``fit``, ``relayout``, ``png``, or ``center`` with
        ``id`` (and ``zoom``, the least zoom to show it at)."""
        self.send({"cmd": name, **args})


class CanvasPane(W.Box):
    """A ``Canvas`` and its ``CanvasHelper``: what the widgets put on the page."""

    def __init__(self, stylesheet: list[dict], *, height: str, max_zoom: float = 1.5,
                 min_zoom: float = 0.05, **layout: Any):
        self.canvas = Canvas(max_zoom=max_zoom, min_zoom=min_zoom,
                             layout=W.Layout(height=height, width="100%", min_width="0"))
        self.canvas.set_style(resolve_fallbacks(stylesheet))
        self.helper = CanvasHelper(stylesheet=[*stylesheet, *OVERLAY_STYLE],
                                   layout=W.Layout(height="0px", width="0px"))
        super().__init__([self.helper, self.canvas], **layout)
        self.add_class("cdw-canvas-host")
        self._nodes: dict[str, dict] = {}
        self._edges: list[dict] = []

    def set_layout(self, **options: Any) -> None:
        """The Cytoscape layout (``name`` and its options) run after each drawing."""
        self.canvas.set_layout(**options)
        self.helper.layout_options = dict(self.canvas.cytoscape_layout)

    def draw(self, nodes: Iterable[dict], edges: Iterable[dict], *, fresh: bool = False) -> None:
        """Replace every element (each ``{"data": {...}, "classes": "..."}``, a node may have a
        ``position``): the page removes the old ones and adds these, in one message. Nodes
        keep their ``positions`` and new ones are placed near their neighbours; the first
        drawing, and one that is ``fresh``, is laid out whole. Ids must be unique among
        nodes and edges; edges must join given nodes."""
        self._nodes = {n["data"]["id"]: {"group": "nodes", "classes": "", **n} for n in nodes}
        self._edges = [{"group": "edges", "classes": "", **e} for e in edges]
        with self.helper.hold_sync():
            self.helper.elements = [*self._nodes.values(), *self._edges]
            self.helper.classes = {i: n["classes"] for i, n in self._nodes.items()}
            self.helper.data = {}
            self.helper.fresh = fresh
            self.helper.revision += 1

    def update(self, classes: dict[str, str] | None = None,
               data: dict[str, dict] | None = None) -> None:
        """New classes and data for drawn nodes (ids not drawn are ignored): one message."""
        now = self.helper.classes
        classes = {i: c for i, c in (classes or {}).items()
                   if i in self._nodes and now.get(i) != c}
        data = {i: d for i, d in (data or {}).items() if i in self._nodes}
        if not classes and not data:
            return
        with self.helper.hold_sync():
            if classes:
                self.helper.classes = {**self.helper.classes, **classes}
            if data:
                self.helper.data = {**self.helper.data, **data}

    @property
    def nodes(self) -> dict[str, dict]:
        """id -> the node as the page shows it now: ``data`` (with later changes) and
        ``classes``."""
        classes, data = self.helper.classes, self.helper.data
        return {i: {**n, "data": {**n["data"], **data.get(i, {})},
                    "classes": classes.get(i, n["classes"])} for i, n in self._nodes.items()}

    @property
    def edges(self) -> list[dict]:
        """The edges drawn (Cytoscape JSON)."""
        return list(self._edges)

    def close(self) -> None:
        """Close this pane and every widget it opened (canvas, graph model, helper, layouts)."""
        close_tree(self)

    def set_stylesheet(self, stylesheet: list[dict]) -> None:
        """A new stylesheet: the helper applies it resolved; the canvas keeps the fallbacks for
        a page without the helper. (Not ``set_style`` alone: that loses the theme.)"""
        self.helper.stylesheet = [*stylesheet, *OVERLAY_STYLE]
        self.canvas.cytoscape_style = resolve_fallbacks(stylesheet)

    def fit(self) -> None:
        """Show the whole graph (below the readable zoom if need be)."""
        self.helper.command("fit")

    def center(self, node_id: str, *, zoom: float | None = None) -> None:
        """Centre the view on a node, at a readable zoom (at least ``zoom`` if given)."""
        self.helper.command("center", id=node_id, **({} if zoom is None else {"zoom": zoom}))

    def relayout(self) -> None:
        """Lay every node out afresh (forgetting where they stood and were dragged) and fit."""
        self.helper.command("relayout")

    @property
    def positions(self) -> dict[str, dict[str, float]]:
        """Node id -> ``{"x": ..., "y": ...}``, as the page last laid out or the user dragged."""
        return dict(self.helper.positions)

    @positions.setter
    def positions(self, positions: dict[str, dict[str, float]]) -> None:
        self.helper.positions = {str(i): {"x": float(p["x"]), "y": float(p["y"])}
                                 for i, p in positions.items()}

    def rename(self, old: str, new: str) -> None:
        """Node ``old`` is drawn as ``new`` from now on: it keeps its place."""
        now = self.helper.positions
        if old in now and new not in now:
            self.helper.positions = {new if i == old else i: p for i, p in now.items()}
