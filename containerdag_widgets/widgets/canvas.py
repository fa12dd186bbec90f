"""The Cytoscape view both widgets draw on: ipycytoscape's widget, opened with its final graph.

``CytoscapeWidget.__init__`` opens the comm with a default graph model and then replaces it.
A page that renders the view before that replacement arrives stays bound to the empty first
graph (the view listens to the graph model it saw at render time), so the canvas stays blank.
Opening with the graph model that will be used closes that race.
"""

from __future__ import annotations

from typing import Any

import ipycytoscape
from ipywidgets import DOMWidget

__all__ = ["Canvas"]


class Canvas(ipycytoscape.CytoscapeWidget):
    """A ``CytoscapeWidget`` whose ``graph`` never changes after the comm is open."""

    def __init__(self, **kwargs: Any):
        DOMWidget.__init__(self, graph=ipycytoscape.Graph(), **kwargs)
        self.on_msg(self._handle_interaction)
