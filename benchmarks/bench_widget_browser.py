"""The graph widget in a real page: JupyterLab in headless Chromium (the browser tests' harness).

Measures
  1. first layout: from running the cell that shows a GraphWidget of N nodes (200, 1000; a
     binary tree whose leaves start chains, ungrouped) to all N nodes laid out in the page;
  2. status latency: from a node's status change in the kernel (the event's time) to the frame
     that draws its new colour (Cytoscape's ``class`` event, then the next animation frame),
     over a run of 15 sequential nodes (30 changes); median and 90th percentile;
  3. run cost: a graph of 16 container nodes (python_add, 8 workers, no cache) run with a
     displayed widget watching it against the same graph run headless; median of rounds.

    .venv/bin/python benchmarks/bench_widget_browser.py [--rounds 300]

Needs Docker with the example images, and Chromium (./scripts/setup.sh).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.lab import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, Lab, start_lab_server  # noqa: E402

SETUP = """\
import json, statistics, time
from containerdag_widgets import Graph, GraphWidget, Session, process
from containerdag_widgets.standard import standard_registry
reg = standard_registry()

@process(outputs={"z": 1.0}, cache=False)
def nap(x: float = 1.0, seconds: float = 0.15):
    time.sleep(seconds)
    return {"z": x}

reg.add(nap)

def tree(n):
    spec = {}
    for i in range(n):
        parent = None if i == 0 else (i - 1) // 2 if i < 31 else i - 16
        x = 1.0 if parent is None else (f"n{parent}", "z")
        spec[f"n{i}"] = {"process": "python_add", "inputs": {"x": x, "y": 1.0}}
    return Graph.from_spec(spec)

def adds(n):
    return Graph.from_spec({f"a{i}": {"process": "python_add",
                                      "inputs": {"x": float(i), "y": 0.5}} for i in range(n)})
"""
SHOW = """\
t = time.perf_counter()
w{n} = GraphWidget(tree({n}), reg, grouped=False)
display(w{n})
print("KERNEL=%.3f" % (time.perf_counter() - t))
"""
LATENCY_SHOW = """\
gl = Graph.from_spec({f"s{i}": {"process": "nap", "inputs": {"x": float(i), "seconds": 0.15}}
                      for i in range(15)})
wl = GraphWidget(gl, reg)
display(wl)
"""
LATENCY_RUN = """\
events = []
def record(e):
    if type(e).__name__ in ("NodeStarted", "NodeFinished"):
        events.append([e.node, "running" if type(e).__name__ == "NodeStarted" else e.status,
                       e.time])
stop = Session.of(reg).subscribe(record, graph=gl)
gl.run(reg, max_workers=1, cache=False)
wl.wait_idle(10)
stop()
print("EVENTS=" + json.dumps(events))
"""
COST = """\
gw, gh = adds(16), adds(16)
ww = GraphWidget(gw, reg)
display(ww)
"""
COST_RUN = """\
headless, widget, idle = [], [], []
gh.run(reg, max_workers=8, cache=False); gw.run(reg, max_workers=8, cache=False)  # warm
for r in range({rounds}):
    for name in (("h", "w") if r % 2 else ("w", "h")):
        t = time.perf_counter()
        if name == "h":
            gh.run(reg, max_workers=8, cache=False)
            headless.append(time.perf_counter() - t)
        else:
            gw.run(reg, max_workers=8, cache=False)
            widget.append(time.perf_counter() - t)
            ww.wait_idle(10)
            idle.append(time.perf_counter() - t)
print("COST=" + json.dumps([headless, widget, idle]))
"""
CYS = """[...document.querySelectorAll('.custom-widget')]
    .filter(el => el._cyreg && el._cyreg.cy).map(el => el._cyreg.cy)"""
WATCH_LAYOUT = f"""([i, n]) => {{
    window.__t0 = performance.now(); window.__laid = null;
    const tick = () => {{
        const cy = ({CYS})[i];
        if (cy && cy.nodes().length === n && +cy.container().dataset.cdwLayouts >= 1) {{
            window.__laid = performance.now() - window.__t0; return; }}
        requestAnimationFrame(tick);
    }};
    requestAnimationFrame(tick);
}}"""
WATCH_CLASSES = f"""(i) => {{
    window.__drawn = [];
    const cy = ({CYS})[i];
    cy.on('class', 'node', (e) => {{
        const n = e.target;
        const st = ['running', 'done', 'failed', 'cached'].find(s => n.hasClass(s));
        if (!st) return;
        requestAnimationFrame(() => window.__drawn.push(
            [n.id(), st, (performance.timeOrigin + performance.now()) / 1000]));
    }});
}}"""


def printed(lab: Lab, index: int, key: str) -> str:
    m = re.search(key + r"=(.*)", lab.cell_output_text(index))
    if not m:
        raise RuntimeError(f"cell {index} printed no {key}: {lab.cell_output_text(index)!r}")
    return m.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    cells = [SETUP, SHOW.format(n=200), SHOW.format(n=1000), LATENCY_SHOW, LATENCY_RUN, COST,
             COST_RUN.format(rounds=args.rounds), "reg.close()"]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        server = start_lab_server(Path(tmp), python=sys.executable)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(180_000)
            lab = Lab(page, server, Path(tmp) / "artifacts", default_timeout=180_000)
            lab.write_notebook("bench.ipynb", cells)
            lab.open("bench.ipynb")
            lab.run_cell(0)
            layout = {}
            for index, n in ((1, 200), (2, 1000)):
                lab.evaluate(WATCH_LAYOUT, [index - 1, n])
                lab.run_cell(index)
                took = lab.wait_for_js("() => window.__laid", timeout=180_000) / 1000
                layout[n] = (took, float(printed(lab, index, "KERNEL")))
            lab.run_cell(3)
            lab.wait_for_cy(2, min_nodes=15)
            lab.evaluate(WATCH_CLASSES, 2)
            lab.run_cell(4)
            page.wait_for_timeout(500)
            drawn = lab.evaluate("() => window.__drawn")
            events = json.loads(printed(lab, 4, "EVENTS"))
            seen = {}
            for node, status, t in drawn:
                seen.setdefault((node, status), t)
            lat = sorted(1000 * (seen[(n, s)] - t) for n, s, t in events if (n, s) in seen)
            lab.run_cell(5)
            lab.run_cell(6, timeout=600_000)
            headless, widget, idle = json.loads(printed(lab, 6, "COST"))
            lab.run_cell(7)
        finally:
            browser.close()
            server.stop()
    for n, (took, kernel) in layout.items():
        print(f"first layout, {n} nodes: cell run -> laid out in the page {took:.2f} s "
              f"(widget built in the kernel in {kernel:.2f} s)")
    p90 = lat[int(0.9 * (len(lat) - 1))]
    print(f"status change in the kernel -> new colour drawn: median {statistics.median(lat):.0f}"
          f" ms, p90 {p90:.0f} ms, max {lat[-1]:.0f} ms ({len(lat)} of {len(events)} changes "
          "seen; the widget pushes every update_interval = 100 ms)")
    h, w = statistics.median(headless), statistics.median(widget)
    print(f"16 container nodes, 8 workers, {args.rounds} rounds: headless {h * 1000:.2f} ms, "
          f"with a displayed widget {w * 1000:.2f} ms, ratio {w / h:.3f} (until the widget's "
          f"last update: {statistics.median(idle) * 1000:.2f} ms)")


if __name__ == "__main__":
    main()
