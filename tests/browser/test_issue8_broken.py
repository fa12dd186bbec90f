"""Issue 8, "broken today": each test failed in the page before its fix.

1 edit after show, 2 a run started elsewhere, 3 a closed registry, 4 the registry widget's
first layout, 5 status styling.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.nb import (
    CY,
    PY_SETUP,
    edges,
    inner_text,
    notebook,
    toolkit_console_problems,
    wait_drawn,
    wait_statuses,
)

pytestmark = pytest.mark.browser

MAGICS = "%load_ext containerdag_widgets\n%dag use reg"
NODE_A = "%%node a\nprocess: add\ninputs: {x: 1.0, y: 2.0}"
NODE_B = "%%node b\nprocess: add\ninputs:\n  x: {from: a, output: z}\n  y: 1.0"
NODE_C = "%%node c\nprocess: add\ninputs:\n  x: {from: b, output: z}\n  y: 1.0"


# ---- 1. Edit after show ------------------------------------------------------------------------


def test_1_every_edit_redraws_the_full_graph(lab):
    after = [
        NODE_C,
        "%%node b\nprocess: divide\ninputs:\n  a: {from: a, output: z}\n  b: 2.0",
        "%dag remove c",
        "%dag clear",
        "%%node z\nprocess: add\ninputs: {x: 5.0, y: 5.0}",
        "%unload_ext containerdag_widgets",
    ]
    cells = [MAGICS, NODE_A, NODE_B, "%dag show"]
    with notebook(lab, None, "edit-after-show.ipynb", cells, after, setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, ["a", "b"])
        lab.click_button("Run")
        wait_statuses(lab, {"a": "done", "b": "done"})

        nb.run(0)  # %%node c: the canvas showed only c, and "second element with ID 'a'"
        wait_drawn(lab, ["a", "b", "c"])
        assert edges(lab) == [["a", "b", "z -> x"], ["b", "c", "z -> x"]]
        # a and b keep their results (c is new; nothing of theirs changed)
        wait_statuses(lab, {"a": "done", "b": "done", "c": "pending"})
        lab.click_button("Run")
        wait_statuses(lab, dict.fromkeys("abc", "done"))
        lab.wait_for_text("3/3 done", selector=".cdw-progress")
        lab.screenshot("issue8-1-added.png", selector=".cdw-graph-widget")

        nb.run(1)  # replace b: another process, other inputs
        lab.wait_for_js(f"() => {CY}(0).getElementById('b').data('label') === 'b\\ndivide'")
        wait_drawn(lab, ["a", "b", "c"])
        assert edges(lab) == [["a", "b", "z -> a"], ["b", "c", "z -> x"]]
        lab.screenshot("issue8-1-replaced.png", selector=".cdw-graph-widget")

        nb.run(2)
        wait_drawn(lab, ["a", "b"])
        assert edges(lab) == [["a", "b", "z -> a"]]
        nb.run(3)
        lab.wait_for_js(f"() => {CY}(0).nodes().length === 0")
        nb.run(4)
        wait_drawn(lab, ["z"])
        lab.click_button("Run")
        wait_statuses(lab, {"z": "done"})
        lab.screenshot("issue8-1-cleared-and-added.png", selector=".cdw-graph-widget")
    problems = toolkit_console_problems(lab.console)
    assert problems == [], problems


# ---- 2. A run started elsewhere ------------------------------------------------------------------


def test_2_runs_started_anywhere_show_in_every_widget(lab):
    after = [
        "result = %dag run --quiet\nprint(result)",
        "g = %dag graph\ng.set_input('b', 'y', 10.0)",
        "print(g.run(reg))",
        "g.set_input('b', 'y', 20.0)",
        "%unload_ext containerdag_widgets",
    ]
    cells = [MAGICS, NODE_A, NODE_B, "%dag show", "%dag show"]
    with notebook(lab, None, "run-elsewhere.ipynb", cells, after, setup=PY_SETUP) as nb:
        nb.start()
        for i in (0, 1):
            wait_drawn(lab, ["a", "b"], index=i)
            wait_statuses(lab, {"a": "pending", "b": "pending"}, index=i)
        assert "done" in nb.run(0)  # %dag run: both widgets stayed at 0/2, all grey
        for i in (0, 1):
            wait_statuses(lab, {"a": "done", "b": "done"}, index=i)
        lab.wait_for_js("""() => [...document.querySelectorAll('.cdw-progress')]
            .filter(e => e.innerText.includes('2/2 done')).length === 2""")
        lab.screenshot("issue8-2-after-dag-run.png", selector=".cdw-graph-widget")

        nb.run(1)  # an edit of b through the API: both redraw, b pending (a keeps its result)
        for i in (0, 1):
            wait_statuses(lab, {"a": "done", "b": "pending"}, index=i)
        nb.run(2)  # a run through the API
        for i in (0, 1):
            wait_statuses(lab, {"a": "done", "b": "done"}, index=i)
        # Run in the second widget: the first follows it too (first reset by an edit).
        nb.run(3)
        wait_statuses(lab, {"a": "done", "b": "pending"}, index=0)
        lab.click_button("Run", index=1)
        wait_statuses(lab, {"a": "done", "b": "done"}, index=0)


# ---- 3. A closed registry ------------------------------------------------------------------------

CLOSED = """\
g = Graph.from_spec({"one": {"process": "python_add", "inputs": {"x": 1.0, "y": 2.0}}})
w = GraphWidget(g, reg)
w
"""


def test_3_a_closed_registry_is_said_and_run_disabled(lab, docker_client):
    after = ["reg.close()", 'print("STATUS=" + json.dumps(w.status))']
    with notebook(lab, docker_client, "closed.ipynb", [CLOSED], after) as nb:
        nb.start()
        wait_drawn(lab, ["one"])
        nb.run(0)
        run = lab.page.locator(".cdw-graph-widget button").filter(has_text=re.compile("^ *Run$"))
        # Before: Run stayed enabled and failed every node with "the registry is closed".
        run.first.click(force=True)
        lab.wait_for_text("registry is closed", selector=".cdw-message")
        lab.wait_for_js("""() => [...document.querySelectorAll('.cdw-graph-widget button')]
            .find(b => b.innerText.trim() === 'Run').disabled""")
        lab.screenshot("issue8-3-closed-registry.png", selector=".cdw-graph-widget")
        assert 'STATUS={"one": "pending"}' in nb.run(1)


# ---- 4. The registry widget's first layout -------------------------------------------------------

LAYOUT = f"""() => {{
    const cy = {CY}(0);
    const hit = (a, b) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
    const groups = cy.nodes('.group').map(n => n.renderedBoundingBox({{includeLabels: true}}));
    let overlaps = 0;
    groups.forEach((a, i) => groups.slice(i + 1).forEach(b => {{ if (hit(a, b)) overlaps++; }}));
    const all = cy.elements().renderedBoundingBox({{includeLabels: true}});
    return {{overlaps, groups: groups.length, all, w: cy.width(), h: cy.height()}};
}}"""


def test_4_registry_first_layout_keeps_groups_apart_and_inside(lab, docker_client):
    with notebook(lab, docker_client, "registry-layout.ipynb",
                  ["rw = RegistryWidget(reg)\nrw"]) as nb:
        nb.start()
        lab.wait_for_cy(min_nodes=5)
        lab.wait_for_js(f"() => {CY}(0).container().dataset.cdwLayouts >= 1")
        got = lab.evaluate(LAYOUT)
        lab.screenshot("issue8-4-registry-first-layout.png", selector=".cdw-registry-widget")
        # Before: titles overlapped a neighbour group, and the right-hand group was cut off.
        assert got["groups"] >= 3 and got["overlaps"] == 0, got
        box = got["all"]
        assert box["x1"] >= -1 and box["y1"] >= -1, got
        assert box["x2"] <= got["w"] + 1 and box["y2"] <= got["h"] + 1, got


# ---- 5. Status styling ---------------------------------------------------------------------------

STYLING = """\
@process(outputs={"z": 1.0})
def explode(x: float = 1.0):
    '''Raises.'''
    raise ValueError("boom: the input was not what this step can take, at all")

reg.add(explode)
g = Graph.from_spec({
    "one": {"process": "python_add", "inputs": {"x": 0.5, "y": 0.5}},
    "divide": {"process": "c_divide", "inputs": {"a": ("one", "z"), "b": 0.0}},
    "after": {"process": "python_add", "inputs": {"x": ("divide", "z"), "y": 1.0}},
    "py": {"process": "explode", "inputs": {"x": ("one", "z")}},
})
w = GraphWidget(g, reg)
display(w)
OutputTable(w)
"""

WORDS_WHOLE = """(sel) => {
    // Every word of the element's text lies on one line (no break inside a word).
    const el = document.querySelector(sel);
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const broken = [];
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
        const re = /\\S+/g;
        let m;
        while ((m = re.exec(t.data))) {
            const r = document.createRange();
            r.setStart(t, m.index); r.setEnd(t, m.index + m[0].length);
            const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
            if (tops.size > 1 && m[0].length < 40) broken.push(m[0]);
        }
    }
    return broken;
}"""


def test_5_status_styling(lab, docker_client):
    with notebook(lab, docker_client, "styling.ipynb", [STYLING]) as nb:
        nb.start()
        wait_drawn(lab, ["one", "divide", "after", "py"])
        lab.click_cy_node("after")
        body = '.cdw-inspector-body[data-node="after"]'
        lab.wait_for_selector(body)
        # A reference shows where the value will come from, not a quoted string.
        assert "\u2190 divide.z" in inner_text(lab, f"{body} .cdw-ref")
        lab.click_button("Run")
        text = "2 failed, 1 skipped of 4"
        lab.wait_for_text(text, selector=".cdw-progress")
        # The outcome: a red dot before the text, the text bold in the theme's own colour
        # (red text fell under 4.5:1 contrast on the dark theme).
        dot, weight = lab.evaluate("""() => {
            const el = document.querySelector('.cdw-progress');
            return [getComputedStyle(el, '::before').backgroundColor,
                    getComputedStyle(el).fontWeight]; }""")
        assert dot == "rgb(211, 47, 47)" and int(weight) >= 600, (dot, weight)
        # The bar: a segment per status, as wide as its share (2 of 4 failed: half is red).
        segments = lab.evaluate("""() => [...document.querySelectorAll(
            '.cdw-graph-widget .cdw-bar .cdw-bar-seg')].map(s => [s.dataset.status,
            Math.round(100 * s.getBoundingClientRect().width
                       / s.parentElement.getBoundingClientRect().width),
            getComputedStyle(s).backgroundColor])""")
        assert [(s, w) for s, w, _ in segments] == [("done", 25), ("failed", 50),
                                                    ("skipped", 25)], segments
        assert dict((s, c) for s, _, c in segments)["failed"] == "rgb(217, 69, 61)", segments

        lab.click_cy_node("py")
        body = '.cdw-inspector-body[data-node="py"]'
        lab.wait_for_text("traceback", selector=body)
        detail = inner_text(lab, body)
        assert "ValueError: boom" in detail and re.search(r'File ".*", line \d+', detail)
        assert WORDS_WHOLE and lab.evaluate(WORDS_WHOLE, f"{body} .cdw-error") == []
        lab.page.mouse.move(0, 0)
        lab.screenshot("issue8-5-failed-run.png", selector=".cdw-graph-widget")

        padding = lab.evaluate("""() => {
            const td = document.querySelector('.cdw-output-table td');
            const s = getComputedStyle(td);
            return [parseFloat(s.paddingRight), s.borderBottomStyle]; }""")
        assert padding[0] >= 8 and padding[1] == "solid", padding
        lab.screenshot("issue8-5-output-table.png", selector=".cdw-output-table")
    problems = toolkit_console_problems(lab.console)
    assert problems == [], problems
