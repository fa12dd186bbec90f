"""Issue 24, daily use, second pass: the canvas in JupyterLab. Nodes keep their places across
edits (new ones near their neighbours, a drag kept, Re-layout lays out afresh); a click on the
empty canvas deselects and Delete acts only on the node selected now; the selected node's
lineage is highlighted; a canvas drawn off-screen fits when first shown; search zooms to its
match and Enter steps through the matches; a wide fan-in is wrapped into rows; the legend
filters by status."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.browser.nb import CY, PY_SETUP, notebook, toolkit_console_problems, wait_drawn

pytestmark = pytest.mark.browser


def kernel(nb, index: int) -> dict:
    """The JSON a check cell printed after ``OUT=``."""
    return json.loads(re.search(r"OUT=(.*)", nb.run(index)).group(1))


def positions(lab) -> dict[str, dict[str, float]]:
    return lab.evaluate(f"""() => Object.fromEntries({CY}(0).nodes().map(n =>
        [n.id(), {{x: n.position('x'), y: n.position('y')}}]))""")


def kernel_positions(nb, lab, index: int = 1, timeout: float = 60) -> dict:
    """``w.positions`` as check cell ``index`` prints it, once the kernel holds what the page
    shows (or at ``timeout``, for the caller's asserts to say what differs). ipywidgets sends
    a model's changes one message at a time: the page's last write waits while a busy kernel
    has not answered the one before, and a cell run meanwhile reads the older positions."""
    deadline = time.monotonic() + timeout
    while True:
        page, kept = positions(lab), kernel(nb, index)
        if (set(kept) == set(page) and all(abs(kept[n][k] - page[n][k]) < 0.2
                                           for n in page for k in "xy")) \
                or time.monotonic() > deadline:
            return kept
        time.sleep(0.2)


def node_point(lab, node: str) -> dict[str, float]:
    """Where node ``node`` is on the screen (its widget scrolled into view, the node still)."""
    lab.evaluate(f"() => {CY}(0).container().scrollIntoView({{block: 'center'}})")
    return lab.wait_for_js(f"""(id) => {{
        const cy = {CY}(0), n = cy.getElementById(id);
        if (n.empty()) return false;
        const r = cy.container().getBoundingClientRect(), p = n.renderedPosition();
        const key = (r.left + p.x).toFixed(1) + ',' + (r.top + p.y).toFixed(1);
        const s = window.__cdwStill = window.__cdwStill || {{}};
        if (s[id] !== key) {{ s[id] = key; window.__cdwStillN = 0; return false; }}
        if (++window.__cdwStillN < 5) return false;
        return {{x: r.left + p.x, y: r.top + p.y}};
    }}""", node)


def empty_point(lab) -> dict[str, float]:
    """A point of the canvas that no node covers."""
    lab.evaluate(f"() => {CY}(0).container().scrollIntoView({{block: 'center'}})")
    return lab.evaluate(f"""() => {{
        const cy = {CY}(0), r = cy.container().getBoundingClientRect();
        const boxes = cy.nodes().map(n => n.renderedBoundingBox());
        for (const [fx, fy] of [[0.03, 0.03], [0.97, 0.03], [0.03, 0.97], [0.97, 0.97],
                                [0.5, 0.03], [0.03, 0.5]]) {{
            const x = fx * r.width, y = fy * r.height;
            if (!boxes.some(b => x >= b.x1 - 4 && x <= b.x2 + 4 && y >= b.y1 - 4
                            && y <= b.y2 + 4)) return {{x: r.left + x, y: r.top + y}};
        }}
        throw new Error('no empty point on the canvas');
    }}""")


def wait_selected(lab, node: str) -> None:
    """Wait until the page shows ``node`` as the one selected ("" for none)."""
    lab.wait_for_js(f"""(id) => {{
        const sel = {CY}(0).nodes('.cdw-selected').map(n => n.id());
        return id ? sel.length === 1 && sel[0] === id : sel.length === 0;
    }}""", node, timeout=60_000)


# ---- 1. stable layout, drag, Re-layout --------------------------------------------------------

STABLE = """\
g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
                     "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}},
                     "other": {"process": "add", "inputs": {"x": 2.0, "y": 2.0}}})
w = GraphWidget(g, reg)
w
"""
AFTER_STABLE = [
    'g.add("c", "add", {"x": ("b", "z"), "y": 1.0})',
    'print("OUT=" + json.dumps(w.positions))',
]


def test_nodes_keep_their_places_across_edits_and_relayout_lays_out_afresh(lab):
    """No images: in-process steps."""
    with notebook(lab, None, "canvas-stable.ipynb", [STABLE], AFTER_STABLE,
                  setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, ["a", "b", "other"])
        laid = lab.wait_for_js(f"() => +{CY}(0).container().dataset.cdwLayouts >= 1")
        assert laid
        # The user drags "other" to the right: it stays there, and the kernel knows.
        start = node_point(lab, "other")
        lab.page.mouse.move(start["x"], start["y"])
        lab.page.mouse.down()
        for i in range(1, 11):
            lab.page.mouse.move(start["x"] + 9 * i, start["y"] + 4 * i)
        lab.page.mouse.up()
        before = positions(lab)
        kept = kernel_positions(nb, lab)
        assert set(kept) == {"a", "b", "other"}, kept
        for n in kept:
            assert abs(kept[n]["x"] - before[n]["x"]) < 0.2, (n, kept, before)
            assert abs(kept[n]["y"] - before[n]["y"]) < 0.2, (n, kept, before)

        # An edit in code: a new node below its upstream, the others where they were.
        nb.run(0)
        wait_drawn(lab, ["a", "b", "c", "other"])
        after = positions(lab)
        for n in ("a", "b", "other"):
            assert abs(after[n]["x"] - before[n]["x"]) < 0.2, (n, after, before)
            assert abs(after[n]["y"] - before[n]["y"]) < 0.2, (n, after, before)
        assert after["c"]["y"] > after["b"]["y"] + 40, after  # below b
        assert abs(after["c"]["x"] - after["b"]["x"]) < 200, after  # near it
        lab.screenshot("canvas-stable-after-edit.png", selector=".cdw-graph-widget")
        kept = kernel_positions(nb, lab)
        assert set(kept) == {"a", "b", "c", "other"}, kept
        assert abs(kept["c"]["y"] - after["c"]["y"]) < 0.2, (kept, after)

        # Re-layout: laid out afresh, the drag forgotten (a, b, c in one column again).
        lab.click_button("Re-layout")
        lab.wait_for_js(f"""(old) => {{
            const n = {CY}(0).getElementById('other');
            return n.nonempty() && Math.abs(n.position('x') - old.x) > 1; }}""",
                        after["other"], timeout=60_000)
        fresh = positions(lab)
        assert fresh["a"]["y"] < fresh["b"]["y"] < fresh["c"]["y"], fresh
        lab.screenshot("canvas-stable-relayout.png", selector=".cdw-graph-widget")
    assert toolkit_console_problems(lab.console) == []


LOADED = '''\
text = """\\
a:
  process: add
  inputs: {x: 1.0, y: 1.0}
b:
  process: add
  inputs:
    x: {from: a, output: z}
    y: 1.0
layout:
  a: {x: 300.0, y: 0.0}
  b: {x: 0.0, y: 150.0}
"""
w = GraphWidget(Graph.from_yaml(text), reg)
w
'''


def test_a_graph_loaded_with_its_layout_section_is_drawn_where_it_was(lab):
    """No images: in-process steps."""
    with notebook(lab, None, "canvas-loaded.ipynb", [LOADED], setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, ["a", "b"])
        lab.wait_for_js(f"() => +{CY}(0).container().dataset.cdwLayouts >= 1")
        assert positions(lab) == {"a": {"x": 300.0, "y": 0.0}, "b": {"x": 0.0, "y": 150.0}}
    assert toolkit_console_problems(lab.console) == []


# ---- 2 and 4. a click on the empty canvas deselects; Delete; lineage --------------------------

SELECT = """\
g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
                     "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}},
                     "c": {"process": "add", "inputs": {"x": ("b", "z"), "y": 1.0}},
                     "side": {"process": "add", "inputs": {"x": ("a", "z"), "y": 2.0}},
                     "alone": {"process": "add", "inputs": {"x": 2.0, "y": 2.0}}})
w = GraphWidget(g, reg)
w
"""
AFTER_SELECT = ['print("OUT=" + json.dumps({"selected": w.selected, "nodes": list(g)}))']
LINEAGE = f"""() => {{
    const cy = {CY}(0);
    return {{dim: cy.nodes('.cdw-dim').map(n => n.id()).sort(),
             lineage: cy.edges('.cdw-lineage').map(e => e.source().id() + '>'
                                                    + e.target().id()).sort()}};
}}"""


def test_a_click_on_the_empty_canvas_deselects_delete_acts_on_the_selected_node_only(lab):
    """No images: in-process steps."""
    with notebook(lab, None, "canvas-select.ipynb", [SELECT], AFTER_SELECT,
                  setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, ["a", "b", "c", "side", "alone"])
        lab.click_cy_node("b")
        wait_selected(lab, "b")
        # Lineage: b's upstream (a) and downstream (c) stay lit, the rest is dimmed.
        lab.wait_for_js(f"() => {CY}(0).nodes('.cdw-dim').length === 2")
        assert lab.evaluate(LINEAGE) == {"dim": ["alone", "side"],
                                         "lineage": ["a>b", "b>c"]}
        lab.page.mouse.move(0, 0)
        lab.screenshot("canvas-lineage.png", selector=".cdw-graph-widget")

        point = empty_point(lab)
        lab.page.mouse.click(point["x"], point["y"])
        wait_selected(lab, "")
        lab.wait_for_js(f"() => {CY}(0).nodes('.cdw-dim').length === 0")
        assert lab.evaluate(LINEAGE) == {"dim": [], "lineage": []}
        assert kernel(nb, 0) == {"selected": "", "nodes": ["a", "b", "c", "side", "alone"]}

        lab.page.keyboard.press("Delete")  # the canvas is active, nothing is selected
        assert kernel(nb, 0) == {"selected": "", "nodes": ["a", "b", "c", "side", "alone"]}

        lab.click_cy_node("alone")
        wait_selected(lab, "alone")
        assert lab.evaluate(LINEAGE)["dim"] == ["a", "b", "c", "side"]
        lab.page.keyboard.press("Delete")
        wait_drawn(lab, ["a", "b", "c", "side"])
        assert kernel(nb, 0) == {"selected": "", "nodes": ["a", "b", "c", "side"]}
    assert toolkit_console_problems(lab.console) == []


# ---- 3. drawn off-screen, fitted when first shown ---------------------------------------------

LONG = 'print("\\n".join(f"line {i}" for i in range(400)))'
CHAIN = """\
g = Graph()
g.add("n0", "add", {"x": 1.0, "y": 1.0})
for i in range(1, 4):
    g.add(f"n{i}", "add", {"x": (f"n{i - 1}", "z"), "y": 1.0})
w = GraphWidget(g, reg, height="420px")
w
"""
INSIDE = f"""() => {{
    const cy = {CY}(0);
    if (!cy || cy.nodes().length !== 4) return false;
    const w = cy.width(), h = cy.height();
    return cy.nodes().every(n => {{
        const b = n.renderedBoundingBox();
        return b.x1 >= -1 && b.y1 >= -1 && b.x2 <= w + 1 && b.y2 <= h + 1; }});
}}"""


def test_a_canvas_drawn_off_screen_fits_when_first_shown(lab):
    """No images: in-process steps. Run All scrolls on to the long outputs after the widget
    while it is drawn."""
    with notebook(lab, None, "canvas-offscreen.ipynb", [CHAIN, LONG, LONG],
                  setup=PY_SETUP) as nb:
        nb.start()
        lab.wait_for_js(f"() => {CY}(0) && {CY}(0).nodes().length === 4", timeout=60_000)
        lab.evaluate(f"() => {CY}(0).container().scrollIntoView({{block: 'center'}})")
        lab.wait_for_js(INSIDE, timeout=60_000)
        lab.screenshot("canvas-offscreen-shown.png", selector=".cdw-graph-widget")
    assert toolkit_console_problems(lab.console) == []


# ---- 5. search: zoom to the match, Enter steps through the matches ---------------------------

SEARCH = """\
g = Graph()
for i in range(12):
    g.add(f"step {i}", "add", {"x": 1.0, "y": float(i)})
g.add("nap one", "nap", {"x": 1.0})
g.add("nap two", "nap", {"x": ("nap one", "z")})
g.add("nap three", "nap", {"x": ("nap two", "z")})
w = GraphWidget(g, reg, grouped=False)
w
"""
AFTER_SEARCH = ['print("OUT=" + json.dumps({"selected": w.selected}))']


def test_search_zooms_to_its_match_and_enter_steps_through_the_matches(lab):
    """No images: in-process steps."""
    with notebook(lab, None, "canvas-search.ipynb", [SEARCH], AFTER_SEARCH,
                  setup=PY_SETUP) as nb:
        nb.start()
        lab.wait_for_js(f"() => {CY}(0) && {CY}(0).nodes().length === 15", timeout=60_000)
        box = lab.page.locator(".cdw-graph-widget .cdw-search input").first
        box.click()
        box.press_sequentially("nap", delay=20)
        box.press("Enter")
        wait_selected(lab, "nap one")
        lab.wait_for_text("1 of 3", selector=".cdw-found")
        centred = f"""(id) => {{
            const cy = {CY}(0), p = cy.getElementById(id).renderedPosition();
            return cy.zoom() >= 0.99 && Math.abs(p.x - cy.width() / 2) < 2
                && Math.abs(p.y - cy.height() / 2) < 2; }}"""
        lab.wait_for_js(centred, "nap one")
        box.press("Enter")
        wait_selected(lab, "nap two")
        lab.wait_for_text("2 of 3", selector=".cdw-found")
        lab.wait_for_js(centred, "nap two")
        box.press("Enter")
        box.press("Enter")
        wait_selected(lab, "nap one")  # round again
        assert kernel(nb, 0) == {"selected": "nap one"}
    assert toolkit_console_problems(lab.console) == []


# ---- 6. a wide fan-in in rows -------------------------------------------------------------------

FAN = '''\
@process(outputs={"z": 1.0}, inputs={f"x{i}": 1.0 for i in range(200)}, cache=False)
def total(**xs):
    "z = the sum of its inputs."
    return {"z": sum(xs.values())}

reg.add(total)
g = Graph()
for i in range(200):
    g.add(f"source {i}", "add", {"x": float(i), "y": 1.0})
g.add("sink", "total", {f"x{i}": (f"source {i}", "z") for i in range(200)})
for i in range(16):  # a rank of 16 nodes with different neighbours stays one line
    g.add(f"reader {i}", "add", {"x": ("sink", "z"), "y": float(i)})
    g.add(f"after {i}", "add", {"x": (f"reader {i}", "z"), "y": 1.0})
w = GraphWidget(g, reg, grouped=False)
w
'''
ROWS = f"""() => {{
    const cy = {CY}(0), rows = {{}};
    for (const kind of ['source', 'sink', 'reader', 'after']) {{
        const ys = {{}};
        cy.nodes().filter(n => n.id().split(' ')[0] === kind).forEach(n => {{
            const y = Math.round(n.position('y'));
            ys[y] = (ys[y] || 0) + 1; }});
        rows[kind] = ys;
    }}
    return rows;
}}"""


def test_a_wide_fan_in_is_wrapped_into_rows(lab):
    """No images: in-process steps; 200 sources of one sink, not grouped."""
    with notebook(lab, None, "canvas-wide.ipynb", [FAN], setup=PY_SETUP) as nb:
        nb.start()
        lab.wait_for_js(f"() => {CY}(0) && {CY}(0).nodes().length === 233"
                        f" && +{CY}(0).container().dataset.cdwLayouts >= 1", timeout=60_000)
        rows = {kind: {int(y): n for y, n in ys.items()}
                for kind, ys in lab.evaluate(ROWS).items()}
        sources = rows["source"]
        assert sum(sources.values()) == 200, rows
        assert len(sources) >= 4 and max(sources.values()) <= 60, rows  # rows, not one line
        (sink,) = rows["sink"]
        assert sink > max(sources), rows  # below every row of its sources
        # Nodes of a rank with different neighbours are left in their line.
        assert list(rows["reader"].values()) == [16] and list(rows["after"].values()) == [16]
        assert sink < min(rows["reader"]) < min(rows["after"]), rows
        lab.page.mouse.move(0, 0)
        lab.screenshot("canvas-wide-rows.png", selector=".cdw-graph-widget")
    assert toolkit_console_problems(lab.console) == []


# ---- 7. the legend filters by status ------------------------------------------------------------

LEGEND = """\
g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
                     "bad": {"process": "divide", "inputs": {"a": 1.0, "b": 0.0}},
                     "after": {"process": "add", "inputs": {"x": ("bad", "z"), "y": 1.0}}})
w = GraphWidget(g, reg)
w
"""


def test_the_legend_filters_the_canvas_by_status(lab):
    """No images: in-process steps."""
    with notebook(lab, None, "canvas-legend.ipynb", [LEGEND], setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, ["a", "bad", "after"])
        lab.click_button("Run")
        lab.wait_for_js(f"""() => {{ const cy = {CY}(0);
            return cy.getElementById('bad').hasClass('failed')
                && cy.getElementById('after').hasClass('skipped')
                && cy.getElementById('a').hasClass('done'); }}""", timeout=60_000)
        shown = f"""() => {CY}(0).nodes().filter(n => n.visible()).map(n => n.id()).sort()"""
        item = '.cdw-graph-widget .cdw-legend-item[data-status="{}"]'
        lab.page.locator(item.format("failed")).first.click()
        lab.wait_for_js(f"() => JSON.stringify(({shown})()) === '[\"bad\"]'")
        assert lab.evaluate("() => document.querySelector('.cdw-graph-widget')"
                            ".dataset.cdwFilter") == "failed"
        lab.page.mouse.move(0, 0)
        lab.screenshot("canvas-legend-failed.png", selector=".cdw-graph-widget")
        lab.page.locator(item.format("done")).first.click()
        lab.wait_for_js(f"() => JSON.stringify(({shown})()) === '[\"a\"]'")
        lab.page.locator(item.format("done")).first.click()  # again: every node
        lab.wait_for_js(f"() => ({shown})().length === 3")
        assert lab.evaluate("() => document.querySelector('.cdw-graph-widget')"
                            ".dataset.cdwFilter") is None
    assert toolkit_console_problems(lab.console) == []


# ---- 8. Shift+drag from a node to another connects them ---------------------------------------

LINK = """\
@process(outputs={"z": 1.0}, cache=False)
def double(v: float = 1.0):
    '''z = 2 v.'''
    return {"z": 2 * v}

reg.add(double)
g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
                     "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}},
                     "d": {"process": "double", "inputs": {"v": 1.0}}})
w = GraphWidget(g, reg)
w
"""
AFTER_LINK = ['print("OUT=" + json.dumps({"d": str(g["d"].inputs["v"]), '
              '"a": str(g["a"].inputs["x"]), "edits": w.editor.edits}))']


def drag_link(lab, source: str, target: str, during=None) -> None:
    """Shift+drag from node ``source`` to node ``target``; ``during()`` before the drop."""
    start, end = node_point(lab, source), node_point(lab, target)
    lab.page.keyboard.down("Shift")
    lab.page.mouse.move(start["x"], start["y"])
    lab.page.mouse.down()
    for i in range(1, 13):
        lab.page.mouse.move(start["x"] + (end["x"] - start["x"]) * i / 12,
                            start["y"] + (end["y"] - start["y"]) * i / 12)
    if during is not None:
        during()
    lab.page.mouse.up()
    lab.page.keyboard.up("Shift")


def test_a_shift_drag_from_a_node_lights_what_it_may_feed_and_connects_on_the_drop(lab):
    """No images: in-process steps."""
    with notebook(lab, None, "canvas-link.ipynb", [LINK], AFTER_LINK, setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, ["a", "b", "d"])
        before = positions(lab)

        def lit() -> None:  # d fits (z -> v); a would make a cycle
            lab.wait_for_js(f"""() => {{ const cy = {CY}(0);
                return cy.getElementById('d').hasClass('cdw-target')
                    && cy.getElementById('a').hasClass('cdw-not-target'); }}""",
                            timeout=60_000)
            lab.screenshot("canvas-link-dragging.png", selector=".cdw-graph-widget")

        drag_link(lab, "b", "a", during=lit)  # dropped on a: refused, nothing changes
        lab.wait_for_js(f"() => {CY}(0).nodes('.cdw-target').length === 0")
        assert kernel(nb, 0) == {"d": "1.0", "a": "1.0", "edits": 0}
        after = positions(lab)
        assert abs(after["b"]["x"] - before["b"]["x"]) < 0.2, (before, after)  # not moved

        drag_link(lab, "b", "d")
        lab.wait_for_js(f"""() => {CY}(0).edges().some(e => e.source().id() === 'b'
                            && e.target().id() === 'd')""", timeout=60_000)
        assert kernel(nb, 0) == {"d": "b.z", "a": "1.0", "edits": 1}
    assert toolkit_console_problems(lab.console) == []
