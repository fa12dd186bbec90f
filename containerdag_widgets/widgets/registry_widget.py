"""RegistryWidget: images as compound nodes holding their processes; click one to read it.

CWL tools (``Registry.add_cwl``) are a group of their own, whatever their images; a tool's
panel shows its documentation (``doc``) and its hints besides its image and requirements.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as W
from traitlets import Unicode, observe

from ..model.errors import DescriptionError
from ..processes.cwl import CwlProcess
from ..processes.registry import Registry
from .canvas import CanvasPane
from .closing import close_tree
from .html import esc, ports_table, pre, section
from .style import CHAR_PX, label_size, registry_stylesheet

__all__ = ["RegistryWidget"]

PYTHON_GROUP = "python"
#: The group of the CWL tools (their sources are ``cwl:<image>``).
CWL_GROUP = "cwl"
CWL_PREFIX = "cwl:"


def shelf_layout(groups: dict[str, tuple[str, list[str]]], width: float = 760.0,
                 gap: float = 36.0) -> dict[str, dict[str, float]]:
    """Positions of the processes: each group a grid of its processes (at most 4 a row) with
    room above for its title; groups left to right, wrapping at ``width``, never overlapping.
    """
    positions: dict[str, dict[str, float]] = {}
    x = y = row_height = 0.0
    for label, names in groups.values():
        cell_w = max(label_size(n)["w"] for n in names) + 18.0
        cols = min(4, max(1, round(len(names) ** 0.5 + 0.49)))
        rows = -(-len(names) // cols)
        box_w = max(cols * cell_w, len(label) * CHAR_PX * 1.1 + 20.0)
        box_h = rows * 48.0 + 26.0  # + the title's band
        if x > 0 and x + box_w > width:
            x, y, row_height = 0.0, y + row_height + gap, 0.0
        left = x + (box_w - cols * cell_w) / 2
        for i, name in enumerate(names):
            positions[name] = {"x": round(left + (i % cols + 0.5) * cell_w, 1),
                               "y": round(y + 26.0 + (i // cols + 0.5) * 48.0, 1)}
        x += box_w + gap
        row_height = max(row_height, box_h)
    return positions


class RegistryWidget(W.VBox):
    """The processes of a registry, grouped by image, with a filter and a Refresh button."""

    selected = Unicode("", help="the process shown in the panel (\"\" for none)").tag(sync=True)
    filter = Unicode("", help="text that process names or descriptions must contain to be "
                              "shown").tag(sync=True)

    def __init__(self, registry: Registry, *, height: str = "380px", **kwargs: Any):
        self.registry = registry
        self.pane = CanvasPane(registry_stylesheet(), height=height, max_zoom=1.2,
                               layout=W.Layout(width="60%", flex="0 0 60%", min_width="0"))
        self.pane.helper.readable_zoom = 0.5
        self.cytoscape = self.pane.canvas
        # Positions come from shelf_layout (groups in rows, titles inside the box above their
        # processes): cola and cose let group titles overlap and cut groups off.
        self.pane.set_layout(name="preset", animate=False, fit=True, padding=16)
        self.cytoscape.on("node", "click", self._on_click)
        self.refresh_button = W.Button(description="Refresh", icon="refresh",
                                       tooltip="Discover the images again")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.filter_box = W.Text(placeholder="filter processes", continuous_update=True,
                                 layout=W.Layout(width="240px"))
        W.link((self.filter_box, "value"), (self, "filter"))
        self.summary = W.Label("")
        self.summary.add_class("cdw-registry-summary")
        self.panel = W.HTML(layout=W.Layout(width="40%", flex="0 0 40%", overflow="auto",
                                            max_height=height, padding="0 0 0 8px"))
        self.panel.add_class("cdw-process-panel")
        toolbar = W.HBox([self.refresh_button, self.filter_box, self.summary])
        body = W.HBox([self.pane, self.panel], layout=W.Layout(width="100%"))
        super().__init__([toolbar, body], **kwargs)
        self.add_class("cdw-registry-widget")
        self._draw()

    def refresh(self) -> None:
        """Run discovery again and redraw."""
        self.registry.refresh()
        self._draw()

    def visible_processes(self) -> list[str]:
        """Names of the processes the filter lets through."""
        needle = self.filter.strip().lower()
        return [name for name, p in self.registry.processes.items()
                if not needle or needle in name.lower() or needle in p.description.lower()]

    @observe("filter")
    def _filter_changed(self, _change: dict) -> None:
        self._draw()

    def _draw(self) -> None:
        shown = set(self.visible_processes())
        groups: dict[str, tuple[str, list[str]]] = {}
        for source, procs in self.registry.by_source().items():
            names = [p.name for p in procs if p.name in shown]
            if not names:
                continue
            if source.startswith(CWL_PREFIX):  # every CWL tool in one group, by any image
                groups.setdefault(CWL_GROUP, ("CWL tools", []))[1].extend(names)
                continue
            label = "in-process Python" if source == PYTHON_GROUP else source
            groups[f"image:{source}" if source == CWL_GROUP else source] = (label, names)
        positions = shelf_layout({s: (label, names) for s, (label, names) in groups.items()})
        nodes = []
        for source, (label, names) in groups.items():
            group = f"group:{source}"
            kind = {PYTHON_GROUP: " python", CWL_GROUP: " cwl"}.get(source, "")
            nodes.append({"data": {"id": group, "label": label}, "classes": "group" + kind})
            for name in names:
                nodes.append({"data": {"id": name, "label": name, "parent": group,
                                       **label_size(name)},
                              "position": positions[name], "classes": "process" + kind})
        self.pane.draw(nodes, [])
        total = len(self.registry)
        problems = self.registry.problems
        undescribed = sum(isinstance(p, DescriptionError) for p in problems)
        notes = len(problems) - undescribed  # e.g. an image whose calls fall back to exec
        self.summary.value = (f"{len(shown)} of {total} processes"
                              + (f", {undescribed} could not be described" if undescribed
                                 else "")
                              + (f", {notes} note{'s' * (notes > 1)}" if notes else ""))
        self.panel.value = self._panel_html(self.selected if self.selected in shown else "")

    def _on_click(self, event: dict) -> None:
        name = event.get("data", {}).get("id", "")
        if name in self.registry:
            self.selected = name

    @observe("selected")
    def _selected_changed(self, change: dict) -> None:
        self.panel.value = self._panel_html(change["new"])

    def _panel_html(self, name: str) -> str:
        problems = "".join(pre(str(p), "cdw-error") for p in self.registry.problems)
        if not name or name not in self.registry:
            hint = '<div class="cdw-process-body"><i>Click a process to read it.</i></div>'
            return hint + (section("problems", problems) if problems else "")
        proc = self.registry.get(name)
        details = proc.details()
        file_ports = ", ".join(f"{port} ({hint or 'any extension'})"
                               for port, hint in proc.file_ports.items())
        return "".join([
            f'<div class="cdw-process-body" data-process="{esc(name)}">',
            f'<h4 style="margin:4px 0">{esc(name)}</h4>',
            f"<div>{esc(proc.description) or '<i>no description</i>'}</div>",
            f"<div>from <code>{esc(proc.source)}</code></div>",
            *(f'<div class="cdw-detail-{label.replace(" ", "-")}">{esc(label)} '
              f'<code>{esc(text)}</code></div>' for label, text in details.items()),
            (f'<div class="cdw-file-ports">file ports: {esc(file_ports)}</div>'
             if file_ports else ""),
            self._cwl_html(proc) if isinstance(proc, CwlProcess) else "",
            section("inputs (example values)", ports_table(proc.inputs, "cdw-inputs")),
            section("outputs (example values)", ports_table(proc.outputs, "cdw-outputs")),
            "</div>",
        ])

    @staticmethod
    def _cwl_html(proc: CwlProcess) -> str:
        """A CWL tool's documentation (its ``doc``, line breaks kept) and its hints."""
        words = proc.documentation()
        hints = "".join(
            f'<li><code>{esc(h.get("class", "?"))}</code>'
            + "".join(f" {esc(k)}: <code>{esc(v)}</code>" for k, v in h.items() if k != "class")
            + "</li>" for h in words["hints"])
        return "".join([
            section("documentation", pre(words["doc"], "cdw-cwl-doc")) if words["doc"] else "",
            section("hints", f'<ul class="cdw-cwl-hints">{hints}</ul>') if hints else "",
        ])

    def close(self) -> None:
        """Close this widget and every widget it opened (the registry stays open)."""
        close_tree(self)

    def __repr__(self) -> str:
        return f"<RegistryWidget {len(self.registry)} processes>"
