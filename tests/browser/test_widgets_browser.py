"""The package's widgets in a real JupyterLab (headless Chromium) driving a real Docker engine.

Every notebook starts with ``reg = standard_registry(IMAGES)`` (nb.py) and ends with
``reg.close()``. The
cells before the close run first; the test then clicks in the page; then the remaining cells
(reports read back from the kernel, and the close) run. Afterwards no container of the
registry's session may be left.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.browser.nb import CY, inner_text, node_classes, notebook, wait_statuses
from tests.seed import SEED_GRAPH

pytestmark = pytest.mark.browser


# ---------------------------------------------------------------------------------------------
# 1. Registry
# ---------------------------------------------------------------------------------------------


OVERLAPS = f"""() => {{
    const cy = {CY}(0);
    const hit = (a, b) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
    const count = (boxes) => boxes.reduce(
        (acc, a, i) => acc + boxes.slice(i + 1).filter(b => hit(a, b)).length, 0);
    return {{groups: count(cy.nodes('.group').map(n => n.boundingBox())),
             processes: count(cy.nodes().filter(n => n.isChildless()).map(n => n.boundingBox()))}};
}}"""


def test_registry_widget(lab, docker_client):
    with notebook(lab, docker_client, "registry.ipynb", ["rw = RegistryWidget(reg)\nrw"]) as nb:
        nb.start()
        lab.wait_for_cy(min_nodes=5)
        nodes = {n["id"]: n for n in lab.cy_nodes()}
        groups = {
            "group:containerdag/add_subtract:latest": ["python_add", "python_subtract"],
            "group:containerdag/multiply_divide:latest": ["c_divide", "c_multiply"],
            "group:python": ["random float", "random choice"],
        }
        for group, children in groups.items():
            assert group in nodes, sorted(nodes)
            assert "group" in nodes[group]["classes"]
            for child in children:
                assert nodes[child]["data"].get("parent") == group, nodes[child]
        processes = [n for n in nodes.values() if "parent" in n["data"]]
        overlaps = lab.evaluate(OVERLAPS)
        print(
            f"\nregistry layout (cose): overlapping group pairs {overlaps['groups']}, "
            f"overlapping process pairs {overlaps['processes']}"
        )

        lab.click_cy_node("c_divide")
        panel = '.cdw-process-panel .cdw-process-body[data-process="c_divide"]'
        lab.wait_for_text("Division. z = a / b", selector=panel)
        lab.screenshot("registry-widget.png", selector=".cdw-registry-widget")

        summary = inner_text(lab, ".cdw-registry-summary")
        m = re.match(r"(\d+) of (\d+) processes", summary)
        assert m and int(m.group(1)) == int(m.group(2)) == len(processes), summary

        lab.page.locator(".cdw-registry-widget input[type=text]").press_sequentially("add")
        lab.wait_for_js(
            """([sel, before]) => {
                const t = document.querySelector(sel)?.innerText || '';
                return /^\\d+ of \\d+ processes/.test(t) && t !== before && t; }""",
            [".cdw-registry-summary", summary],
        )
        # The summary can change once per keystroke: wait for the final one ("add").
        lab.wait_for_js(
            f"""() => {{ const cy = {CY}(0);
                return cy && cy.getElementById('c_divide').empty()
                    && cy.getElementById('python_add').nonempty(); }}"""
        )
        # Under load the summary of an earlier keystroke ("ad") can still be shown: wait until
        # the summary and the canvas agree, then check what they agree on.
        lab.wait_for_js(
            f"""(sel) => {{ const cy = {CY}(0);
                const m = (document.querySelector(sel)?.innerText || '').match(/^(\\d+) of/);
                return cy && m && cy.nodes().filter(x => x.data('parent')).length === +m[1]; }}""",
            ".cdw-registry-summary",
        )
        filtered = inner_text(lab, ".cdw-registry-summary")
        shown, total = map(int, re.match(r"(\d+) of (\d+)", filtered).groups())
        assert 0 < shown < total == len(processes), filtered
        assert len(lab.cy_nodes()) < len(nodes)
        lab.screenshot("registry-widget-filtered.png", selector=".cdw-registry-widget")


# ---------------------------------------------------------------------------------------------
# 2. The seed graph: Run, watch, inspect
# ---------------------------------------------------------------------------------------------

SEED = f"""\
g = Graph.from_spec({SEED_GRAPH!r})
w = GraphWidget(g, reg)
display(w)
OutputTable(w)
"""
SEED_NODES = list(SEED_GRAPH)

GEOMETRY = f"""() => {{
    const cy = {CY}(0);
    const row = cy.container().closest('.cdw-canvas-host').parentElement;
    const inspector = row.querySelector('.cdw-inspector');
    return {{row: row.getBoundingClientRect().width,
             canvas: cy.container().getBoundingClientRect().width,
             inspector: inspector.getBoundingClientRect().width,
             cyWidth: cy.width(), cyHeight: cy.height(),
             bbox: cy.nodes().renderedBoundingBox()}};
}}"""


def test_seed_graph_run_watch_inspect(lab, docker_client):
    report = 'print("Z=" + json.dumps(w.outputs["node c"]["z"]), "STATUS=" + json.dumps(w.status))'
    with notebook(lab, docker_client, "seed.ipynb", [SEED], after=[report]) as nb:
        nb.start()
        lab.wait_for_cy(min_nodes=5)
        assert sorted(node_classes(lab)) == sorted(SEED_NODES)
        wait_statuses(lab, dict.fromkeys(SEED_NODES, "pending"))
        lab.wait_for_text("0/5 done", selector=".cdw-progress")

        t0 = time.monotonic()
        lab.click_button("Run")
        lab.wait_for_text("5/5 done", selector=".cdw-progress")
        wait_statuses(lab, dict.fromkeys(SEED_NODES, "done"))
        print(f"\nseed graph: Run click -> 5/5 done, all green: {time.monotonic() - t0:.2f}s")

        row = '.cdw-output-table tr[data-node="node c"]'
        lab.wait_for_selector(row)
        table_z = inner_text(lab, f"{row} td.cdw-value")

        lab.click_cy_node("node c")
        body = '.cdw-inspector .cdw-inspector-body[data-node="node c"]'
        lab.wait_for_selector(f"{body} .cdw-outputs")
        shown_z = lab.page.evaluate(
            """(sel) => [...document.querySelectorAll(sel + ' .cdw-outputs tr')]
                .filter(tr => tr.querySelector('th')?.innerText.trim() === 'z')
                .map(tr => tr.querySelector('td').innerText.trim())[0] ?? null""",
            body,
        )
        assert "done" in inner_text(lab, f"{body} .cdw-status")
        geometry = lab.evaluate(GEOMETRY)
        # The inspector gets its share of the row (flex 3:2), not the leftover of a canvas
        # that kept its first width; every node is drawn inside the canvas.
        assert geometry["inspector"] > 0.3 * geometry["row"], geometry
        bb, w, h = geometry["bbox"], geometry["cyWidth"], geometry["cyHeight"]
        assert bb["x1"] >= 0 and bb["y1"] >= 0 and bb["x2"] <= w and bb["y2"] <= h, geometry
        lab.page.mouse.move(0, 0)  # no hover effects in the picture
        lab.screenshot("graph-widget.png", selector=".cdw-graph-widget")

        nb.finish()
        out = nb.output(0)
        m = re.search(r"Z=(\S+) STATUS=(.*)", out)
        assert m, out
        kernel_z = m.group(1)
        assert json.loads(m.group(2)) == dict.fromkeys(SEED_NODES, "done")
        assert shown_z == kernel_z == table_z, (shown_z, kernel_z, table_z)
        z = float(kernel_z)
        assert 0.6 < z < 1.9, z  # z = a / (a + n), a in {17.7, 21.9, 23.2}, n in [-5, 5]


# ---------------------------------------------------------------------------------------------
# 3. A failure is shown
# ---------------------------------------------------------------------------------------------

FAILING = """\
g = Graph.from_spec({
    "one": {"process": "python_add", "inputs": {"x": 0.5, "y": 0.5}},
    "divide": {"process": "c_divide", "inputs": {"a": ("one", "z"), "b": 0.0}},
    "after": {"process": "python_add", "inputs": {"x": ("divide", "z"), "y": 1.0}},
})
w = GraphWidget(g, reg)
w
"""


def test_failure_shown(lab, docker_client):
    with notebook(lab, docker_client, "failing.ipynb", [FAILING]) as nb:
        nb.start()
        lab.wait_for_cy(min_nodes=3)
        lab.click_button("Run")
        lab.wait_for_text("1 failed, 1 skipped of 3", selector=".cdw-progress")
        wait_statuses(lab, {"one": "done", "divide": "failed", "after": "skipped"})
        lab.wait_for_text("failed", selector=".cdw-message")

        lab.click_cy_node("divide")
        body = '.cdw-inspector .cdw-inspector-body[data-node="divide"]'
        lab.wait_for_text("division by zero", selector=f"{body} .cdw-error")
        assert "failed" in inner_text(lab, f"{body} .cdw-status")
        lab.screenshot("graph-failed.png", selector=".cdw-graph-widget")


# ---------------------------------------------------------------------------------------------
# 4. Stop
# ---------------------------------------------------------------------------------------------

SLOW = """\
g = Graph.from_spec({
    "s1": {"process": "slow", "inputs": {"seconds": 30.0, "tag": "1"}},
    "s2": {"process": "slow", "inputs": {"seconds": 30.0, "tag": ("s1", "tag")}},
    "s3": {"process": "slow", "inputs": {"seconds": 30.0, "tag": ("s2", "tag")}},
    "solo": {"process": "slow", "inputs": {"seconds": 30.0, "tag": "solo"}},
})
w = GraphWidget(g, reg)
w
"""


def test_stop(lab, docker_client):
    report = 'print("STATUS=" + json.dumps(w.status), "RUNNING=" + json.dumps(w.running))'
    with notebook(lab, docker_client, "stop.ipynb", [SLOW], after=[report]) as nb:
        nb.start()
        lab.wait_for_cy(min_nodes=4)
        lab.click_button("Run")
        wait_statuses(lab, {"s1": "running", "solo": "running", "s2": "pending"})
        lab.screenshot("graph-running.png", selector=".cdw-graph-widget")

        t0 = time.monotonic()
        lab.click_button("Stop")
        final = {"s1": "cancelled", "solo": "cancelled", "s2": "skipped", "s3": "skipped"}
        lab.wait_for_js(
            f"""() => {{ const cy = {CY}(0);
                return cy.nodes().every(n => !n.hasClass('running') && !n.hasClass('pending'));
            }}""",
            timeout=15_000,
        )
        stopped_after = time.monotonic() - t0
        wait_statuses(lab, final, timeout=5_000)
        lab.wait_for_text("2 skipped, 2 cancelled of 4", selector=".cdw-progress", timeout=5_000)
        print(f"\nStop click -> no node running/pending: {stopped_after:.2f}s")
        assert stopped_after < 15
        lab.page.mouse.move(0, 0)
        lab.screenshot("graph-stopped.png", selector=".cdw-graph-widget")

        nb.finish()
        out = nb.output(0)
        m = re.search(r"STATUS=(.*) RUNNING=(\w+)", out)
        assert m, out
        assert json.loads(m.group(1)) == final
        assert m.group(2) == "false"


# ---------------------------------------------------------------------------------------------
# 5. Layout of a few hundred nodes
# ---------------------------------------------------------------------------------------------

BIG = """\
@process(outputs={{"y": 0}}, name="inc")
def inc(x: int = 0):
    \"\"\"y = x + 1.\"\"\"
    return {{"y": x + 1}}

reg.add(inc)
N = {n}
# A binary tree of 31 nodes whose 16 leaves each start a chain: 16 columns, about 21 ranks.
spec = {{}}
for i in range(N):
    parent = None if i == 0 else (i - 1) // 2 if i < 31 else i - 16
    x = 0 if parent is None else (f"n{{parent}}", "y")
    spec[f"n{{i}}"] = {{"process": "inc", "inputs": {{"x": x}}}}
g = Graph.from_spec(spec)
w = GraphWidget(g, reg, layout_name={layout!r}, grouped=False)
w
"""

# JS: record (once) the performance.now() at which widget 0 has n nodes at distinct finite
# positions, i.e. the layout has run (nodes are added at one spot, then laid out at once).
WATCH_LAYOUT = f"""(n) => {{
    window.__cdagLaidOut = null;
    const tick = () => {{
        const cy = {CY}(0);
        if (cy && cy.nodes().length >= n) {{
            const keys = new Set();
            let ok = true;
            cy.nodes().forEach(node => {{
                const p = node.position();
                if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) ok = false;
                keys.add(p.x.toFixed(2) + ',' + p.y.toFixed(2));
            }});
            if (ok && keys.size === cy.nodes().length) {{
                window.__cdagLaidOut = performance.now();
                return;
            }}
        }}
        requestAnimationFrame(tick);
    }};
    requestAnimationFrame(tick);
}}"""

RELAYOUT = f"""(opts) => {{
    const cy = {CY}(0);
    const t = performance.now();
    cy.layout(opts).run();
    return performance.now() - t;
}}"""
DAGRE = {
    "name": "dagre",
    "rankDir": "TB",
    "nodeSep": 30,
    "rankSep": 50,
    "animate": False,
    "fit": True,
    "padding": 20,
}
BREADTHFIRST = {
    "name": "breadthfirst",
    "directed": True,
    "spacingFactor": 1.1,
    "animate": False,
    "fit": True,
    "padding": 20,
}


def _measure(lab, docker_client, layout: str, n: int = 300) -> dict[str, float]:
    cells = [BIG.format(n=n, layout=layout)]
    with notebook(lab, docker_client, f"big-{layout}.ipynb", cells) as nb:
        nb.start(before_run=lambda: lab.evaluate(WATCH_LAYOUT, n))
        t_cells = lab.evaluate("() => performance.now() - window.__cdagRunAllStart")
        laid_out = lab.wait_for_js(
            "() => window.__cdagLaidOut && window.__cdagLaidOut - window.__cdagRunAllStart",
            timeout=60_000,
        )
        if layout == "dagre":  # top-down ranks: 5 tree levels, then 17 more chain steps
            levels = (f"() => new Set({CY}(0).nodes().map(n => Math.round(n.position('y'))))"
                      ".size")
            try:  # positions can be finite a frame before dagre has placed every node
                lab.wait_for_js(f"() => ({levels})() === 22", timeout=10_000)
            except Exception:
                pytest.fail(f"dagre gave {lab.evaluate(levels)} levels, expected 22")
        nodes = lab.cy_nodes()
        assert len(nodes) == n
        assert len(lab.evaluate(f"() => {CY}(0).edges().map(e => e.id())")) == n - 1
        lab.screenshot(f"graph-{n}-{layout}.png", selector=".cdw-graph-widget")
        again = {
            "dagre": lab.evaluate(RELAYOUT, DAGRE),
            "breadthfirst": lab.evaluate(RELAYOUT, BREADTHFIRST),
        }
    return {
        "cells": t_cells / 1000,
        "laid_out": laid_out / 1000,
        **{f"relayout_{k}": v / 1000 for k, v in again.items()},
    }


def test_layout_300_nodes(lab, docker_client):
    times = {"dagre": _measure(lab, docker_client, "dagre")}
    if times["dagre"]["laid_out"] > 5:
        times["breadthfirst"] = _measure(lab, docker_client, "breadthfirst")
    for layout, t in times.items():
        print(
            f"\n300 nodes, layout_name={layout!r}: run-all start -> 300 nodes laid out "
            f"{t['laid_out']:.2f}s (cells done after {t['cells']:.2f}s); in-page re-layout of "
            f"the same 300 nodes: dagre {t['relayout_dagre']:.3f}s, "
            f"breadthfirst {t['relayout_breadthfirst']:.3f}s"
        )
    for t in times.values():
        assert t["laid_out"] < 60


# ---------------------------------------------------------------------------------------------
# 6. The newcomer's path: %%node cells, %dag show, press Run, read a node
# ---------------------------------------------------------------------------------------------

MAGIC_CELLS = [
    "%load_ext containerdag_widgets\n%dag use reg",
    "%%node node alpha\nprocess: random choice\ninputs:\n  choices: [1.2, 5.4, 6.7]",
    "%%node node beta\nprocess: random float\ninputs: {min: -5.0, max: 5.0}",
    "%%node node a\nprocess: process.python_add\ninputs:\n"
    "  x: {from: node alpha, output: choice}\n  y: 16.5",
    "%%node node b\nprocess: process.python_add\ninputs:\n"
    "  x: {from: node a, output: z}\n  y: {from: node beta, output: n}",
    "%%node node c\nprocess: process.c_divide\ninputs:\n"
    "  a: {from: node a, output: z}\n  b: {from: node b, output: z}",
    "%dag show",
]


def test_magics_graph_run_in_the_page(lab, docker_client):
    after = ["%unload_ext containerdag_widgets"]
    with notebook(lab, docker_client, "magics.ipynb", MAGIC_CELLS, after=after) as nb:
        nb.start()
        lab.wait_for_cy(min_nodes=5)
        wait_statuses(lab, dict.fromkeys(SEED_NODES, "pending"))
        lab.click_button("Run")
        lab.wait_for_text("5/5 done", selector=".cdw-progress")
        wait_statuses(lab, dict.fromkeys(SEED_NODES, "done"))
        lab.click_cy_node("node c")
        body = '.cdw-inspector .cdw-inspector-body[data-node="node c"]'
        lab.wait_for_selector(f"{body} .cdw-outputs")
        assert re.search(r"z\s+-?\d", inner_text(lab, f"{body} .cdw-outputs"))
