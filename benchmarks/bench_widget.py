"""Does a GraphWidget slow a run down? The same graphs, headless and with the widget attached.

Runs inside a real IPython kernel (started here through jupyter_client), so every status update
the widget makes is serialised and sent over the kernel's IOPub socket as in a notebook.
Prints median wall times, the ratio widget / headless (target for container nodes: <= 1.05)
and the absolute cost per node (what matters for graphs of very fast in-process nodes).

    .venv/bin/python benchmarks/bench_widget.py [--rounds 10] [--nodes 300] [--container-nodes 32]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path

from jupyter_client.manager import start_new_kernel

KERNEL_CODE = """
import json, statistics, time
from containerdag_widgets import Graph, GraphWidget, Registry, process
from containerdag_widgets.standard import standard_registry
from IPython.display import display

@process(outputs={{"z": 1.0}})
def inc(x: float = 0.0):
    return {{"z": x + 1.0}}

def python_graph(n):
    # chains of 10 nodes side by side: both parallel branches and dependencies
    spec = {{}}
    for i in range(n):
        x = (f"n{{i - 1}}", "z") if i % 10 else float(i)
        spec[f"n{{i}}"] = {{"process": "inc", "inputs": {{"x": x}}}}
    return Graph.from_spec(spec)

def container_graph(n):
    return Graph.from_spec({{f"c{{i}}": {{"process": "python_add",
                                          "inputs": {{"x": float(i), "y": 1.0}}}}
                             for i in range(n)}})

def measure(make, reg, rounds, workers):
    # Two copies of one graph: one shown in a widget (built and displayed once, as a user has
    # it), one with none. Each run computes every node (cache=False).
    graph, twin = make(), make()
    w = GraphWidget(graph, reg)
    display(w)
    for g in (graph, twin):  # warm-up: containers and runners started
        g.run(reg, max_workers=workers, cache=False)
    w.wait_idle(600)
    headless, widget, shown = [], [], []
    for r in range(rounds):
        for mode in (("headless", "widget") if r % 2 == 0 else ("widget", "headless")):
            t = time.perf_counter()
            if mode == "headless":
                res = twin.run(reg, max_workers=workers, cache=False)
                headless.append(time.perf_counter() - t)
            else:
                res = graph.run(reg, max_workers=workers, cache=False)
                widget.append(time.perf_counter() - t)
                w.wait_idle(600)  # the widget's last update of the run has gone out
                shown.append(time.perf_counter() - t)
            assert res.ok, res.table()
    w.close()
    return [statistics.median(x) for x in (headless, widget, shown)]

reg = standard_registry(["containerdag/add_subtract:latest"])
reg.add(inc)
out = {{}}
out["python"] = measure(lambda: python_graph({nodes}), reg, {rounds}, 4)
out["container"] = measure(lambda: container_graph({container_nodes}), reg, {rounds} * 30, 8)
reg.close()
print("RESULT " + json.dumps(out))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--nodes", type=int, default=300)
    parser.add_argument("--container-nodes", type=int, default=32)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    # The kernel must be this environment's Python.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        code = textwrap.dedent(KERNEL_CODE).format(
            nodes=args.nodes, rounds=args.rounds, container_nodes=args.container_nodes)
        lines: list[str] = []
        errors: list[str] = []

        def on_output(msg: dict) -> None:
            kind = msg["msg_type"]
            if kind == "stream":
                lines.extend(msg["content"]["text"].splitlines())
            elif kind == "error":
                errors.append("\n".join(msg["content"]["traceback"]))

        reply = kc.execute_interactive(code, timeout=900, output_hook=on_output)
        if reply["content"]["status"] != "ok" or errors:
            print("\n".join(errors) or reply["content"], file=sys.stderr)
            return 1
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    result = json.loads(next(x for x in lines if x.startswith("RESULT "))[len("RESULT "):])
    rows = []
    for name, (headless, widget, shown) in result.items():
        rows.append({"graph": name, "headless_s": headless, "widget_s": widget,
                     "ratio": widget / headless, "shown_s": shown})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'graph':<10} {'headless ms':>12} {'widget ms':>10} {'ratio':>6} "
          f"{'shown ms':>9}")
    for r in rows:
        print(f"{r['graph']:<10} {r['headless_s'] * 1000:>12.2f} {r['widget_s'] * 1000:>10.2f} "
              f"{r['ratio']:>6.3f} {r['shown_s'] * 1000:>9.2f}")
    print(f"python graph: {args.nodes} in-process nodes in chains of 10, medians of "
          f"{args.rounds}; container graph: {args.container_nodes} independent python_add "
          f"nodes, medians of {args.rounds * 30}; no cache. 'widget': the run with a displayed "
          "widget watching it; 'shown': until the widget's last update of it went out.")
    sizes = {"python": args.nodes, "container": args.container_nodes}
    for r in rows:
        extra = (r["widget_s"] - r["headless_s"]) * 1000 / sizes[r["graph"]]
        print(f"{r['graph']}: the widget adds {extra:+.2f} ms per node")
    container = next(r for r in rows if r["graph"] == "container")
    print(f"target (container graph) widget/headless <= 1.05: "
          f"{'met' if container['ratio'] <= 1.05 else 'NOT met'} ({container['ratio']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
