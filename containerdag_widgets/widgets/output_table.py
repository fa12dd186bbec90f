"""OutputTable: an HTML table of node outputs that re-renders whenever ``outputs`` changes."""

from __future__ import annotations

from typing import Any

import ipywidgets as W
from traitlets import Dict, dlink, observe

from .html import esc, value_text

__all__ = ["OutputTable"]


class OutputTable(W.HTML):
    """Rows of node, output port and value; bind ``outputs`` to a ``GraphWidget``'s."""

    outputs = Dict(help="node -> outputs; the table re-renders when it changes (kernel-side)")
    status = Dict(help="node -> status, shown beside each node's outputs (kernel-side)")

    def __init__(self, source: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_class("cdw-output-table")
        if source is not None:  # a GraphWidget, or anything with outputs/status traits
            dlink((source, "outputs"), (self, "outputs"))
            if "status" in getattr(source, "trait_names", lambda: [])():
                dlink((source, "status"), (self, "status"))
        self._render()

    @observe("outputs", "status")
    def _changed(self, _change: dict) -> None:
        self._render()

    def _render(self) -> None:
        nodes = list(dict.fromkeys([*self.status, *self.outputs]))
        if not nodes:
            self.value = '<div class="cdw-empty"><i>No outputs yet.</i></div>'
            return
        rows = []
        for node in nodes:
            status = self.status.get(node, "")
            ports = self.outputs.get(node) or {}
            if not ports:
                rows.append(f'<tr data-node="{esc(node)}"><td>{esc(node)}</td>'
                            f'<td class="cdw-status-{esc(status)}">{esc(status)}</td>'
                            "<td></td><td></td></tr>")
            for port, value in ports.items():
                rows.append(f'<tr data-node="{esc(node)}"><td>{esc(node)}</td>'
                            f'<td class="cdw-status-{esc(status)}">{esc(status)}</td>'
                            f"<td>{esc(port)}</td>"
                            f'<td class="cdw-value">{esc(value_text(value))}</td></tr>')
        self.value = (
            '<table class="cdw-table" style="border-collapse:collapse">'
            "<thead><tr><th>node</th><th>status</th><th>output</th><th>value</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
