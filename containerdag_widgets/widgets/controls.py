"""The graph widget's controls: run bar, navigation bar (fit, search, large-graph views), the
selected node's re-run buttons, the status legend, and the progress text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import ipywidgets as W

from ..model.status import FINAL, STATUSES, SUCCESS
from .style import STATUS_COLORS

__all__ = ["Controls", "legend_html", "progress_of", "bar_html", "BAR_ORDER"]

#: The order of the progress bar's segments: what gave outputs, what did not, what runs;
#: pending is the empty rest.
BAR_ORDER = ("done", "cached", "partial", "failed", "cancelled", "skipped", "running")


def legend_html(counts: Mapping[str, int] | None = None) -> str:
    """One swatch per status, in the colours the canvas uses, with how many nodes have it
    (when ``counts`` is given)."""
    items = "".join(
        f'<span class="cdw-legend-item" data-status="{s}"><span class="cdw-swatch" '
        f'style="background:{STATUS_COLORS[s]}"></span>{s}'
        + (f' <b class="cdw-legend-count">{counts.get(s, 0)}</b>' if counts is not None else "")
        + "</span>" for s in STATUSES)
    return f'<div class="cdw-legend" title="node colours">{items}</div>'


def bar_html(status: Mapping[str, str], *, width: int = 200) -> str:
    """The progress bar: a segment per status, as wide as its share of the nodes, in the
    canvas's colours (one failure among five is a fifth of the bar, not all of it red)."""
    total = max(len(status), 1)
    counts = Counter(status.values())
    parts = ", ".join(f"{counts[s]} {s}" for s in (*BAR_ORDER, "pending") if counts[s])
    segments = "".join(
        f'<div class="cdw-bar-seg" data-status="{s}" data-count="{counts[s]}" '
        f'style="width:{100 * counts[s] / total:.3f}%;background:{STATUS_COLORS[s]}"></div>'
        for s in BAR_ORDER if counts[s])
    return (f'<div class="cdw-bar" title="{parts}" role="progressbar" '
            f'aria-valuenow="{sum(counts[s] for s in FINAL)}" aria-valuemax="{len(status)}" '
            f'style="display:flex;width:{width}px;height:12px;border-radius:3px;'
            f'overflow:hidden;background:{STATUS_COLORS["pending"]}">{segments}</div>')


def progress_of(status: Mapping[str, str], running: bool) -> tuple[int, int, str, str]:
    """``(finished, total, text, kind)`` of a run: kind is ``""`` while it runs, ``ok`` when
    every node gave outputs, ``bad`` when one did not (the text then names the problems)."""
    total = len(status)
    counts = Counter(status.values())
    finished = sum(n for s, n in counts.items() if s in FINAL)
    ok = sum(counts[s] for s in SUCCESS)  # "done" counts the nodes that gave outputs only
    problems = ", ".join(f"{counts[s]} {s}" for s in STATUSES if s in FINAL - SUCCESS
                         and counts[s])
    if running or finished < total:
        text = f"{ok}/{total} done" + (f" ({problems})" if problems else "")
        return finished, total, text, "bad" if problems and not running else ""
    if problems:
        return finished, total, (f"{ok} done, " if ok else "") + f"{problems} of {total}", "bad"
    cached = f" ({counts['cached']} cached)" if counts["cached"] else ""
    return finished, total, f"{finished}/{total} done{cached}", "ok"


class Controls:
    """The widgets of the bars; ``GraphWidget`` wires their callbacks."""

    def __init__(self, total: int):
        def button() -> W.Layout:  # one each: a layout is shared state (display, ...)
            return W.Layout(width="auto")

        self.run = W.Button(description="Run", icon="play", button_style="success",
                            tooltip="Run the graph")
        self.stop = W.Button(description="Stop", icon="stop", button_style="danger",
                             disabled=True, tooltip="Cancel the run")
        self.rerun_failed = W.Button(description="Re-run failed", icon="redo", disabled=True,
                                     layout=button(),
                                     tooltip="Run the failed, skipped and cancelled nodes again")
        #: A segment per status (``bar_html``).
        self.progress = W.HTML(bar_html(dict.fromkeys(range(total), "pending")))
        self.progress.add_class("cdw-progress-bar")
        self.auto = W.ToggleButton(description="Auto", icon="bolt", layout=button(),
                                   tooltip="Run on its own after each edit (what a run "
                                           "would not reuse)")
        self.auto.add_class("cdw-auto")
        self.progress_text = W.Label("")
        self.progress_text.add_class("cdw-progress")
        self.fit = W.Button(description="Fit", icon="expand", layout=button(),
                            tooltip="Show the whole graph")
        self.search = W.Text(placeholder="find a node or process", continuous_update=False,
                             layout=W.Layout(width="220px"))
        self.search.add_class("cdw-search")
        self.found = W.HTML("")
        self.found.add_class("cdw-found")
        self.focus = W.ToggleButton(description="Focus", icon="crosshairs", layout=button(),
                                    tooltip="Show only the selected node and its neighbours")
        self.hops = W.BoundedIntText(value=1, min=1, max=20, description="hops",
                                     layout=W.Layout(width="110px"),
                                     style={"description_width": "34px"})
        self.grouped = W.ToggleButton(description="Group", icon="object-group", layout=button(),
                                      tooltip="Collapse nodes named alike (sweep 1, sweep 2, "
                                              "...) into one box each")
        self.large = W.HBox([self.focus, self.hops, self.grouped])
        self.large.add_class("cdw-large-controls")
        self.legend = W.HTML(legend_html())
        self.run_node = W.Button(description="Run this node", icon="play", layout=button(),
                                 tooltip="Run the selected node (and what it needs)")
        self.run_from = W.Button(description="Run from here", icon="forward", layout=button(),
                                 tooltip="Run the selected node and every node after it")
        self.elements = W.Button(description="Elements", icon="th", layout=button(),
                                 tooltip="Draw the selected scattered node as its elements, a "
                                         "box each (or as one box again)")
        self.elements.layout.display = "none"
        self.elements.add_class("cdw-elements")
        self.node_actions = W.HBox([self.run_node, self.run_from, self.elements])
        self.node_actions.add_class("cdw-node-actions")

    def run_bar(self) -> W.HBox:
        return W.HBox([self.run, self.stop, self.rerun_failed, self.auto, self.progress,
                       self.progress_text], layout=W.Layout(align_items="center"))

    def nav_bar(self) -> W.HBox:
        return W.HBox([self.fit, self.search, self.found, self.large, self.legend],
                      layout=W.Layout(align_items="center", flex_flow="row wrap"))

    def show_progress(self, status: Mapping[str, str], running: bool) -> None:
        _, _, text, kind = progress_of(status, running)
        self.progress.value = bar_html(status)
        self.legend.value = legend_html(Counter(status.values()))
        label = self.progress_text
        for k in ("ok", "bad"):
            (label.add_class if k == kind else label.remove_class)(f"cdw-progress-{k}")
        label.value = text

    def set_running(self, running: bool, can_run: bool, has_failed: bool,
                    selected: bool) -> None:
        self.run.disabled = running or not can_run
        self.stop.disabled = not running
        self.rerun_failed.disabled = running or not can_run or not has_failed
        self.run_node.disabled = self.run_from.disabled = running or not can_run or not selected
