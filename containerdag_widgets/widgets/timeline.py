"""The run's timeline (a Gantt chart in HTML): one bar per node from its start to its end.

Bars are coloured by status and placed on a common time axis, so waits between nodes and the
nodes that ran in parallel are visible. A running node's bar grows to "now" on each update.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..run.result import RunResult
from .html import esc
from .style import STATUS_COLORS

__all__ = ["timeline_html"]

ROW = ("display:flex;align-items:center;height:18px;margin:1px 0")
NAME = ("flex:0 0 160px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;"
        "padding-right:6px;text-align:right")
TRACK = ("position:relative;flex:1 1 auto;height:14px;background:var(--jp-layout-color2,#eee);"
         "border-radius:2px")


def _ticks(total: float) -> list[float]:
    step = next((s for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
                 if total / s <= 8), 7200.0)
    return [i * step for i in range(int(total / step) + 1)]


def timeline_html(res: RunResult, started: Mapping[str, float], now: float,
                  origin: float | None = None, limit: int = 400) -> str:
    """The timeline of the nodes that started (and of each element of a scattered node):
    ``started`` maps a running node to its start."""
    spans: dict[str, tuple[float, float, str]] = {}
    for node, (begin, end) in res.times.items():
        spans[node] = (begin, end, res.status.get(node, "done"))
    for node, begin in started.items():
        if node not in spans and res.status.get(node) == "running":
            spans[node] = (begin, now, "running")
    # The elements of a scattered node, each a bar of its own under the node's name.
    rows_of: dict[str, tuple[str, str]] = {node: (node, "") for node in spans}
    for node, elements in res.elements.items():
        for index, element in enumerate(elements):
            begin = element.get("started")
            if begin is None:
                continue
            status = element.get("status", "running")
            duration = element.get("duration")
            end = begin + duration if duration is not None else (
                now if status == "running" else begin)
            key = f"{node}[{index}] {element.get('label', '')}"
            spans[key] = (begin, end, status)
            rows_of[key] = (node, str(index))
    if not spans:
        return ('<div class="cdw-timeline" data-bars="0"><i>No node has run yet: press Run, '
                "and each node's bar appears here as it starts.</i></div>")
    t0 = origin if origin is not None else min(b for b, _, _ in spans.values())
    t0 = min(t0, *(b for b, _, _ in spans.values()))
    total = max(max(e for _, e, _ in spans.values()) - t0, 1e-3)
    ordered = sorted(spans.items(), key=lambda kv: (kv[1][0], kv[0]))
    rows = []
    for node, (begin, end, status) in ordered[:limit]:
        left = 100.0 * (begin - t0) / total
        width = max(100.0 * (end - begin) / total, 0.4)
        colour = STATUS_COLORS.get(status, "#999")
        tip = f"{node}: {status}, {end - begin:.3f} s (from +{begin - t0:.3f} s)"
        owner, element = rows_of[node]
        rows.append(
            f'<div class="cdw-tl-row" style="{ROW}" data-node="{esc(owner)}"'
            + (f' data-element="{element}"' if element else "") + ">"
            f'<span style="{NAME}">{esc(node)}</span><span style="{TRACK}">'
            f'<span class="cdw-tl-bar cdw-tl-{esc(status)}" data-status="{esc(status)}" '
            f'data-start="{begin - t0:.4f}" data-end="{end - t0:.4f}" title="{esc(tip)}" '
            f'style="position:absolute;top:0;bottom:0;left:{left:.3f}%;width:{width:.3f}%;'
            f'background:{colour};border-radius:2px"></span></span></div>')
    more = (f"<div><i>... {len(ordered) - limit} more nodes not drawn</i></div>"
            if len(ordered) > limit else "")
    ticks = "".join(
        f'<span style="position:absolute;left:{100.0 * t / total:.2f}%;'
        f'transform:translateX(-50%)">{t:g} s</span>' for t in _ticks(total))
    axis = (f'<div style="{ROW}"><span style="{NAME}"></span><span style="position:relative;'
            f'flex:1 1 auto;height:14px;font-size:10px;color:var(--jp-ui-font-color2,#666)">'
            f"{ticks}</span></div>")
    return (f'<div class="cdw-timeline" data-bars="{len(ordered)}" data-total="{total:.4f}" '
            f'style="padding:4px 26px 4px 0">{axis}{"".join(rows)}{more}</div>')
