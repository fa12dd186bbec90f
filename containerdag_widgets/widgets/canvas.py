"""The Cytoscape view both widgets draw on: ipycytoscape's widget, with its rough edges handled.

This is the one module that knows ipycytoscape's internals (``tests/widgets/test_canvas.py``
checks the ones it relies on, and pyproject pins ipycytoscape below 1.4):

- ``CytoscapeWidget.__init__`` opens the comm with a default graph model and then replaces it.
  A page that renders the view before that replacement arrives stays bound to the empty first
  graph, so the canvas stays blank. ``Canvas`` opens with the graph model it keeps.
- The page updates its element list with ``ViewList.update``: it adds the elements of the new
  list at once but removes the old ones a moment later (in a promise callback). Replacing
  ``a, b`` by ``a, b, c`` in one message therefore adds ``a`` while the old ``a`` is still
  there ("Can not create second element with ID 'a'"), and the late removal then deletes the
  only ``a``: the canvas showed ``c`` alone. ``Canvas.draw`` sends an empty list first, then
  the new one; the page handles one model's messages in order and runs the removals before it
  reads the second message. The old element widgets are closed one drawing later, when the
  page no longer holds views of them.
- Cytoscape cannot read CSS variables, scroll-hijacks the page with the mouse wheel, and draws
  straight edges through nodes that lie between their ends. ``CanvasHelper`` (an anywidget
  beside the view, see ``canvas_js.py``) fixes these in the page and takes commands (fit,
  centre on a node) from the kernel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import anywidget
import ipycytoscape
import ipywidgets as W
from ipywidgets import DOMWidget
from traitlets import Float, List, Unicode

from .canvas_js import CANVAS_CSS, CANVAS_ESM
from .style import WIDGET_CSS

__all__ = ["Canvas", "CanvasHelper", "CanvasPane", "resolve_fallbacks"]

_VAR = re.compile(r"var\(\s*--[\w-]+\s*,\s*([^()]*(?:\([^()]*\))?[^()]*)\)")


def resolve_fallbacks(stylesheet: list[dict]) -> list[dict]:
    """The stylesheet with each ``var(--name, fallback)`` replaced by its fallback (what
    Cytoscape gets before the helper, which resolves the variables in the page, is there)."""
    def value(v: Any) -> Any:
        return _VAR.sub(lambda m: m.group(1).strip(), v) if isinstance(v, str) else v

    return [{"selector": rule["selector"],
             "style": {k: value(v) for k, v in rule["style"].items()}} for rule in stylesheet]


class Canvas(ipycytoscape.CytoscapeWidget):
    """A ``CytoscapeWidget`` whose ``graph`` never changes after the comm is open, and whose
    elements are replaced with ``draw``."""

    def __init__(self, **kwargs: Any):
        DOMWidget.__init__(self, graph=ipycytoscape.Graph(), **kwargs)
        self.on_msg(self._handle_interaction)
        self._retired: list[W.Widget] = []

    def draw(self, nodes: Iterable[ipycytoscape.Node], edges: Iterable[ipycytoscape.Edge]
             ) -> None:
        """Replace every element: the page removes the old ones, then adds and lays out these.

        Element ids must be unique among ``nodes`` and ``edges``; edges must join given nodes.
        """
        graph = self.graph
        old = [*graph.nodes, *graph.edges]
        if old:
            with graph.hold_sync():  # message 1: nothing (the page removes the old elements)
                graph.clear()
        # Message 2: nodes and edges together (a layout of nodes without their edges put
        # every node on one rank).
        with graph.hold_sync():
            graph.add_nodes(list(nodes))
            graph.add_edges(list(edges), directed=True, multiple_edges=True)
        for widget in self._retired:  # removed from the page one drawing ago
            widget.close()
        self._retired = old

    def close(self) -> None:
        for widget in [*self._retired, *self.graph.nodes, *self.graph.edges]:
            widget.close()
        self._retired = []
        super().close()


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

    def command(self, name: str, **args: Any) -> None:
        """Send a command to the page: ``fit``, or ``center`` with ``id``."""
        self.send({"cmd": name, **args})


class CanvasPane(W.Box):
    """A ``Canvas`` and its ``CanvasHelper``: what the widgets put on the page."""

    def __init__(self, stylesheet: list[dict], *, height: str, max_zoom: float = 1.5,
                 min_zoom: float = 0.05, **layout: Any):
        self.canvas = Canvas(max_zoom=max_zoom, min_zoom=min_zoom,
                             layout=W.Layout(height=height, width="100%", min_width="0"))
        self.canvas.set_style(resolve_fallbacks(stylesheet))
        self.helper = CanvasHelper(stylesheet=stylesheet,
                                   layout=W.Layout(height="0px", width="0px"))
        super().__init__([self.helper, self.canvas], **layout)
        self.add_class("cdw-canvas-host")

    def set_stylesheet(self, stylesheet: list[dict]) -> None:
        """A new stylesheet: the helper applies it resolved; the canvas keeps the fallbacks for
        a page without the helper. (Not ``set_style`` alone: that loses the theme.)"""
        self.helper.stylesheet = stylesheet
        self.canvas.cytoscape_style = resolve_fallbacks(stylesheet)

    def fit(self) -> None:
        """Show the whole graph (below the readable zoom if need be)."""
        self.helper.command("fit")

    def center(self, node_id: str) -> None:
        """Centre the view on a node, at a readable zoom."""
        self.helper.command("center", id=node_id)
