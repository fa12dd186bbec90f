"""Cytoscape stylesheets and the widgets' CSS: node colours by status, theme-following text.

Colours written ``var(--jp-name, fallback)`` follow JupyterLab's theme: the canvas helper
resolves them in the page (Cytoscape reads no CSS); a page without it gets the fallbacks.
Node sizes come from ``data(w)``/``data(h)`` (``label_size``): Cytoscape 3.21 warns that
``width: label`` is deprecated.
"""

from __future__ import annotations

from ..model.status import STATUSES

#: Fill colour of a node per status (the same in light and dark themes: text on them is dark).
#: The border of a node that validation finds wrong.
INVALID = "#c62828"
STATUS_COLORS = {
    "pending": "#d0d4da",
    "running": "#f2b632",
    "done": "#3aa655",
    "cached": "#2f8fb3",
    "partial": "#b5c93a",  # a scattered node whose failed elements gave None
    "failed": "#d9453d",
    "skipped": "#9aa0a6",
    "cancelled": "#7d6b91",
}
#: Text colour on a node of each status.
STATUS_TEXT = {s: "#ffffff" if s in ("failed", "cached", "cancelled") else "#1b1f24"
               for s in STATUS_COLORS}
assert set(STATUS_COLORS) == set(STATUSES)

FG = "var(--jp-ui-font-color1, #1b1f24)"
FG2 = "var(--jp-ui-font-color2, #5f6670)"
BG = "var(--jp-layout-color0, #ffffff)"
BG2 = "var(--jp-layout-color2, #eeeeee)"
LINE = "var(--jp-border-color1, #8a9099)"
ACCENT = "var(--jp-brand-color1, #1f5fbf)"
FOUND = "var(--jp-warn-color0, #e65100)"

FONT_PX = 11
#: Approximate width of a character of the 11px label font (Cytoscape's default sans-serif).
CHAR_PX = 6.6


def label_size(label: str, *, pad: float = 20.0) -> dict[str, float]:
    """``{"w": ..., "h": ...}`` of a node that fits its (multi-line) label."""
    lines = label.split("\n") or [""]
    width = max(len(line) for line in lines) * CHAR_PX + pad
    height = len(lines) * (FONT_PX * 1.25) + pad * 0.8
    return {"w": round(max(width, 36.0), 1), "h": round(max(height, 28.0), 1)}


_LABEL = {
    "label": "data(label)",
    "text-wrap": "wrap",
    "text-valign": "center",
    "text-halign": "center",
    "font-size": f"{FONT_PX}px",
}


#: An edge's label (``output -> input``): small, level, on an opaque box of the page's
#: background, so a line or a label under it never shows through; not drawn when the view is
#: zoomed out so far that it would be smaller than 6 px (a large graph fitted); never in the
#: way of a click.
EDGE_LABEL = {
    "label": "data(label)", "font-size": "9px", "color": FG2, "text-rotation": "none",
    "text-wrap": "wrap", "text-background-color": BG, "text-background-opacity": 1,
    "text-background-padding": "2px", "text-background-shape": "round-rectangle",
    "min-zoomed-font-size": 6, "text-events": "no",
}

#: The class of an edge whose label the page leaves out because it would overlap another
#: edge's label (``QUIET_LABELS_JS``); it shows again, above the others, on the selected
#: node's lineage (``cdw-lineage``, the page's) or under the pointer (``cdw-hover``).
QUIET = "cdw-label-quiet"

#: The page's rule for labels (a JS function of the Cytoscape core, run after each layout or
#: move): edge by edge, in the drawing's order, a label whose box (Cytoscape's, its
#: background included) meets one kept already is left out (``QUIET``). No two labels drawn
#: overlap, however dense the graph; returns how many were left out.
QUIET_LABELS_JS = f"""(cy) => {{
  const edges = cy.edges().filter((e) => e.visible() && !!e.data('label'));
  cy.edges().removeClass('{QUIET}');
  const kept = [], quiet = [];
  edges.forEach((e) => {{
    const b = e.boundingBox({{includeNodes: false, includeEdges: false, includeLabels: true,
                              includeOverlays: false, includeUnderlays: false}});
    if (b.w <= 0 || b.h <= 0) return;
    if (kept.some((k) => b.x1 < k.x2 && k.x1 < b.x2 && b.y1 < k.y2 && k.y1 < b.y2)) quiet.push(e);
    else kept.push(b);
  }});
  cy.batch(() => quiet.forEach((e) => e.addClass('{QUIET}')));
  return quiet.length;
}}"""


def edge_label_rules() -> list[dict]:
    """The labels of quiet edges (``QUIET``) hidden; the labels of the selected node's lineage
    and of the edge under the pointer shown, bold and above the others (quiet or not: the
    later rule wins; ``edge.a.b`` matched no edge of both classes in the page)."""
    shown = {"label": "data(label)", "z-index": 20, "color": FG, "font-weight": "bold"}
    return [{"selector": f"edge.{QUIET}", "style": {"label": ""}},
            *({"selector": f"edge.{again}", "style": shown}
              for again in ("cdw-lineage", "cdw-hover"))]


def graph_stylesheet() -> list[dict]:
    """Style of the DAG: boxes coloured by status class, labelled arrows, highlights."""
    style: list[dict] = [
        {"selector": "node", "style": {
            **_LABEL, "color": STATUS_TEXT["pending"], "shape": "round-rectangle",
            "width": "data(w)", "height": "data(h)",
            "background-color": STATUS_COLORS["pending"], "border-width": 1,
            "border-color": "#5f6670"}},
        {"selector": "edge", "style": {
            "curve-style": "straight", "target-arrow-shape": "triangle", "width": 1.5,
            "line-color": LINE, "target-arrow-color": LINE, **EDGE_LABEL}},
        *edge_label_rules(),
    ]
    for status, colour in STATUS_COLORS.items():
        style.append({"selector": f"node.{status}", "style": {
            "background-color": colour, "color": STATUS_TEXT[status]}})
    style += [
        {"selector": "node.running", "style": {"border-width": 3, "border-style": "dashed"}},
        {"selector": "node.cached", "style": {"border-width": 2, "border-style": "double"}},
        {"selector": "node.stale", "style": {"border-width": 3, "border-style": "dashed",
                                             "border-color": "#d98e04"}},
        {"selector": "node.invalid", "style": {  # validation finds it wrong (problems)
            "border-width": 4, "border-style": "double", "border-color": INVALID}},
        {"selector": "node.scatter-bar", "style": {
            "background-fill": "linear-gradient", "background-gradient-direction": "to-right",
            "background-gradient-stop-colors": "data(bar_colors)",
            "background-gradient-stop-positions": "data(bar_stops)",
            "text-outline-color": BG, "text-outline-width": 2, "color": FG}},
        {"selector": "node.group", "style": {
            "shape": "round-rectangle", "border-width": 2, "border-style": "solid",
            "background-fill": "linear-gradient", "background-gradient-direction": "to-right",
            "background-gradient-stop-colors": "data(bar_colors)",
            "background-gradient-stop-positions": "data(bar_stops)",
            "text-outline-color": BG, "text-outline-width": 2, "color": FG}},
        {"selector": "node.focus-edge", "style": {"border-style": "dotted", "opacity": 0.75}},
        {"selector": "node.cdw-found", "style": {
            "border-width": 4, "border-color": FOUND, "border-style": "solid"}},
        {"selector": "node.cdw-selected", "style": {
            "border-width": 4, "border-color": ACCENT, "border-style": "solid",
            "overlay-color": ACCENT, "overlay-opacity": 0.12, "overlay-padding": 6}},
        {"selector": "node:selected", "style": {"border-width": 4, "border-color": ACCENT}},
    ]
    return style


def registry_stylesheet() -> list[dict]:
    """Style of the registry: images as labelled compound boxes holding process nodes."""
    return [
        {"selector": "node", "style": {
            **_LABEL, "color": "#1b1f24", "shape": "round-rectangle", "width": "data(w)",
            "height": "data(h)", "background-color": "#e8f0fb", "border-width": 1,
            "border-color": "#5b7db1"}},
        {"selector": "node.group", "style": {
            "text-valign": "top", "text-halign": "center", "font-weight": "bold",
            "color": FG, "background-color": BG2, "background-opacity": 0.6,
            "border-style": "dashed", "padding": "14px", "text-margin-y": -4}},
        {"selector": "node.python", "style": {"background-color": "#fdf3d8",
                                              "border-color": "#b58a1b"}},
        {"selector": "node.group.python", "style": {"background-color": BG2}},
        {"selector": "node:selected", "style": {"border-width": 3, "border-color": ACCENT}},
    ]


#: CSS of the widgets (brought into the page by the canvas helper). The progress text is in
#: the theme's text colour (its contrast is the theme's: at least 4.5:1 in light and dark);
#: how the run went shows in a coloured dot before it and in bold for a failure. Its colour
#: wins over one set on the label itself (``!important``). The failures reported under the
#: canvas (``cdw-failures``) are shown the same way: the theme's text colour, bold, after a
#: dot of the theme's error colour (red text would be 3.8:1 on the dark theme).
WIDGET_CSS = """
.cdw-status { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 90%; }
.cdw-legend { display: flex; flex-wrap: wrap; gap: 4px 10px; font-size: 12px;
  align-items: center; color: var(--jp-ui-font-color1); }
.cdw-swatch { display: inline-block; width: 11px; height: 11px; border-radius: 3px;
  border: 1px solid #5f6670; vertical-align: -1px; margin-right: 3px; }
.cdw-inspector-body h4 { margin: 4px 0; }
.cdw-inspector-body pre, .cdw-message pre {
  white-space: pre-wrap; word-break: normal; overflow-wrap: break-word; margin: 2px 0;
  font-size: 12px; }
.cdw-scroll-end { display: flex; flex-direction: column-reverse; overflow: auto;
  max-height: 14em; border: 1px solid var(--jp-border-color2, #e0e0e0); border-radius: 3px; }
.cdw-reason { font-style: italic; color: var(--jp-ui-font-color2); }
.cdw-ref { color: var(--jp-content-link-color, #1f5fbf); font-family: var(--jp-code-font-family,
  monospace); }
.cdw-progress, .cdw-progress.cdw-progress-ok, .cdw-progress.cdw-progress-bad {
  color: var(--jp-ui-font-color1, #1b1f24) !important; }
.cdw-progress-bad { font-weight: 600; }
.cdw-progress-ok::before, .cdw-progress-bad::before { content: ""; display: inline-block;
  width: 9px; height: 9px; border-radius: 50%; margin-right: 5px; vertical-align: 0; }
.cdw-progress-ok::before { background: var(--jp-success-color1, #388e3c); }
.cdw-progress-bad::before { background: var(--jp-error-color1, #d32f2f); }
.cdw-failures { color: var(--jp-ui-font-color1, #1b1f24); font-weight: 600; }
.cdw-failures::before { content: ""; display: inline-block; width: 9px; height: 9px;
  border-radius: 50%; margin-right: 5px; background: var(--jp-error-color1, #d32f2f); }
.cdw-timeline { font-size: 12px; color: var(--jp-ui-font-color1); }
.cdw-graph-widget .widget-html-content { line-height: 1.35; }
.cdw-inspector .widget-html-content, .cdw-timeline-view .widget-html-content,
.cdw-process-panel .widget-html-content {
  line-height: 1.35; }
"""
