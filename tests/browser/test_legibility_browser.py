"""Legibility in JupyterLab (issue 24): the edge labels of a 20-node graph do not overlap one
another (their boxes, as Cytoscape lays them out, measured in the page) once the page has
run its rule (style.QUIET_LABELS_JS, by the canvas helper after its layout) that leaves out
those that would, and a label left out shows again on the lineage of a node clicked; the
progress text and the failures reported under the canvas keep a contrast of at least 4.5:1
against their background in the light and the dark theme (computed colours, WCAG's relative
luminance)."""

from __future__ import annotations

import pytest

from containerdag_widgets.widgets.style import QUIET
from tests.browser.nb import CY, PY_SETUP, notebook, toolkit_console_problems, wait_drawn
from tests.browser.test_canvas_browser import node_point, wait_selected

pytestmark = pytest.mark.browser

#: 20 nodes in six ranks: a fan-out, pairs crossing, merges that also read the source, a
#: fan-in, two readers of the end and one of both.
GRAPH = '''\
@process(outputs={"z": 1.0}, cache=False)
def combine(a: float = 1.0, b: float = 1.0, c: float = 1.0):
    """z = a + b + c."""
    return {"z": a + b + c}

reg.add(combine)
spec = {"load": {"process": "add", "inputs": {"x": 1.0, "y": 2.0}}}
for i in range(1, 7):
    spec[f"clean {i}"] = {"process": "add", "inputs": {"x": ("load", "z"), "y": float(i)}}
for i in range(1, 7):
    spec[f"fit {i}"] = {"process": "combine", "inputs": {
        "a": (f"clean {i}", "z"), "b": (f"clean {i % 6 + 1}", "z"), "c": 0.5}}
for k in range(1, 4):
    spec[f"merge {k}"] = {"process": "combine", "inputs": {
        "a": (f"fit {2 * k - 1}", "z"), "b": (f"fit {2 * k}", "z"), "c": ("load", "z")}}
spec["report"] = {"process": "combine", "inputs": {
    "a": ("merge 1", "z"), "b": ("merge 2", "z"), "c": ("merge 3", "z")}}
spec["summary"] = {"process": "add", "inputs": {"x": ("report", "z"), "y": ("load", "z")}}
spec["check"] = {"process": "divide", "inputs": {"a": ("report", "z"), "b": ("merge 1", "z")}}
spec["plot"] = {"process": "add", "inputs": {"x": ("summary", "z"), "y": ("check", "z")}}
g = Graph.from_spec(spec)
w = GraphWidget(g, reg)
w
'''
NODES = (["load", "report", "summary", "check", "plot"] + [f"clean {i}" for i in range(1, 7)]
         + [f"fit {i}" for i in range(1, 7)] + [f"merge {k}" for k in range(1, 4)])

#: Each edge's label box in model coordinates (Cytoscape's own, background included), and
#: the pairs of boxes that intersect.
LABELS = f"""() => {{
    const cy = {CY}(0);
    const boxes = cy.edges().filter(e => e.data('label') && !e.hasClass('cdw-label-quiet'))
        .map(e => {{
        const b = e.boundingBox({{includeNodes: false, includeEdges: false,
                                  includeLabels: true, includeOverlays: false,
                                  includeUnderlays: false}});
        return [e.id(), b.x1, b.y1, b.x2, b.y2];
    }});
    const hits = [];
    for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++) {{
            const [p, q] = [boxes[i], boxes[j]];
            if (p[1] < q[3] && q[1] < p[3] && p[2] < q[4] && q[2] < p[4])
                hits.push([p[0], q[0]]);
        }}
    return {{edges: cy.edges().length, drawn: boxes.length, hits}};
}}"""


#: A label's style as drawn: its text, its stacking, its weight.
LABEL_STYLE = f"""(id) => {{
    const e = {CY}(0).getElementById(id);
    return [e.style('label'), Number(e.style('z-index')), e.style('font-weight'),
            e.style('text-background-opacity'), e.style('min-zoomed-font-size')];
}}"""


#: A quiet edge with an end inside the canvas as shown (to be clicked): [edge, node].
QUIET_END = f"""() => {{
    const cy = {CY}(0), w = cy.width(), h = cy.height();
    for (const e of cy.edges('.{QUIET}')) for (const n of [e.source(), e.target()]) {{
        const p = n.renderedPosition();
        if (p.x > 20 && p.x < w - 20 && p.y > 20 && p.y < h - 20) return [e.id(), n.id()];
    }}
    return null;
}}"""


def test_edge_labels_of_a_20_node_graph_do_not_overlap(lab):
    with notebook(lab, None, "edge-labels.ipynb", [GRAPH], setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, NODES)
        # The page's own rule, run after its layout: a label that would meet one drawn
        # already is left out.
        after = lab.wait_for_js(f"""() => {{
            const cy = {CY}(0);
            if (!(+cy.container().dataset.cdwLayouts >= 1)
                || cy.edges('.{QUIET}').empty()) return false;
            return ({LABELS})(); }}""", timeout=60_000)
        quiet = lab.evaluate(f"() => {CY}(0).edges('.{QUIET}').length")
        assert after["edges"] == 36 and after["hits"] == [], after
        assert 0 < quiet == 36 - after["drawn"], (quiet, after)
        assert after["drawn"] >= 36 * 3 // 4, after  # most labels stay
        lab.page.mouse.move(0, 0)
        lab.screenshot("edge-labels-20.png", selector=".cdw-graph-widget")
        # A quiet label shows again, bold and above the others, on the lineage of the node
        # clicked; labels are opaque, and not drawn when too small.
        edge, node = lab.evaluate(QUIET_END)
        assert lab.evaluate(LABEL_STYLE, edge)[0] == "", edge
        at = node_point(lab, node)
        lab.page.mouse.click(at["x"], at["y"])
        wait_selected(lab, node)
        lab.wait_for_js(f"(id) => {CY}(0).getElementById(id).hasClass('cdw-lineage')", edge,
                        timeout=60_000)
        label, z, weight, opacity, smallest = lab.evaluate(LABEL_STYLE, edge)
        assert label.startswith("z -> ") and z == 20 and weight == "bold", (label, z, weight)
        assert float(opacity) == 1 and smallest.startswith("6"), (opacity, smallest)
        assert lab.evaluate(LABELS)["hits"] == []  # the rule still holds for the others
        assert toolkit_console_problems(lab.console) == []


# ---- the progress text in the light and the dark theme ------------------------------------------

TWO = """\
g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 2.0}},
                     "b": {"process": "divide", "inputs": {"a": ("a", "z"), "b": 1.0}}})
w = GraphWidget(g, reg)
w
"""
BREAK = 'g.set_input("b", "b", 0.0)'

PROGRESS = ".cdw-graph-widget .cdw-progress"
FAILURES = ".cdw-graph-widget .cdw-message .cdw-failures"  # the failures under the canvas

#: A text (the progress text, by default), its colour and the colour under it (the first
#: opaque background up its ancestors, with the translucent ones over it), as shown, and
#: WCAG's contrast ratio.
CONTRAST = """(sel) => {
    const el = document.querySelector(sel);
    if (!el || !el.innerText.trim()) return null;
    const rgba = (c) => { const v = c.match(/rgba?\\(([^)]+)\\)/)[1].split(',').map(Number);
                          return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
    const layers = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
        const c = rgba(getComputedStyle(n).backgroundColor);
        if (c[3] > 0) layers.push(c);
        if (c[3] >= 1) break;
    }
    const over = (top, base) => base.map((b, i) => top[i] * top[3] + b * (1 - top[3]));
    let bg = [255, 255, 255];
    for (const c of layers.reverse()) bg = over(c, bg);
    const fg = over(rgba(getComputedStyle(el).color), bg);
    const lum = (c) => { const [r, g, b] = c.map((v) => { v /= 255;
        return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const [a, b] = [lum(fg), lum(bg)];
    return {text: el.innerText.trim(), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
            fg: fg.map(Math.round), bg: bg.map(Math.round),
            kind: el.classList.contains('cdw-progress-bad') ? 'bad'
                : el.classList.contains('cdw-progress-ok') ? 'ok' : '',
            weight: getComputedStyle(el).fontWeight,
            dot: getComputedStyle(el, '::before').backgroundColor,
            light: document.body.dataset.jpThemeLight};
}"""


def theme(lab, name: str) -> None:
    light = "true" if name == "JupyterLab Light" else "false"
    lab.evaluate(f"() => jupyterapp.commands.execute('apputils:change-theme', "
                 f"{{theme: '{name}'}})")
    lab.wait_for_js(f"() => document.body.dataset.jpThemeLight === '{light}'")


def contrast(lab, text: str, light: str, sel: str = PROGRESS) -> dict:
    return lab.wait_for_js(f"""(want) => {{ const c = ({CONTRAST})({sel!r});
        return c && c.text.includes(want) && c.light === '{light}' && c; }}""", text,
                           timeout=60_000)


def test_the_progress_text_keeps_its_contrast_in_the_dark_theme(lab):
    with notebook(lab, None, "contrast.ipynb", [TWO], [BREAK], setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, ["a", "b"])
        lab.click_button("Run")
        seen = {("ok", "light"): contrast(lab, "2/2 done", "true")}
        try:
            theme(lab, "JupyterLab Dark")
            seen["ok", "dark"] = contrast(lab, "2/2 done", "false")
            nb.run(0)
            lab.click_button("Run")
            seen["bad", "dark"] = contrast(lab, "1 failed of 2", "false")
            failures = {"dark": contrast(lab, "1 failed", "false", FAILURES)}
            lab.page.mouse.move(0, 0)
            lab.screenshot("progress-dark-failed.png", selector=".cdw-graph-widget")
        finally:
            theme(lab, "JupyterLab Light")
        seen["bad", "light"] = contrast(lab, "1 failed of 2", "true")
        failures["light"] = contrast(lab, "1 failed", "true", FAILURES)
        # The failures under the canvas: the theme's text colour, bold, after a red dot.
        for c in failures.values():
            assert c["ratio"] >= 4.5 and c["weight"] in ("600", "700"), failures
            assert c["dot"] not in ("", "rgba(0, 0, 0, 0)"), failures
        assert failures["dark"]["bg"] != failures["light"]["bg"], failures
        for (kind, _), c in seen.items():
            assert c["ratio"] >= 4.5 and c["kind"] == kind, seen
            assert (c["weight"] in ("600", "700")) is (kind == "bad"), seen
            assert c["dot"] not in ("", "rgba(0, 0, 0, 0)"), seen  # the run's outcome, a dot
        assert seen["ok", "dark"]["bg"] != seen["ok", "light"]["bg"], seen  # themed for real
        assert seen["ok", "dark"]["dot"] != seen["bad", "dark"]["dot"], seen
        assert toolkit_console_problems(lab.console) == []
