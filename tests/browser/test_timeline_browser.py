"""The Timeline at scale in JupyterLab (issue 24): a run of 1,000 nodes, then its cached
re-run. The Timeline tab groups the 999 'fan NNN' nodes into one row spanning their times,
with their counts; the chart stays in a box of bounded height (it was 7,644 px tall), scrolls
there with its axis in sight, marks reused nodes 'cached', and labels the run's end inside
the box."""

from __future__ import annotations

import pytest

from tests.browser.nb import PY_SETUP, notebook, toolkit_console_problems

pytestmark = pytest.mark.browser

CELLS = '''\
@process(outputs={"z": 1.0})
def inc(x: float = 1.0):
    """x + 1."""
    return {"z": x + 1}

reg.add(inc)
spec = {f"fan {i:03d}": {"process": "inc", "inputs": {"x": float(i)}} for i in range(999)}
spec["total"] = {"process": "inc", "inputs": {"x": ("fan 000", "z")}}
w = GraphWidget(Graph.from_spec(spec), reg)
w
'''

#: The Timeline's boxes, the fan group's row, the axis labels, the notes of 'total'.
MEASURE = """() => {
    const view = document.querySelector('.cdw-timeline-view');
    const tl = view && view.querySelector('.cdw-timeline');
    const group = tl && tl.querySelector('details.cdw-tl-group[data-group="fan"]');
    if (!group) return null;
    const box = tl.querySelector('.cdw-tl-scroll'), rect = e => e.getBoundingClientRect();
    const ticks = tl.querySelector('.cdw-tl-ticks');
    const visible = e => { const r = rect(e); return r.width > 0 && r.height > 0
        && getComputedStyle(e).visibility !== 'hidden'; };
    return {
        view: Math.round(rect(view).height), box: [box.clientHeight, box.scrollHeight],
        grouped: tl.dataset.grouped, nodes: +tl.dataset.nodes,
        summary: group.querySelector('summary').innerText.replace(/\\s+/g, ' ').trim(),
        span: [+group.querySelector('.cdw-tl-span').dataset.start,
               +group.querySelector('.cdw-tl-span').dataset.end, +tl.dataset.total],
        members: group.open ? group.querySelectorAll('.cdw-tl-row[data-node]').length : 0,
        ticks: [...tl.querySelectorAll('.cdw-tl-tick')].map(t => [t.innerText,
            Math.round(rect(t).left), Math.round(rect(t).right), visible(t)]),
        track: [Math.round(rect(ticks).left), Math.round(rect(ticks).right),
                Math.round(rect(box).right)],
        total: [...tl.querySelectorAll('.cdw-tl-row[data-node="total"]')].map(r => {
            const note = r.querySelector('.cdw-tl-note'), bar = r.querySelector('.cdw-tl-bar');
            return [note.innerText, visible(note), bar.dataset.status,
                    getComputedStyle(bar).backgroundImage.slice(0, 25),
                    Math.round(rect(bar).width)]; }),
    };
}"""


def test_the_timeline_of_1000_nodes_groups_scrolls_and_marks_cached(lab):
    with notebook(lab, None, "timeline-scale.ipynb", [CELLS], setup=PY_SETUP) as nb:
        nb.start()
        lab.wait_for_cy(min_nodes=2, timeout=60_000)
        lab.click_button("Run")
        lab.wait_for_text("1000/1000 done", selector=".cdw-progress", timeout=60_000)
        lab.click_button("Run")
        lab.wait_for_text("(1000 cached)", selector=".cdw-progress", timeout=60_000)
        lab.page.get_by_role("tab", name="Timeline", exact=True).click()
        found = lab.wait_for_js(f"() => {{ const m = ({MEASURE})(); "
                                "return m && m.summary.includes('999 cached') && m; }",
                                timeout=60_000)
        assert found["grouped"] == "1" and found["nodes"] == 1000, found
        assert found["summary"].startswith("\u25b8 fan \u00d7999"), found
        assert found["summary"].endswith("999 cached"), found
        assert found["span"][0] <= found["span"][1] <= found["span"][2], found
        assert found["view"] <= 460, found  # bounded: was 7,644 px at 1,000 nodes
        # 'total' was reused: its bar striped, and the word beside it.
        assert [t[:3] for t in found["total"]] == [["cached", True, "cached"]], found
        assert found["total"][0][3].startswith("repeating-linear-gradi"), found
        assert found["total"][0][4] >= 3, found
        # The axis: labels from 0 to the run's end, the last inside the box, none overlapping.
        ticks = found["ticks"]
        assert ticks[0][0] == "0 s" and all(t[3] for t in ticks), ticks
        assert ticks[-1][2] <= found["track"][1] + 1 <= found["track"][2] + 1, found
        assert all(a[2] <= b[1] for a, b in zip(ticks, ticks[1:], strict=False)), ticks
        end = float(ticks[-1][0].removesuffix(" s"))
        assert abs(end - found["span"][2]) <= max(0.01, 0.02 * end), found
        lab.page.mouse.move(0, 0)
        lab.screenshot("timeline-1000-grouped.png", selector=".cdw-graph-widget")

        # Open the group: its first 40 members' rows; the box scrolls, the axis stays.
        lab.page.locator('details.cdw-tl-group[data-group="fan"] > summary').click()
        opened = lab.wait_for_js(f"() => {{ const m = ({MEASURE})(); "
                                 "return m && m.members === 40 && m; }")
        assert opened["box"][0] <= 420 < opened["box"][1], opened
        assert opened["view"] <= 460, opened
        scrolled = lab.evaluate("""() => {
            const box = document.querySelector('.cdw-timeline-view .cdw-tl-scroll');
            box.scrollTop = box.scrollHeight;
            const axis = box.querySelector('.cdw-tl-axis').getBoundingClientRect();
            const more = box.querySelector('.cdw-tl-group .cdw-tl-more');
            return [box.scrollTop > 0, Math.abs(axis.top - box.getBoundingClientRect().top) < 2,
                    more.innerText.trim()];
        }""")
        assert scrolled == [True, True, "... and 959 more"], scrolled
        lab.screenshot("timeline-1000-open.png", selector=".cdw-graph-widget")
        assert toolkit_console_problems(lab.console) == []
