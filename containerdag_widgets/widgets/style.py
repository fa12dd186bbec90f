"""Cytoscape stylesheets: node colours by status, compound image groups."""

from __future__ import annotations

#: Fill colour of a node per status; ``cached`` is ready for a result cache.
STATUS_COLORS = {
    "pending": "#d0d4da",
    "running": "#f2b632",
    "done": "#3aa655",
    "cached": "#2f8fb3",
    "failed": "#d9453d",
    "skipped": "#9aa0a6",
    "cancelled": "#7d6b91",
}

_LABEL = {
    "label": "data(label)",
    "text-wrap": "wrap",
    "text-valign": "center",
    "text-halign": "center",
    "font-size": "11px",
    "color": "#1b1f24",
}


def graph_stylesheet() -> list[dict]:
    """Style of the DAG: rounded boxes coloured by status class, labelled arrows."""
    style: list[dict] = [
        {"selector": "node", "style": {
            **_LABEL, "shape": "round-rectangle", "width": "label", "height": "label",
            "padding": "10px", "background-color": STATUS_COLORS["pending"],
            "border-width": 1, "border-color": "#5f6670"}},
        {"selector": "node:selected", "style": {"border-width": 3, "border-color": "#1f5fbf"}},
        {"selector": "edge", "style": {
            "curve-style": "bezier", "target-arrow-shape": "triangle", "width": 1.5,
            "line-color": "#8a9099", "target-arrow-color": "#8a9099", "label": "data(label)",
            "font-size": "9px", "text-rotation": "autorotate", "text-background-color": "#fff",
            "text-background-opacity": 0.85, "text-background-padding": "2px"}},
    ]
    for status, colour in STATUS_COLORS.items():
        style.append({"selector": f"node.{status}", "style": {"background-color": colour}})
    style.append({"selector": "node.failed", "style": {"color": "#ffffff"}})
    style.append({"selector": "node.running", "style": {"border-width": 3,
                                                        "border-style": "dashed"}})
    return style


def registry_stylesheet() -> list[dict]:
    """Style of the registry: images as labelled compound boxes holding process nodes."""
    return [
        {"selector": "node", "style": {
            **_LABEL, "shape": "round-rectangle", "width": "label", "height": "label",
            "padding": "8px", "background-color": "#e8f0fb", "border-width": 1,
            "border-color": "#5b7db1"}},
        {"selector": "node.group", "style": {
            "text-valign": "top", "text-halign": "center", "font-weight": "bold",
            "background-color": "#f6f7f9", "border-style": "dashed", "padding": "14px"}},
        {"selector": "node.python", "style": {"background-color": "#fdf3d8",
                                              "border-color": "#b58a1b"}},
        {"selector": "node:selected", "style": {"border-width": 3, "border-color": "#1f5fbf"}},
    ]
