"""The node inspector's HTML: status, why it ran or was reused, inputs, outputs, error, live log.

Rendered from a snapshot of the state the widget folded from events; nothing here reads a run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..model.files import human_size
from ..model.graph import Graph, Ref
from ..model.status import STATUSES
from ..run.result import RunResult
from .html import Plain, cell, esc, ports_table, pre, section
from .previews import COMPACT, INSPECTOR, preview_html
from .style import STATUS_COLORS, STATUS_TEXT

__all__ = ["inspector_html", "elements_html", "group_html", "status_badge", "EMPTY"]

EMPTY = '<div class="cdw-inspector-body"><i>Click a node to inspect it.</i></div>'


def status_badge(status: str) -> str:
    colour = STATUS_COLORS.get(status, "#cccccc")
    text = STATUS_TEXT.get(status, "#000000")
    return (f'<span class="cdw-status cdw-status-{esc(status)}" '
            f'style="background:{colour};color:{text}">{esc(status)}</span>')


def _declared(value: Any) -> Any:
    """An input that will come from another node shows as ``← node.output``."""
    return Plain(f"\u2190 {value.node}.{value.output}") if isinstance(value, Ref) else value


def _worker(res: RunResult, name: str, executor: Any) -> str:
    worker = res.workers.get(name, "local")
    link = getattr(executor, "dashboard_link", None)  # e.g. a DaskExecutor's
    if worker == "local" and not link:
        return ""
    return ('<div class="cdw-worker">' + (
        f"worker <code>{esc(worker)}</code>" if worker != "local" else "")
        + (f'{" &middot; " if worker != "local" else ""}<a href="{esc(link)}" '
           'target="_blank" rel="noopener">Dask dashboard</a>' if link else "")
        + "</div>")


def elements_html(name: str, res: RunResult, element: int | None, limit: int = 40) -> str:
    """A scattered node's elements: counts by status, a row each (the first ``limit``), and
    element ``element`` in full (its inputs, outputs with previews, error and log)."""
    found = res.elements.get(name, [])
    counts = Counter(e.get("status", "pending") for e in found)
    summary = " ".join(f"{status_badge(s)} {counts[s]}" for s in STATUSES if counts[s])
    rows = "".join(
        f'<tr class="cdw-element" data-index="{i}">{cell(str(i), tag="th")}'
        f'{cell(esc(e.get("label", "")))}{cell(status_badge(e.get("status", "pending")))}'
        f'{cell(esc(e.get("reason") or ""))}</tr>' for i, e in enumerate(found[:limit]))
    more = (f'<div class="cdw-empty">... and {len(found) - limit} more (choose one above '
            "the inspector)</div>" if len(found) > limit else "")
    parts = [section(f"elements ({len(found)})", f"<div>{summary}</div>"
                     f'<table class="cdw-ports cdw-elements">{rows}</table>{more}')]
    if element is not None and 0 <= element < len(found):
        chosen = found[element]
        body = [f'<div class="cdw-element-body" data-index="{element}">'
                f"<div>{status_badge(chosen.get('status', 'pending'))} "
                f"{esc(chosen.get('label', ''))}</div>"]
        if chosen.get("inputs") is not None:
            body.append(section("inputs", ports_table(chosen["inputs"], "cdw-inputs",
                                                      lambda v: preview_html(v, COMPACT))))
        if chosen.get("outputs"):
            body.append(section("outputs", ports_table(chosen["outputs"], "cdw-outputs",
                                                       lambda v: preview_html(v, INSPECTOR))))
        if chosen.get("error") is not None:
            body.append(section("error", pre(str(chosen["error"]), "cdw-error")))
        if chosen.get("log"):
            body.append(section("log (stderr)", pre(chosen["log"], "cdw-log")))
        parts.append(section(f"element {element}", "".join(body) + "</div>"))
    return "".join(parts)


def moving_html(moving: dict[str, tuple[int, int]]) -> str:
    """A running node's files on the move: what, bytes done of total, a bar each."""
    rows = []
    for what, (done, total) in moving.items():
        share = done / total if total else 1.0
        rows.append(f'<div class="cdw-moving" data-what="{esc(what)}">{esc(what)}: '
                    f"{human_size(done)} of {human_size(total)} ({share:.0%}) "
                    f'<progress max="1" value="{share:.3f}"></progress></div>')
    return "".join(rows)


def inspector_html(graph: Graph, name: str, res: RunResult, *, started: float | None = None,
                   executor: Any = None, element: int | None = None,
                   problems: Sequence[str] = ()) -> str:
    """The inspector of node ``name``; ``started`` is when it started, if it is running; for
    a scattered node, its elements and element ``element`` in full."""
    if not name or name not in graph:
        return EMPTY
    node = graph[name]
    status = res.status.get(name, "pending")
    parts = [f'<div class="cdw-inspector-body" data-node="{esc(name)}" '
             f'data-status="{esc(status)}">',
             f"<h4>{esc(name)}</h4>",
             f"<div>process <code>{esc(node.process)}</code> &middot; {status_badge(status)}"]
    if name in res.durations:
        parts.append(f" &middot; {res.durations[name]:.3f} s")
    elif status == "running" and started is not None:
        parts.append(f" &middot; {max(time.time() - started, 0.0):.1f} s so far")
    parts.append("</div>")
    if problems:
        parts.append(section("problems (fix them to run)", pre("\n".join(problems),
                                                                 "cdw-error cdw-problems")))
    if res.reasons.get(name):
        parts.append(f'<div class="cdw-reason">{esc(res.reasons[name])}</div>')
    parts.append(_worker(res, name, executor))
    if name in res.inputs:
        parts.append(section("inputs", ports_table(res.inputs[name], "cdw-inputs",
                                                   lambda v: preview_html(v, COMPACT))))
    else:
        declared = {p: _declared(v) for p, v in node.inputs.items()}
        parts.append(section("inputs (declared)", ports_table(declared, "cdw-inputs",
                                                              lambda v: preview_html(v, COMPACT))))
    if node.scatter:
        parts.append(elements_html(name, res, element))
    if name in res.outputs:
        parts.append(section("outputs", ports_table(res.outputs[name], "cdw-outputs",
                                                    lambda v: preview_html(v, INSPECTOR))))
    error = res.errors.get(name)
    if error is not None:
        parts.append(section("error", pre(str(error), "cdw-error")))
    if res.moving.get(name):  # gone when the node ends
        parts.append(section("files, live", moving_html(res.moving[name])))
    log = res.logs.get(name, "")
    if log:
        title = "traceback" if "Traceback (most recent call last)" in log else "log (stderr)"
        if status == "running":
            title += ", live"
        # column-reverse keeps the box scrolled to its end as the log grows.
        parts.append(section(title, f'<div class="cdw-scroll-end">'
                                    f'{pre(log, "cdw-log", scroll=False)}</div>'))
    elif status == "running":
        parts.append(section("log (stderr), live", '<div class="cdw-empty"><i>nothing yet'
                                                   "</i></div>"))
    parts.append("</div>")
    return "".join(parts)


def group_html(group: str, members: list[str], res: RunResult, limit: int = 40) -> str:
    """The inspector of a collapsed group: counts per status and its first members."""
    counts = Counter(res.status.get(m, "pending") for m in members)
    summary = " ".join(f"{status_badge(s)} {counts[s]}" for s in STATUSES if counts[s])
    rows = "".join(
        f"<tr>{cell(esc(m), tag='th')}{cell(status_badge(res.status.get(m, 'pending')))}</tr>"
        for m in members[:limit])
    more = (f'<div class="cdw-empty">... and {len(members) - limit} more (search a name to '
            "focus on it)</div>" if len(members) > limit else "")
    return (f'<div class="cdw-inspector-body" data-group="{esc(group)}">'
            f"<h4>{esc(group)} &times;{len(members)}</h4><div>{summary}</div>"
            + section("nodes", f'<table class="cdw-ports">{rows}</table>{more}') + "</div>")
