"""The run's timeline (a Gantt chart in HTML): one bar per node from its start to its end.

Bars are coloured by status and placed on a common time axis, so waits between nodes and the
nodes that ran in parallel are visible. A running node's bar grows to "now" on each update.
A node whose result was reused is marked: its bar striped, "cached" beside it.

At scale (more than ``group_above`` nodes, as the canvas groups them) nodes named alike
(``fan 017`` -> ``fan``, by ``prefix_group``) share one row: a bar from the first member's
start to the last one's end, its colours the members' shares of each status, and their counts;
the row opens (``<details>``) on its members' own bars. The chart scrolls inside a box of
bounded height, its axis kept in sight, and the axis always labels the end of the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..model.status import STATUSES
from ..run.result import RunResult
from .html import esc
from .style import STATUS_COLORS
from .view import prefix_group

__all__ = ["timeline_html", "GROUP_ABOVE"]

#: Above this many nodes, nodes named alike share a row (as GraphWidget.large_graph groups
#: them on the canvas).
GROUP_ABOVE = 150

ROW = "display:flex;align-items:center;height:18px;margin:1px 0"
NAME = ("flex:0 0 160px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;"
        "padding-right:6px;text-align:right;box-sizing:border-box")
TRACK = ("position:relative;flex:1 1 auto;height:14px;background:var(--jp-layout-color2,#eee);"
         "border-radius:2px")
NOTE = ("flex:0 0 {width}px;padding-left:6px;font-size:11px;white-space:nowrap;overflow:hidden;"
        "text-overflow:ellipsis;box-sizing:border-box;color:var(--jp-ui-font-color2,#5f6670)")
#: Stripes over a reused node's colour.
STRIPES = ("repeating-linear-gradient(135deg,rgba(255,255,255,0.55) 0 2px,"
           "transparent 2px 5px)")


def _ticks(total: float) -> list[float]:
    """Round times from 0 to ``total`` at most 9 of them; the last one not lost to rounding
    (0.3 / 0.1 is 2.9999999999999996)."""
    step = next((s for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
                 if total / s <= 8), 7200.0)
    return [round(i * step, 6) for i in range(int(total / step + 1e-6) + 1)]


def _axis_labels(total: float) -> str:
    """The axis: its ticks, and the run's end when the last tick is short of it (anchored at
    the right so that it stays inside the box; in place of the last tick when that is too
    close to it to leave room for both)."""
    ticks = _ticks(total)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else total
    points = [(t, f"{t:g} s") for t in ticks]
    if total - ticks[-1] > 1e-6 * step:
        if total - ticks[-1] < 0.6 * step and len(points) > 1:
            points.pop()
        points.append((total, f"{total:.3g} s" if total < 100 else f"{total:.0f} s"))
    spans = []
    for t, text in points:
        at = 100.0 * t / total
        shift = "0" if at <= 0 else "-100%" if at >= 99.5 else "-50%"
        spans.append(f'<span class="cdw-tl-tick" style="position:absolute;left:{at:.2f}%;'
                     f'transform:translateX({shift});white-space:nowrap">{text}</span>')
    return "".join(spans)


@dataclass
class _Bar:
    key: str
    begin: float
    end: float
    status: str
    owner: str
    element: str = ""


@dataclass
class _Group:
    name: str
    bars: list[_Bar] = field(default_factory=list)

    @property
    def begin(self) -> float:
        return min(b.begin for b in self.bars)

    @property
    def end(self) -> float:
        return max(b.end for b in self.bars)


def _bars(res: RunResult, started: Mapping[str, float], now: float) -> list[_Bar]:
    """A bar per node that started (and per element of a scattered node)."""
    bars = [_Bar(node, begin, end, res.status.get(node, "done"), node)
            for node, (begin, end) in res.times.items()]
    bars += [_Bar(node, begin, now, "running", node) for node, begin in started.items()
             if node not in res.times and res.status.get(node) == "running"]
    for node, elements in res.elements.items():
        for index, element in enumerate(elements):
            begin = element.get("started")
            if begin is None:
                continue
            status = element.get("status", "running")
            duration = element.get("duration")
            end = begin + duration if duration is not None else (
                now if status == "running" else begin)
            bars.append(_Bar(f"{node}[{index}] {element.get('label', '')}", begin, end, status,
                             node, str(index)))
    return bars


def _rows(bars: list[_Bar], group_by: Callable[[str], str | None] | None
          ) -> list[_Bar | _Group]:
    """The bars, those of a group (two or more nodes named alike, a scattered node's elements)
    in one row, in order of start."""
    if group_by is None:
        return sorted(bars, key=lambda b: (b.begin, b.key))
    groups: dict[str, _Group] = {}
    rows: list[_Bar | _Group] = []
    for bar in bars:
        name = f"{bar.owner} elements" if bar.element else group_by(bar.key)
        if name is None:
            rows.append(bar)
        else:
            groups.setdefault(name, _Group(name)).bars.append(bar)
    for group in groups.values():
        if len(group.bars) > 1:
            group.bars.sort(key=lambda b: (b.begin, b.key))
            rows.append(group)
        else:
            rows += group.bars
    return sorted(rows, key=lambda r: (r.begin, r.name if isinstance(r, _Group) else r.key))


class _Scale:
    def __init__(self, t0: float, total: float, note_px: int):
        self.t0, self.total, self.note = t0, total, NOTE.format(width=note_px)

    def place(self, begin: float, end: float) -> str:
        left = 100.0 * (begin - self.t0) / self.total
        width = max(100.0 * (end - begin) / self.total, 0.4)
        return f"left:{left:.3f}%;width:{width:.3f}%"

    def bar(self, bar: _Bar) -> str:
        """A node's (or an element's) row."""
        status, t0 = bar.status, self.t0
        tip = f"{bar.key}: {status}, {bar.end - bar.begin:.3f} s (from +{bar.begin - t0:.3f} s)"
        colour = STATUS_COLORS.get(status, "#999")
        stripes = f";background-image:{STRIPES}" if status == "cached" else ""
        note = status if status != "done" else ""
        return (f'<div class="cdw-tl-row" style="{ROW}" data-node="{esc(bar.owner)}"'
                + (f' data-element="{bar.element}"' if bar.element else "") + ">"
                f'<span style="{NAME}">{esc(bar.key)}</span><span style="{TRACK}">'
                f'<span class="cdw-tl-bar cdw-tl-{esc(status)}" data-status="{esc(status)}" '
                f'data-start="{bar.begin - t0:.4f}" data-end="{bar.end - t0:.4f}" '
                f'title="{esc(tip)}" style="position:absolute;top:0;bottom:0;'
                f'{self.place(bar.begin, bar.end)};min-width:3px;background:{colour}{stripes};'
                f'border-radius:2px"></span></span>'
                f'<span class="cdw-tl-note" style="{self.note}">{esc(note)}</span></div>')

    def group(self, group: _Group, members: int) -> str:
        """A group's row (its span, the members' shares of each status, their counts), open
        on its first ``members`` rows."""
        counts = Counter(b.status for b in group.bars)
        order = [s for s in STATUSES if counts[s]] + sorted(set(counts) - set(STATUSES))
        total, stops, at = len(group.bars), [], 0.0
        for status in order:
            share = 100.0 * counts[status] / total
            colour = STATUS_COLORS.get(status, "#999")
            stops.append(f"{colour} {at:.2f}% {at + share:.2f}%")
            at += share
        said = ", ".join(f"{counts[s]} {s}" for s in order)
        begin, end, t0 = group.begin, group.end, self.t0
        tip = (f"{group.name}: {total} nodes ({said}), from +{begin - t0:.3f} s to "
               f"+{end - t0:.3f} s; click to list them")
        shown = group.bars[:members]
        more = (f'<div class="cdw-tl-more" style="padding-left:160px"><i>... and '
                f"{total - len(shown)} more</i></div>" if total > len(shown) else "")
        return (f'<details class="cdw-tl-group" data-group="{esc(group.name)}" '
                f'data-count="{total}" style="margin:0">'
                f'<summary class="cdw-tl-row cdw-tl-group-row" style="{ROW};cursor:pointer;'
                f'list-style:none" title="{esc(tip)}"><span style="{NAME};font-weight:600">'
                f"\u25b8 {esc(group.name)} \u00d7{total}</span>"
                f'<span style="{TRACK}"><span class="cdw-tl-bar cdw-tl-span" data-status="group" '
                f'data-start="{begin - t0:.4f}" data-end="{end - t0:.4f}" '
                f'style="position:absolute;top:1px;bottom:1px;{self.place(begin, end)};'
                f"min-width:3px;background:linear-gradient(to right,{','.join(stops)});"
                f'border-radius:2px;outline:1px solid var(--jp-ui-font-color2,#5f6670)">'
                f'</span></span><span class="cdw-tl-note cdw-tl-counts" style="{self.note}">'
                f"{esc(said)}</span></summary>"
                f'{"".join(self.bar(b) for b in shown)}{more}</details>')


def timeline_html(res: RunResult, started: Mapping[str, float], now: float,
                  origin: float | None = None, limit: int = 400, *,
                  group_above: int = GROUP_ABOVE,
                  group_by: Callable[[str], str | None] | None = prefix_group,
                  height: int = 420, members: int = 40) -> str:
    """The timeline of the nodes that started (and of each element of a scattered node):
    ``started`` maps a running node to its start. Above ``group_above`` nodes, nodes of a
    group (``group_by``) share a row showing its first ``members``; at most ``limit`` rows
    are drawn, in a box scrolling beyond ``height`` pixels."""
    bars = _bars(res, started, now)
    if not bars:
        return ('<div class="cdw-timeline" data-bars="0"><i>No node has run yet: press Run, '
                "and each node's bar appears here as it starts.</i></div>")
    t0 = origin if origin is not None else min(b.begin for b in bars)
    t0 = min(t0, *(b.begin for b in bars))
    total = max(max(b.end for b in bars) - t0, 1e-3)
    nodes = len({b.owner for b in bars})
    grouped = group_by is not None and nodes > group_above
    rows = _rows(bars, group_by if grouped else None)
    scale = _Scale(t0, total, 170 if grouped else 60)
    drawn = "".join(scale.group(r, members) if isinstance(r, _Group) else scale.bar(r)
                    for r in rows[:limit])
    more = (f'<div class="cdw-tl-more"><i>... {len(rows) - limit} more rows not drawn</i></div>'
            if len(rows) > limit else "")
    axis = (f'<div class="cdw-tl-axis" style="{ROW};position:sticky;top:0;z-index:1;'
            f'background:var(--jp-layout-color0,#fff);margin:0;height:18px">'
            f'<span style="{NAME}"></span><span class="cdw-tl-ticks" style="position:relative;'
            f'flex:1 1 auto;height:14px;font-size:10px;color:var(--jp-ui-font-color2,#5f6670)">'
            f'{_axis_labels(total)}</span><span style="{scale.note}"></span></div>')
    groups = sum(isinstance(r, _Group) for r in rows)
    return (f'<div class="cdw-timeline" data-bars="{len(bars)}" data-nodes="{nodes}" '
            f'data-total="{total:.4f}" data-grouped="{int(grouped)}" data-groups="{groups}" '
            f'style="padding:4px 4px 4px 0"><div class="cdw-tl-scroll" style="max-height:'
            f'{height}px;overflow-y:auto;overflow-x:hidden">{axis}{drawn}{more}</div></div>')
