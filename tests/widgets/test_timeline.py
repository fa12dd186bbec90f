"""The Timeline at scale (issue 24): above 150 nodes nodes named alike share a row spanning
their times, with counts; the chart scrolls in a box of bounded height; reused nodes are
marked "cached"; the axis keeps its last label. (In the page: tests/browser/
test_timeline_browser.py.)"""

import re

from containerdag_widgets import Graph, GraphWidget, Registry, process
from containerdag_widgets.run.result import RunResult
from containerdag_widgets.widgets.timeline import GROUP_ABOVE, _ticks, timeline_html


def result(n_fan: int, *, cached: int = 0, others=("join",)) -> RunResult:
    """``fan 000`` ... each 0.5 s from 0.01 s apart, the first ``cached`` reused (no time),
    then the ``others``."""
    res = RunResult()
    for i in range(n_fan):
        name = f"fan {i:03d}"
        if i < cached:
            res.status[name], res.times[name] = "cached", (100.0, 100.0)
        else:
            res.status[name], res.times[name] = "done", (100.0 + i / 100, 100.5 + i / 100)
    end = 100.5 + n_fan / 100
    for name in others:
        res.status[name], res.times[name] = "done", (end, end + 1.0)
    return res


def labels(html: str) -> list[str]:
    return re.findall(r'class="cdw-tl-tick"[^>]*>([^<]*)</span>', html)


def test_a_large_run_is_grouped_by_name_in_a_bounded_box():
    res = result(999, cached=40)
    res.status["fan 500"] = "failed"
    html = timeline_html(res, {}, 0.0)
    assert 'data-grouped="1"' in html and 'data-groups="1"' in html and 'data-nodes="1000"' \
        in html
    group = re.search(r'<details class="cdw-tl-group" data-group="fan" data-count="999"', html)
    assert group, html[:500]
    span = re.search(r'data-status="group" data-start="([\d.]+)" data-end="([\d.]+)"', html)
    assert span and float(span[1]) == 0.0 and abs(float(span[2]) - (0.5 + 9.98)) < 1e-3
    assert "\u25b8 fan \u00d7999" in html
    assert "958 done, 40 cached, 1 failed" in html  # its counts, in the canvas's order
    # Its colours: the members' shares of each status.
    assert "linear-gradient(to right,#3aa655 0.00% 95.90%,#2f8fb3 95.90% 99.90%" in html
    assert html.count('class="cdw-tl-row"') == 40 + 1  # its first 40 members, and join
    assert "... and 959 more" in html
    assert re.search(r'class="cdw-tl-scroll" style="max-height:420px;overflow-y:auto', html)
    assert len(html) < 60_000  # was about 220 kB: a row of each of 400 nodes


def test_grouping_starts_above_150_nodes_and_keeps_single_names_as_rows():
    assert GROUP_ABOVE == 150
    small = timeline_html(result(GROUP_ABOVE - 1), {}, 0.0)  # 150 nodes with join
    assert 'data-grouped="0"' in small and "cdw-tl-group" not in small
    assert small.count('class="cdw-tl-row"') == 150
    large = timeline_html(result(GROUP_ABOVE, others=("join", "sum 1", "load")), {}, 0.0)
    assert 'data-grouped="1"' in large and 'data-groups="1"' in large
    # join and load have no number; sum 1 is the only one of its name: rows of their own.
    for name in ("join", "sum 1", "load"):
        assert f'<span style="{name}' not in large and f">{name}</span>" in large
    never = timeline_html(result(300), {}, 0.0, group_by=None)
    assert 'data-grouped="0"' in never and never.count('class="cdw-tl-row"') == 301


def test_cached_nodes_are_marked():
    html = timeline_html(result(3, cached=2), {}, 0.0)
    rows = re.findall(r'<div class="cdw-tl-row".*?</div>', html)
    cached = [r for r in rows if 'data-status="cached"' in r]
    assert len(cached) == 2
    for row in cached:
        assert "repeating-linear-gradient" in row and "min-width:3px" in row
        assert row.endswith('class="cdw-tl-note" style="' + row.split(
            'class="cdw-tl-note" style="')[1].split('"')[0] + '">cached</span></div>')
    done = [r for r in rows if 'data-status="done"' in r]
    assert done and all(r.endswith("></span></div>") for r in done)  # no note for done


def test_the_axis_keeps_its_last_label():
    assert _ticks(0.3) == [0.0, 0.1, 0.2, 0.3]  # 0.3 / 0.1 < 3 in floating point
    assert _ticks(0.7)[-1] == 0.7 and _ticks(6.0)[-1] == 6.0
    for total, last in ((0.3, "0.3 s"), (6.0, "6 s"), (3.9, "3.9 s"), (47.0, "47 s"),
                        (7300.0, "7300 s"), (0.0004, "0.001 s")):
        res = RunResult(status={"a": "done"}, times={"a": (10.0, 10.0 + total)})
        shown = labels(timeline_html(res, {}, 0.0))
        assert shown[0] == "0 s" and shown[-1] == last, (total, shown)
    # The end label is anchored at the right: it stays in the box.
    res = RunResult(status={"a": "done"}, times={"a": (10.0, 13.9)})
    tick = re.findall(r'<span class="cdw-tl-tick" style="([^"]*)"', timeline_html(res, {}, 0))
    assert "left:100.00%" in tick[-1] and "translateX(-100%)" in tick[-1]
    assert "translateX(0)" in tick[0]
    assert labels(timeline_html(res, {}, 0.0)) == [
        "0 s", "0.5 s", "1 s", "1.5 s", "2 s", "2.5 s", "3 s", "3.5 s", "3.9 s"]
    # Close to a round tick, the end takes its place: no two labels crowd each other.
    res = RunResult(status={"a": "done"}, times={"a": (10.0, 14.05)})
    assert labels(timeline_html(res, {}, 0.0)) == ["0 s", "1 s", "2 s", "3 s", "4.05 s"]


@process(outputs={"z": 1.0})
def inc(x: float = 1.0):
    """x + 1."""
    return {"z": x + 1}


def test_a_widget_run_of_200_nodes_then_its_cached_rerun():
    spec = {f"step {i}": {"process": "inc", "inputs": {"x": float(i)}} for i in range(199)}
    spec["total"] = {"process": "inc", "inputs": {"x": ("step 0", "z")}}
    w = GraphWidget(Graph.from_spec(spec), Registry([inc]))  # a cache of the test's own
    w.run(timeout=60)
    first = timeline_html(w._state, {}, 0.0)
    assert 'data-group="step" data-count="199"' in first and "199 done</span>" in first
    w.tabs.selected_index = 1
    w.run(timeout=60)  # everything reused
    assert set(w.status.values()) == {"cached"}
    html = w.timeline.value
    assert 'data-group="step" data-count="199"' in html and "199 cached</span>" in html
    assert re.search(r'data-node="total"[^>]*>.*?>cached</span></div>', html)
    w.close()
