"""Issue 8, "watching a run": 10 live logs, 11 the timeline, 12 re-run controls."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.nb import PY_SETUP, inner_text, notebook, wait_drawn, wait_statuses

pytestmark = pytest.mark.browser

# ---- 10. Live logs -------------------------------------------------------------------------------

TICKS = """\
import random
# A fresh input each time, so no cache can answer for it.
seconds = 2.5 + random.random() / 1000
g = Graph.from_spec({"ticks": {"process": "log_ticks",
                               "inputs": {"seconds": seconds, "interval": 0.1}}})
w = GraphWidget(g, reg)
w.selected = "ticks"
w
"""

LAST_LINE_VISIBLE = """(sel) => {
    const box = document.querySelector(sel + ' .cdw-scroll-end');
    const pre = box && box.querySelector('pre');
    if (!pre || box.scrollHeight <= box.clientHeight) return null;  // nothing to scroll yet
    const text = pre.firstChild;
    const r = document.createRange();
    r.setStart(text, Math.max(text.length - 2, 0)); r.setEnd(text, text.length);
    const last = r.getBoundingClientRect(), frame = box.getBoundingClientRect();
    return last.bottom <= frame.bottom + 2 && last.top >= frame.top - 2;
}"""


def test_10_live_log_of_a_running_node(lab, docker_client):
    report = 'print("N=" + json.dumps(w.outputs["ticks"]["n"]))'
    with notebook(lab, docker_client, "live-log.ipynb", [TICKS], [report]) as nb:
        nb.start()
        wait_drawn(lab, ["ticks"])
        body = '.cdw-inspector-body[data-node="ticks"]'
        lab.click_button("Run")
        # Ticks arrive while the node runs (before: the log appeared only at the end).
        lab.wait_for_js(
            """(sel) => { const b = document.querySelector(sel);
                return b && b.dataset.status === 'running' && /tick 3 /.test(b.innerText); }""",
            body, timeout=20_000)
        lab.screenshot("issue8-10-live-log-early.png", selector=".cdw-graph-widget")
        # Once the log overflows its box, the box shows its end.
        visible = lab.wait_for_js(
            f"""(sel) => {{ const b = document.querySelector(sel);
                if (!b || b.dataset.status !== 'running') return 'ended';
                const v = ({LAST_LINE_VISIBLE})(sel);
                return v === null ? false : String(v); }}""",
            body, timeout=20_000)
        assert visible == "true", visible
        lab.screenshot("issue8-10-live-log-running.png", selector=".cdw-graph-widget")
        lab.wait_for_js("(sel) => document.querySelector(sel)?.dataset.status === 'done'", body,
                        timeout=20_000)
        log = inner_text(lab, f"{body} .cdw-log")
        n = int(re.search(r"N=(\d+)", nb.run(0)).group(1))
        ticks = re.findall(r"tick (\d+) at", log)
        assert [int(t) for t in ticks] == list(range(1, n + 1)), (n, ticks)  # the full log


# ---- 11. Timeline --------------------------------------------------------------------------------

PARALLEL = """\
g = Graph.from_spec({
    "left": {"process": "nap", "inputs": {"x": 1.0, "seconds": 1.2}},
    "right": {"process": "nap", "inputs": {"x": 2.0, "seconds": 1.2}},
    "join": {"process": "add", "inputs": {"x": ("left", "z"), "y": ("right", "z")}},
    "last": {"process": "nap", "inputs": {"x": ("join", "z"), "seconds": 0.5}},
})
w = GraphWidget(g, reg)
w
"""

BARS = """() => [...document.querySelectorAll('.cdw-timeline .cdw-tl-row')].map(r => {
    const bar = r.querySelector('.cdw-tl-bar');
    return {node: r.dataset.node, status: bar.dataset.status, start: +bar.dataset.start,
            end: +bar.dataset.end, width: bar.getBoundingClientRect().width,
            colour: getComputedStyle(bar).backgroundColor};
})"""


def test_11_timeline_of_a_run(lab):
    with notebook(lab, None, "timeline.ipynb", [PARALLEL], setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, ["left", "right", "join", "last"])
        lab.page.get_by_role("tab", name="Timeline", exact=True).click()
        lab.wait_for_text("No node has run yet", selector=".cdw-timeline-view")
        lab.click_button("Run")
        # Live: bars of the running nodes appear and grow before the run ends.
        lab.wait_for_js("""() => [...document.querySelectorAll('.cdw-tl-bar')]
            .filter(b => b.dataset.status === 'running').length === 2""", timeout=10_000)
        first = {b["node"]: b for b in lab.evaluate(BARS)}
        lab.wait_for_js(f"""(end) => ({BARS})().some(
            b => b.node === 'left' && b.status === 'running' && b.end > end + 0.15)""",
                        first["left"]["end"], timeout=10_000)
        lab.screenshot("issue8-11-timeline-live.png", selector=".cdw-graph-widget")
        lab.wait_for_js(f"""() => ({BARS})().length === 4
            && ({BARS})().every(b => b.status === 'done')""", timeout=15_000)
        bars = {b["node"]: b for b in lab.evaluate(BARS)}
        left, right, join, last = (bars[n] for n in ("left", "right", "join", "last"))
        assert left["start"] < right["end"] and right["start"] < left["end"]  # in parallel
        assert join["start"] >= max(left["end"], right["end"]) - 0.01  # waited for both
        assert last["start"] >= join["end"] - 0.01
        assert left["colour"] == "rgb(58, 166, 85)"  # the canvas's "done" green
        lab.screenshot("issue8-11-timeline-done.png", selector=".cdw-graph-widget")


# ---- 12. Re-run controls -------------------------------------------------------------------------

RERUN = """\
BROKEN = {"on": True}

@process(outputs={"z": 1.0}, cache=False)
def flaky(x: float = 1.0):
    '''Fails while BROKEN["on"].'''
    if BROKEN["on"]:
        raise RuntimeError("not yet")
    return {"z": x}

reg.add(flaky)
g = Graph.from_spec({
    "a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
    "b": {"process": "flaky", "inputs": {"x": ("a", "z")}},
    "after": {"process": "add", "inputs": {"x": ("b", "z"), "y": 1.0}},
    "c": {"process": "add", "inputs": {"x": 5.0, "y": 5.0}},
})
w = GraphWidget(g, reg)
w
"""
LAST_RUN = 'print("RAN=" + json.dumps(sorted(w.result.status)))'


def ran(nb, index: int) -> list[str]:
    return json.loads(re.search(r"RAN=(.*)", nb.run(index)).group(1))


def test_12_rerun_controls(lab):
    after = ['BROKEN["on"] = False', LAST_RUN, LAST_RUN, LAST_RUN]
    with notebook(lab, None, "rerun.ipynb", [RERUN], after, setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, ["a", "b", "after", "c"])
        lab.click_button("Run")
        wait_statuses(lab, {"a": "done", "b": "failed", "after": "skipped", "c": "done"})
        nb.run(0)  # fixed outside the graph: no edit, the statuses stay
        lab.click_button("Re-run failed")
        wait_statuses(lab, {"a": "done", "b": "done", "after": "done", "c": "done"})
        assert ran(nb, 1) == ["a", "after", "b"]  # c did not run again
        lab.screenshot("issue8-12-rerun-failed.png", selector=".cdw-graph-widget")

        lab.click_cy_node("c")
        lab.wait_for_selector('.cdw-inspector-body[data-node="c"]')
        lab.click_button("Run this node")
        lab.wait_for_text("1/1 done", selector=".cdw-progress")
        assert ran(nb, 2) == ["c"]

        lab.click_cy_node("b")
        lab.wait_for_selector('.cdw-inspector-body[data-node="b"]')
        lab.click_button("Run from here")
        lab.wait_for_text("3/3 done", selector=".cdw-progress")
        assert ran(nb, 3) == ["a", "after", "b"]  # b, what it needs, what follows it
        wait_statuses(lab, dict.fromkeys(["a", "b", "after", "c"], "done"))
        lab.screenshot("issue8-12-run-from-here.png", selector=".cdw-graph-widget")
