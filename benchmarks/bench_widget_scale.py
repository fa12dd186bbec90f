"""What a 2,000-node GraphWidget costs to build and show, and whether close() frees it.

Each side runs in a real IPython kernel (jupyter_client), so every widget opens a real comm
and every message is serialised and sent on IOPub as in a notebook. The baseline is the
toolkit as of a git ref (default ``acc2293``, the last commit with one ipycytoscape widget per
node and edge), checked out in a temporary worktree and measured in the same run, in its own
kernel. Prints per side: construction + display time (median), comms opened, bytes sent on
IOPub, live widget instances after ``close()`` against the count before; and the ratios.

Targets (issue 11): construction <= 0.5 x the baseline; live widgets after close() back to the
count before.

    .venv/bin/python benchmarks/bench_widget_scale.py [--nodes 2000] [--rounds 3] [--ref acc2293]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent

KERNEL_CODE = """
import sys
sys.path.insert(0, {root!r})
import json, time
from ipywidgets.widgets.widget import _instances
from IPython.display import display
from containerdag_widgets import Graph, GraphWidget, Registry, process

@process(outputs={{"z": 1.0}})
def inc(x: float = 0.0):
    return {{"z": x + 1.0}}

spec = {{f"n{{i}}": {{"process": "inc",
                      "inputs": {{"x": (f"n{{i - 1}}", "z") if i % 10 else float(i)}}}}
        for i in range({nodes})}}
graph = Graph.from_spec(spec)
reg = Registry([inc])
GraphWidget(Graph.from_spec({{"warm": {{"process": "inc", "inputs": {{}}}}}}), reg).close()
before = len(_instances)
t = time.perf_counter()
w = GraphWidget(graph, reg, grouped=False)
display(w)
built = time.perf_counter() - t
opened = len(_instances) - before
w.close()
after = len(_instances)
import containerdag_widgets
print("RESULT " + json.dumps({{"module": containerdag_widgets.__file__, "built": built,
                              "opened": opened, "before": before, "after": after}}))
"""


def measure(root: Path, nodes: int) -> dict:
    """One kernel: build and show the widget, count what it opened and sent, close it."""
    km, kc = start_new_kernel(kernel_name="python3")
    sent = {"comm_open": 0, "comm_msg": 0, "bytes": 0}
    lines: list[str] = []
    errors: list[str] = []

    def on_output(msg: dict) -> None:
        kind = msg["msg_type"]
        if kind in ("comm_open", "comm_msg"):
            sent[kind] += 1
            sent["bytes"] += len(json.dumps(msg["content"]))
        elif kind == "stream":
            lines.extend(msg["content"]["text"].splitlines())
        elif kind == "error":
            errors.append("\n".join(msg["content"]["traceback"]))

    try:
        code = textwrap.dedent(KERNEL_CODE).format(root=str(root), nodes=nodes)
        reply = kc.execute_interactive(code, timeout=600, output_hook=on_output)
        if reply["content"]["status"] != "ok" or errors:
            raise RuntimeError("\n".join(errors) or str(reply["content"]))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    result = json.loads(next(x for x in lines if x.startswith("RESULT "))[len("RESULT "):])
    if not result["module"].startswith(str(root)):
        raise RuntimeError(f"the kernel imported {result['module']}, not the tree in {root}")
    return {**result, **sent}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ref", default="acc2293", help="the baseline's git ref")
    args = parser.parse_args()
    # The kernels must be this environment's Python.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    with tempfile.TemporaryDirectory(prefix="cdw-baseline-") as tmp:
        base = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base),
                        args.ref], check=True, capture_output=True)
        try:
            runs: dict[str, list[dict]] = {"baseline": [], "now": []}
            for _ in range(args.rounds):  # alternate, so load on the machine hits both
                runs["baseline"].append(measure(base, args.nodes))
                runs["now"].append(measure(ROOT, args.nodes))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(base)], check=False, capture_output=True)
    rows = {}
    for side, results in runs.items():
        rows[side] = {"built": statistics.median(r["built"] for r in results),
                      **{k: results[-1][k] for k in ("opened", "comm_open", "comm_msg",
                                                     "bytes", "before", "after")}}
    print(f"{args.nodes}-node GraphWidget (chains of 10, ungrouped), median of {args.rounds} "
          f"kernels per side; baseline = {args.ref}")
    print(f"{'side':<9} {'build+show s':>12} {'widgets':>8} {'comm_open':>9} {'comm_msg':>8} "
          f"{'MB sent':>8} {'live before/after close':>24}")
    for side, r in rows.items():
        print(f"{side:<9} {r['built']:>12.3f} {r['opened']:>8} {r['comm_open']:>9} "
              f"{r['comm_msg']:>8} {r['bytes'] / 1e6:>8.2f} "
              f"{str(r['before']) + ' / ' + str(r['after']):>24}")
    ratio = rows["now"]["built"] / rows["baseline"]["built"]
    freed = rows["now"]["after"] == rows["now"]["before"]
    print(f"construction now / baseline: {ratio:.3f} (target <= 0.5: "
          f"{'met' if ratio <= 0.5 else 'NOT met'})")
    print(f"live widgets after close() back to the count before: {'yes' if freed else 'NO'} "
          f"(baseline: {rows['baseline']['after'] - rows['baseline']['before']:+d})")
    return 0 if ratio <= 0.5 and freed else 1


if __name__ == "__main__":
    sys.exit(main())
