"""Does a GraphWidget slow a run down? The same graphs, headless and with the widget attached.

Runs inside a real IPython kernel (started here through jupyter_client), so every status update
the widget makes is serialised and sent over the kernel's IOPub socket as in a notebook.
Prints median wall times, the ratio widget / headless (target for container nodes: <= 1.05)
and the absolute cost per node (what matters for graphs of very fast in-process nodes).

    .venv/bin/python benchmarks/bench_widget.py [--rounds 5] [--nodes 300] [--container-nodes 32]
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

def measure(graph, reg, rounds, workers):
    headless, widget = [], []
    graph.run(reg, max_workers=workers)  # warm-up: containers started, caches filled
    for r in range(rounds):
        for mode in (("headless", "widget") if r % 2 == 0 else ("widget", "headless")):
            if mode == "headless":
                t = time.perf_counter()
                res = graph.run(reg, max_workers=workers)
                headless.append(time.perf_counter() - t)
            else:
                w = GraphWidget(graph, reg)
                w.max_workers = workers
                display(w)
                t = time.perf_counter()
                res = w.run(timeout=600)
                widget.append(time.perf_counter() - t)
                w.close()
            assert res.ok, res.table()
    return statistics.median(headless), statistics.median(widget)

reg = standard_registry(["containerdag/add_subtract:latest"])
reg.add(inc)
out = {{}}
out["python"] = measure(python_graph({nodes}), reg, {rounds}, 4)
out["container"] = measure(container_graph({container_nodes}), reg, {rounds}, 8)
reg.close()
print("RESULT " + json.dumps(out))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
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
    for name, (headless, widget) in result.items():
        rows.append({"graph": name, "headless_s": headless, "widget_s": widget,
                     "ratio": widget / headless})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'graph':<10} {'headless s':>11} {'widget s':>9} {'ratio':>6}")
    for r in rows:
        print(f"{r['graph']:<10} {r['headless_s']:>11.3f} {r['widget_s']:>9.3f} "
              f"{r['ratio']:>6.3f}")
    print(f"python graph: {args.nodes} in-process nodes in chains of 10; container graph: "
          f"{args.container_nodes} independent python_add nodes; medians of {args.rounds}.")
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
