"""OutputTable: an HTML table of node outputs that re-renders whenever ``outputs`` changes."""

from __future__ import annotations

from typing import Any

import ipywidgets as W
from traitlets import Dict, dlink, observe

from .html import TABLE_STYLE, cell, esc, value_text
from .inspector import status_badge

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
            badge = status_badge(status) if status else ""
            ports = list((self.outputs.get(node) or {}).items()) or [("", None)]
            for port, value in ports:
                shown = cell(esc(value_text(value)), "cdw-value") if port else cell("")
                rows.append(f'<tr data-node="{esc(node)}">{cell(esc(node))}'
                            f'{cell(badge, f"cdw-status-{esc(status)}")}'
                            f"{cell(esc(port))}{shown}</tr>")
        head = "".join(cell(h, tag="head") for h in ("node", "status", "output", "value"))
        self.value = (f'<table class="cdw-table" style="{TABLE_STYLE}"><thead><tr>{head}</tr>'
                      f"</thead><tbody>{''.join(rows)}</tbody></table>")
