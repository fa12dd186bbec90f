"""Issue 8, "navigation and reading": 6 fit/zoom/search, 7 legend and edges, 8 large graphs,
9 dark theme; and 13, help while typing (through the kernel, as the page asks for it)."""

from __future__ import annotations

import time

import pytest

from tests.browser.nb import CY, PY_SETUP, notebook, wait_drawn, wait_statuses

pytestmark = pytest.mark.browser

TREE = """\
# A binary tree of 31 nodes whose 16 leaves each start a chain.
spec = {{}}
for i in range({n}):
    parent = None if i == 0 else (i - 1) // 2 if i < 31 else i - 16
    x = 1.0 if parent is None else (f"n{{parent}}", "z")
    spec[f"n{{i}}"] = {{"process": "add", "inputs": {{"x": x, "y": 1.0}}}}
g = Graph.from_spec(spec)
w = GraphWidget(g, reg, grouped=False)
w
"""

VIEW = f"""(id) => {{
    const cy = {CY}(0);
    const n = id ? cy.getElementById(id) : null;
    const p = n ? n.renderedPosition() : null;
    const bb = cy.nodes().renderedBoundingBox();
    return {{zoom: cy.zoom(), w: cy.width(), h: cy.height(), pos: p, bb,
             node_h: cy.nodes()[0].renderedBoundingBox().h,
             selected: n ? n.hasClass('cdw-selected') : null}};
}}"""
SCROLLER = "() => document.querySelector('.jp-WindowedPanel-outer').scrollTop"


def until(read, ok, timeout: float = 30.0):
    """``read()`` again until ``ok`` of it (or ``timeout`` seconds); the last value read."""
    deadline = time.monotonic() + timeout
    value = read()
    while not ok(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = read()
    return value


def centred(view) -> bool:
    return abs(view["pos"]["x"] - view["w"] / 2) < 30 and abs(view["pos"]["y"] - view["h"] / 2) < 30


# ---- 6. Fit, zoom and search ---------------------------------------------------------------------


def test_6_fit_zoom_and_search(lab):
    after = ['w.selected = "n77"']
    with notebook(lab, None, "navigate.ipynb", [TREE.format(n=200)], after,
                  setup=PY_SETUP) as nb:
        nb.start()
        lab.wait_for_cy(min_nodes=200)
        lab.wait_for_js(f"() => {CY}(0).container().dataset.cdwLayouts >= 1")
        first = lab.evaluate(VIEW, None)
        # Readable from the start (fitting all 200 gave 11-pixel nodes), the user pans.
        assert first["zoom"] >= 0.59 and first["node_h"] >= 18, first
        lab.screenshot("issue8-6-first-view.png", selector=".cdw-graph-widget")

        # The wheel over an inactive canvas scrolls the page; after a click, it zooms.
        box = lab.page.locator(".cdw-canvas-host .custom-widget").first.bounding_box()
        lab.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        before = lab.evaluate(SCROLLER)
        lab.page.mouse.wheel(0, 250)
        lab.wait_for_js(f"(s) => ({SCROLLER})() !== s", before)
        assert lab.evaluate(f"() => {CY}(0).zoom()") == pytest.approx(first["zoom"])
        box = lab.page.locator(".cdw-canvas-host .custom-widget").first.bounding_box()
        lab.page.mouse.click(box["x"] + 8, box["y"] + 8)  # an empty corner of the canvas
        scrolled = lab.evaluate(SCROLLER)
        # Cytoscape ignores the wheel for 250 ms after the page scrolled: wait until the page
        # has not scrolled for longer than that (however slow the machine), then wheel.
        lab.evaluate("""() => { window.__cdwLastScroll = performance.now();
            document.addEventListener('scroll', () => {
                window.__cdwLastScroll = performance.now(); }, true); }""")
        lab.wait_for_js("() => performance.now() - window.__cdwLastScroll > 400")
        lab.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        lab.page.mouse.wheel(0, -250)
        lab.wait_for_js(f"(z) => {CY}(0).zoom() > z * 1.05", first["zoom"])
        assert lab.evaluate(SCROLLER) == scrolled

        # Search by name: the node is selected, highlighted and centred.
        search = lab.page.locator(".cdw-search input")
        search.fill("n150")
        search.press("Enter")
        lab.wait_for_js(f"() => {CY}(0).getElementById('n150').hasClass('cdw-selected')")
        lab.wait_for_selector('.cdw-inspector-body[data-node="n150"]')
        assert until(lambda: lab.evaluate(VIEW, "n150"), centred), lab.evaluate(VIEW, "n150")
        lab.screenshot("issue8-6-search.png", selector=".cdw-graph-widget")
        # From code, the same.
        nb.run(0)
        lab.wait_for_js(f"() => {CY}(0).getElementById('n77').hasClass('cdw-selected')")
        view = until(lambda: lab.evaluate(VIEW, "n77"), centred)  # the view animates there
        assert centred(view) and view["selected"], view
        assert not lab.evaluate(f"() => {CY}(0).getElementById('n150').hasClass('cdw-selected')")
        # A clicked node is highlighted too.
        lab.click_cy_node("n77")
        # Fit: the whole graph in view.
        lab.click_button("Fit")
        lab.wait_for_js(f"""() => {{ const cy = {CY}(0), b = cy.nodes().renderedBoundingBox();
            return b.x1 >= 0 && b.y1 >= 0 && b.x2 <= cy.width() + 1 && b.y2 <= cy.height() + 1;
        }}""")
        lab.screenshot("issue8-6-fit.png", selector=".cdw-graph-widget")


# ---- 7. Legend, and edges around nodes -----------------------------------------------------------

SKIPS = """\
g = Graph.from_spec({
    "a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
    "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}},
    "c": {"process": "add", "inputs": {"x": ("b", "z"), "y": 1.0}},
    "d": {"process": "add", "inputs": {"x": ("c", "z"), "y": ("a", "z")}},
    "e": {"process": "add", "inputs": {"x": ("d", "z"), "y": ("a", "z")}},
})
w = GraphWidget(g, reg)
w
"""

CROSSINGS = f"""() => {{
    const cy = {CY}(0);
    const boxes = cy.nodes().map(n => [n.id(), n.boundingBox()]);
    const inside = (p, b) => p.x > b.x1 && p.x < b.x2 && p.y > b.y1 && p.y < b.y2;
    const out = {{drawn: [], straight: [], labels: []}};
    cy.edges().forEach(e => {{
        const s = e.sourceEndpoint(), t = e.targetEndpoint(), cps = e.controlPoints();
        const c = cps && cps.length ? cps[0] : null;
        const a = e.source().position(), z = e.target().position();
        const others = boxes.filter(([id]) => id !== e.source().id() && id !== e.target().id());
        for (let i = 1; i < 60; i++) {{
            const k = i / 60, u = 1 - k;
            const p = c ? {{x: u * u * s.x + 2 * u * k * c.x + k * k * t.x,
                            y: u * u * s.y + 2 * u * k * c.y + k * k * t.y}}
                        : {{x: s.x + (t.x - s.x) * k, y: s.y + (t.y - s.y) * k}};
            const q = {{x: a.x + (z.x - a.x) * k, y: a.y + (z.y - a.y) * k}};
            others.forEach(([id, b]) => {{
                if (inside(p, b)) out.drawn.push(e.id() + ' through ' + id);
                if (inside(q, b)) out.straight.push(e.id() + ' through ' + id);
            }});
        }}
        const m = e.midpoint();
        others.forEach(([id, b]) => {{ if (inside(m, b)) out.labels.push(e.id() + ' on ' + id); }});
    }});
    out.drawn = [...new Set(out.drawn)]; out.straight = [...new Set(out.straight)];
    return out;
}}"""


def test_7_legend_and_edges_clear_of_nodes(lab):
    with notebook(lab, None, "edges.ipynb", [SKIPS], setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, list("abcde"))
        lab.wait_for_js(f"() => {CY}(0).container().dataset.cdwLayouts >= 1")
        legend = lab.evaluate("""() => [...document.querySelectorAll('.cdw-legend-item')].map(
            i => [i.dataset.status, getComputedStyle(i.querySelector('.cdw-swatch'))
                  .backgroundColor])""")
        assert [s for s, _ in legend] == ["pending", "running", "done", "cached", "partial",
                                          "failed", "skipped", "cancelled"]
        colours = {s: c.replace(" ", "") for s, c in legend}
        lab.click_button("Run")
        wait_statuses(lab, dict.fromkeys("abcde", "done"))
        node_colour = lab.evaluate(
            f"() => {CY}(0).getElementById('a').style('background-color')")
        assert colours["done"] == node_colour.replace(" ", "")  # the canvas's colours
        got = lab.evaluate(CROSSINGS)
        lab.screenshot("issue8-7-edges-and-legend.png", selector=".cdw-graph-widget")
        assert got["straight"], "the graph should have edges a straight line draws through nodes"
        assert got["drawn"] == [] and got["labels"] == [], got


# ---- 8. Large graphs -----------------------------------------------------------------------------

SWEEP = """\
spec = {"source": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}}}
for i in range(500):
    spec[f"sweep {i}"] = {"process": "add", "inputs": {"x": ("source", "z"), "y": float(i)}}
spec["report"] = {"process": "add", "inputs": {"x": ("sweep 7", "z"), "y": 0.0}}
g = Graph.from_spec(spec)
w = GraphWidget(g, reg)
w
"""
GROUP = "group: sweep"


def test_8_large_graphs(lab):
    after = [TREE.replace("w = GraphWidget", "w2 = GraphWidget").replace("\nw\n", "\nw2\n")
             .format(n=1000)]
    with notebook(lab, None, "large.ipynb", [SWEEP], after, setup=PY_SETUP) as nb:
        nb.start()
        # 502 nodes: the sweep reads as one box with a count and a status bar.
        wait_drawn(lab, ["source", GROUP, "report"])
        label = lab.evaluate(f"() => {CY}(0).getElementById('{GROUP}').data('label')")
        assert "\u00d7500" in label and "500 pending" in label, label
        lab.click_button("Run")
        lab.wait_for_js(f"""() => {CY}(0).getElementById('{GROUP}').data('label')
            .includes('500 done')""", timeout=60_000)
        bar = lab.evaluate(f"""() => {{ const n = {CY}(0).getElementById('{GROUP}');
            return [n.style('background-fill'), n.data('bar_colors')]; }}""")
        assert bar[0] == "linear-gradient" and "#3aa655" in bar[1], bar
        lab.screenshot("issue8-8-grouped-sweep.png", selector=".cdw-graph-widget")
        # Focus: a node of the sweep and one hop around it.
        lab.page.locator(".cdw-search input").fill("sweep 7")
        lab.page.locator(".cdw-search input").press("Enter")
        lab.page.locator(".cdw-large-controls input[type=number]").fill("1")
        lab.page.locator(".cdw-large-controls input[type=number]").press("Enter")
        lab.click_button("Focus")
        wait_drawn(lab, ["source", "sweep 7", "report"])
        lab.screenshot("issue8-8-focus.png", selector=".cdw-graph-widget")

        # 1,000 nodes drawn one by one: laid out in the page in a few seconds, and responsive.
        lab.evaluate("() => { window.__t0 = performance.now(); }")
        nb.run(0, timeout=120_000)
        lab.wait_for_js(f"""() => {{ const cy = {CY}(1);
            return cy && cy.nodes().length === 1000 && cy.container().dataset.cdwLayouts >= 1
                && (window.__t1 = window.__t1 || performance.now()); }}""", timeout=120_000)
        took = lab.evaluate("() => (window.__t1 - window.__t0) / 1000")
        frame = lab.evaluate(f"""() => new Promise(r => {{
            const cy = {CY}(1), t = performance.now(), raf = requestAnimationFrame;
            cy.panBy({{x: 40, y: 40}});
            raf(() => raf(() => r(performance.now() - t))); }})""")
        print(f"\n1000 nodes: cell run -> laid out in the page {took:.2f}s; pan -> 2 frames "
              f"{frame:.0f} ms")
        lab.screenshot("issue8-8-1000-nodes.png", selector=".cdw-graph-widget >> nth=1")
        assert took < 30 and frame < 500, (took, frame)


# ---- 9. Dark theme -------------------------------------------------------------------------------

THEMED = f"""() => {{
    const cy = {CY}(0), css = getComputedStyle(cy.container());
    const e = cy.edges()[0];
    return {{edge_text: e.style('color'), edge_line: e.style('line-color'),
             label_bg: e.style('text-background-color'),
             bg: css.backgroundColor,
             font2: css.getPropertyValue('--jp-ui-font-color2').trim(),
             light: document.body.dataset.jpThemeLight}};
}}"""


def test_9_dark_theme(lab):
    with notebook(lab, None, "dark.ipynb", [SKIPS], setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, list("abcde"))
        light = lab.evaluate(THEMED)
        try:
            lab.evaluate("() => jupyterapp.commands.execute('apputils:change-theme', "
                         "{theme: 'JupyterLab Dark'})")
            lab.wait_for_js("() => document.body.dataset.jpThemeLight === 'false'")
            lab.wait_for_js(f"(before) => ({THEMED})().edge_text !== before", light["edge_text"])
            dark = until(lambda: lab.evaluate(THEMED),  # every colour follows the theme
                         lambda d: d["bg"] != light["bg"] and d["label_bg"] != light["label_bg"])
            lab.screenshot("issue8-9-dark-theme.png", selector=".cdw-graph-widget")
        finally:
            lab.evaluate("() => jupyterapp.commands.execute('apputils:change-theme', "
                         "{theme: 'JupyterLab Light'})")
            lab.wait_for_js("() => document.body.dataset.jpThemeLight === 'true'")
        assert dark["bg"] != light["bg"] and dark["label_bg"] != light["label_bg"], (light, dark)
        assert dark["edge_line"] != light["edge_line"], (light, dark)


# ---- 13. Help while typing -----------------------------------------------------------------------


def test_13_help_while_typing(lab):
    cells = ["%%node early\nprocess: add\ninputs: {x: 1.0, y: 1.0}"]
    after = [
        "%load_ext containerdag_widgets\n%dag use reg",
        "%%node stats\nprocess: add\ninputs: {x: 1.0, y: 1.0}",
        "%%node b\nprocess: add\ninputs: {x: stats.z, yy: 1.0}",
        "@process(outputs={'z': 1.0})\ndef triple(x: float = 1.0):\n    return {'z': 3 * x}",
        "%%node c\nprocess: triple\ninputs: {x: 1.0}",
        "%unload_ext containerdag_widgets",
    ]
    setup = PY_SETUP.replace("import json", "import json\nimport containerdag_widgets")
    with notebook(lab, None, "typing.ipynb", [], [*cells, *after], setup=setup) as nb:
        nb.start()
        # A UsageError is printed (stderr), not an error output.
        assert "%load_ext containerdag_widgets" in nb.run(0)
        nb.run(1)
        nb.run(2)
        errors = nb.run(3)
        assert "write x: {from: stats, output: z}" in errors, errors
        assert "no input 'yy' (did you mean 'y'?)" in errors, errors
        nb.run(4)
        assert "never added to this registry: registry.add(triple)" in nb.run(5)
        assert lab.complete("%dag r") == ["remove", "run"]
        assert lab.complete("%dag remove st") == ["stats"]
        assert lab.complete("%%node x\nprocess: di") == ["divide"]
        assert lab.complete("%%node x\ninputs: {x: {from: sta") == ["stats"]
        lab.screenshot("issue8-13-hints.png", full_page=True)
        nb.run(6)
