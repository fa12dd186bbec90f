"""RegistryWidget: images as compound nodes holding their processes; click one to read it."""

from __future__ import annotations

from typing import Any

import ipycytoscape
import ipywidgets as W
from traitlets import Unicode, observe

from ..registry import Registry
from .canvas import Canvas
from .html import esc, ports_table, pre, section
from .style import registry_stylesheet

__all__ = ["RegistryWidget"]

PYTHON_GROUP = "python"


class RegistryWidget(W.VBox):
    """The processes of a registry, grouped by image, with a filter and a Refresh button."""

    selected = Unicode("", help="the process shown in the panel (\"\" for none)").tag(sync=True)
    filter = Unicode("", help="text that process names or descriptions must contain to be "
                              "shown").tag(sync=True)

    def __init__(self, registry: Registry, *, height: str = "380px", **kwargs: Any):
        self.registry = registry
        self.cytoscape = Canvas(
            max_zoom=1.5, layout=W.Layout(height=height, width="60%", flex="0 0 60%",
                                          min_width="0"))
        self.cytoscape.set_style(registry_stylesheet())
        # cola keeps compound groups apart (cose overlapped them); measured ~0.2 s here.
        self.cytoscape.set_layout(name="cola", animate=False, fit=True, padding=20,
                                  avoidOverlap=True, nodeDimensionsIncludeLabels=True,
                                  infinite=False)
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
        body = W.HBox([self.cytoscape, self.panel], layout=W.Layout(width="100%"))
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
        nodes = []
        for source, procs in self.registry.by_source().items():
            procs = [p for p in procs if p.name in shown]
            if not procs:
                continue
            group = f"group:{source}"
            is_python = source == PYTHON_GROUP
            label = "in-process Python" if is_python else source
            nodes.append(ipycytoscape.Node(data={"id": group, "label": label},
                                           classes="group python" if is_python else "group"))
            for proc in procs:
                nodes.append(ipycytoscape.Node(
                    data={"id": proc.name, "label": proc.name, "parent": group},
                    classes="process python" if is_python else "process"))
        self.cytoscape.graph.clear()
        self.cytoscape.graph.add_nodes(nodes)
        total = len(self.registry)
        problems = len(self.registry.problems)
        self.summary.value = (f"{len(shown)} of {total} processes"
                              + (f", {problems} could not be described" if problems else ""))
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
        command = getattr(proc, "command", None)
        settings = getattr(proc, "settings", None)  # a container process's ContainerSettings
        return "".join([
            f'<div class="cdw-process-body" data-process="{esc(name)}">',
            f'<h4 style="margin:4px 0">{esc(name)}</h4>',
            f"<div>{esc(proc.description) or '<i>no description</i>'}</div>",
            f"<div>from <code>{esc(proc.source)}</code></div>",
            f"<div>command <code>{esc(' '.join(command))}</code></div>" if command else "",
            (f'<div class="cdw-container-settings">container: {esc(settings.summary())}</div>'
             if settings is not None else ""),
            section("inputs (example values)", ports_table(proc.inputs, "cdw-inputs")),
            section("outputs (example values)", ports_table(proc.outputs, "cdw-outputs")),
            "</div>",
        ])

    def __repr__(self) -> str:
        return f"<RegistryWidget {len(self.registry)} processes>"
