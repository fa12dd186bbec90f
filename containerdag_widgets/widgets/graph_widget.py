"""GraphWidget: the DAG as a live Cytoscape view with Run/Stop, progress and a node inspector."""

from __future__ import annotations

import threading
from typing import Any

import ipycytoscape
import ipywidgets as W
from traitlets import Bool, Dict, Float, Int, Unicode, observe

from ..errors import ContainerDagError
from ..events import Event, NodeFinished, NodeLog, NodeStarted, RunFinished
from ..execution import Executor
from ..graph import Graph
from ..registry import Registry
from ..result import RunResult
from ..runner import RunHandle
from ..status import FINAL, SUCCESS
from .canvas import Canvas
from .html import esc, ports_table, pre, section
from .style import graph_stylesheet

__all__ = ["GraphWidget"]


class GraphWidget(W.VBox):
    """A graph you can run and watch: node colours follow ``status`` while the run goes on.

    ``status``, ``inputs``, ``outputs``, ``running`` and ``selected`` are traitlets: observe
    them, or ``link``/``dlink`` them to other widgets. The widget builds them from the run's
    events only. ``status``, ``running`` and ``selected`` are synced (small, and ``jslink``-able);
    ``outputs`` and ``inputs`` stay in the kernel, since the page shows them as HTML.
    """

    status = Dict(help="node -> pending | running | done | cached | failed | skipped | "
                       "cancelled").tag(sync=True)
    outputs = Dict(help="node -> outputs of each node that finished (kernel-side)")
    inputs = Dict(help="node -> resolved inputs of each node that started (kernel-side)")
    running = Bool(False, help="whether a run is going on").tag(sync=True)
    selected = Unicode("", help="the node shown in the inspector (\"\" for none)").tag(sync=True)
    update_interval = Float(0.1, help="seconds between two pushes of status to the page while "
                                      "a run goes on")
    max_workers = Int(4, min=1, help="how many nodes run at once")

    def __init__(self, graph: Graph, registry: Registry | None = None, *,
                 layout_name: str = "dagre", height: str = "420px", timeout: float | None = None,
                 executor: Executor | None = None, **kwargs: Any):
        self.graph = graph
        self.registry = registry if registry is not None else Registry.current()
        self.timeout = timeout
        self.executor = executor
        #: The last run's final result (None before the first run ends).
        self.result: RunResult | None = None
        self.handle: RunHandle | None = None
        self._lock = threading.Lock()
        #: The run as this widget saw it, folded from events under ``_lock``.
        self._state = RunResult()
        self._pending: dict[str, str] = {}
        self._log_dirty = False
        self._flusher: threading.Thread | None = None
        self._finished = threading.Event()
        self._nodes: dict[str, ipycytoscape.Node] = {}

        self.cytoscape = Canvas(
            max_zoom=1.5,
            layout=W.Layout(height=height, width="60%", flex="0 0 60%", min_width="0"))
        self.cytoscape.set_style(graph_stylesheet())
        layout = {"name": layout_name, "animate": False, "fit": True, "padding": 20}
        if layout_name == "dagre":
            layout.update(rankDir="TB", nodeSep=30, rankSep=70)
        elif layout_name == "breadthfirst":
            layout.update(directed=True, spacingFactor=1.1)
        self.cytoscape.set_layout(**layout)
        self.cytoscape.on("node", "click", self._on_node_click)

        self.run_button = W.Button(description="Run", icon="play", button_style="success",
                                   tooltip="Run the graph")
        self.stop_button = W.Button(description="Stop", icon="stop", button_style="danger",
                                    disabled=True, tooltip="Cancel the run")
        self.progress = W.IntProgress(value=0, min=0, max=max(len(graph), 1),
                                      layout=W.Layout(width="220px"))
        self.progress_text = W.Label("")
        self.progress_text.add_class("cdw-progress")
        self.message = W.HTML("")
        self.message.add_class("cdw-message")
        self.inspector = W.HTML(self._inspector_html(""),
                                layout=W.Layout(width="40%", flex="0 0 40%", overflow="auto",
                                                max_height=height, padding="0 0 0 8px"))
        self.inspector.add_class("cdw-inspector")
        self.run_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())

        toolbar = W.HBox([self.run_button, self.stop_button, self.progress, self.progress_text])
        body = W.HBox([self.cytoscape, self.inspector], layout=W.Layout(width="100%"))
        super().__init__([toolbar, self.message, body], **kwargs)
        self.add_class("cdw-graph-widget")
        self.rebuild()
        if self.registry is None:
            self.run_button.disabled = True
            self.message.value = "<i>No registry: pass one to GraphWidget to run the graph.</i>"

    # ---- elements -----------------------------------------------------------------------

    def rebuild(self) -> None:
        """Redraw nodes and edges from ``self.graph`` (not during a run: it relays out)."""
        if self.running:
            raise RuntimeError("cannot rebuild the graph view while it runs")
        nodes = [
            ipycytoscape.Node(data={"id": name, "label": f"{name}\n{node.process}",
                                    "process": node.process}, classes="pending")
            for name, node in self.graph.nodes.items()
        ]
        edges = [
            ipycytoscape.Edge(data={"id": f"{up}.{out}->{down}.{port}", "source": up,
                                    "target": down, "label": f"{out} -> {port}"})
            for up, out, down, port in self.graph.edges if up in self.graph
        ]
        self._nodes = {n.data["id"]: n for n in nodes}
        self._drawn = self._shape()
        graph = self.cytoscape.graph
        # One state message for nodes and edges: a page that received the nodes before the
        # edges could lay them out with no edges (every node on one rank).
        with graph.hold_sync():
            graph.clear()
            graph.add_nodes(nodes)
            graph.add_edges(edges, directed=True, multiple_edges=True)
        self.progress.max = max(len(self.graph), 1)
        self._reset()

    def _shape(self) -> tuple:
        """What the drawing shows of the graph: node names with processes, and the edges."""
        return (tuple((n, node.process) for n, node in self.graph.nodes.items()),
                tuple(self.graph.edges))

    # ---- running ------------------------------------------------------------------------

    def start(self) -> RunHandle | None:
        """Start a run in the background (what the Run button does); None if it cannot."""
        if self.running or self.registry is None:
            return None
        if self._drawn != self._shape():  # the graph was edited since it was drawn
            self.rebuild()
        else:
            self._reset()
        try:
            self.running = True
            self.handle = self.graph.start(self.registry, max_workers=self.max_workers,
                                           timeout=self.timeout, listeners=[self._on_event],
                                           executor=self.executor)
        except ContainerDagError as exc:
            self.running = False
            self.message.value = pre(str(exc), "cdw-error")
            return None
        self.run_button.disabled = True
        self.stop_button.disabled = False
        # The first layout is fitted before the page has sized the canvas; fit it again now.
        self.cytoscape.relayout()
        self._finished.clear()
        self._flusher = threading.Thread(target=self._flush_loop, name="GraphWidget updates",
                                         daemon=True)
        self._flusher.start()
        return self.handle

    def run(self, timeout: float | None = None) -> RunResult:
        """Run and wait; the widget updates live meanwhile. Returns the ``RunResult``."""
        handle = self.start()
        if handle is None:
            raise RuntimeError(self.message.value or "the graph is already running")
        result = handle.wait(timeout)
        self.wait_idle(timeout)
        return result

    def stop(self) -> None:
        """Cancel the run: running calls are killed, nodes not started become skipped."""
        if self.handle is not None and not self.handle.done:
            self.handle.cancel()
            self.message.value = "<i>stopping...</i>"

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until the last update of the run reached the traits."""
        if self._flusher is not None:
            self._flusher.join(timeout)
            if self._flusher.is_alive():
                raise TimeoutError("the run's updates did not finish in time")

    def _reset(self) -> None:
        """Every node pending, no results: the state before a run."""
        self.message.value = ""
        self.result = None
        with self._lock:
            self._pending = {}
            self._state = RunResult.pending(list(self.graph.nodes))
        for node in self._nodes.values():
            node.classes = "pending"
        self.status = dict.fromkeys(self.graph.nodes, "pending")
        self.outputs = {}
        self.inputs = {}
        self.progress.value = 0
        self.progress_text.value = f"0/{len(self.graph)} done"

    def _on_event(self, event: Event) -> None:
        """Runs in the scheduler's thread: fold the event; the flusher thread talks to the page."""
        with self._lock:
            self._state.apply(event)
            if isinstance(event, NodeStarted):
                self._pending.setdefault(event.node, "running")
            elif isinstance(event, NodeFinished):
                self._pending[event.node] = event.status
            elif isinstance(event, NodeLog):
                self._log_dirty = self._log_dirty or event.node == self.selected
            elif isinstance(event, RunFinished):
                self.result = event.result
                self._finished.set()

    def _flush_loop(self) -> None:
        while True:
            done = self._finished.wait(self.update_interval) or (
                self.handle is not None and self.handle.done)
            self._flush()
            if done:
                break
        self._after_run()

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            log_dirty, self._log_dirty = self._log_dirty, False
            if pending:
                state = self._state.snapshot()
        if log_dirty and self.selected not in pending:
            self.inspector.value = self._inspector_html(self.selected)
        if not pending:
            return
        for name, status in pending.items():
            if name in self._nodes:
                self._nodes[name].classes = status
        # One sync message per batch, not per node; dicts copied so observers see a change.
        self.status = dict(state.status)
        self.inputs = {n: dict(v) for n, v in state.inputs.items()}
        self.outputs = {n: dict(v) for n, v in state.outputs.items()}
        finished = sum(s in FINAL for s in state.status.values())
        self.progress.value = finished
        self.progress_text.value = f"{finished}/{len(state.status)} done"
        if self.selected in pending:
            self.inspector.value = self._inspector_html(self.selected)

    def _after_run(self) -> None:
        self.running = False
        self.run_button.disabled = False
        self.stop_button.disabled = True
        res = self.result
        if res is None:
            return
        problems = {n: s for n, s in res.status.items() if s not in SUCCESS}
        if problems:
            counts: dict[str, int] = {}
            for s in problems.values():
                counts[s] = counts.get(s, 0) + 1
            self.message.value = '<span class="cdw-error">' + esc(
                ", ".join(f"{n} {s}" for s, n in counts.items())) + " (click a node)</span>"
        else:
            self.message.value = ""
        if self.selected:
            self.inspector.value = self._inspector_html(self.selected)

    # ---- inspector ----------------------------------------------------------------------

    def _on_node_click(self, event: dict) -> None:
        self.selected = event.get("data", {}).get("id", "")

    @observe("selected")
    def _selected_changed(self, change: dict) -> None:
        self.inspector.value = self._inspector_html(change["new"])

    def _inspector_html(self, name: str) -> str:
        if not name or name not in self.graph:
            return '<div class="cdw-inspector-body"><i>Click a node to inspect it.</i></div>'
        node = self.graph[name]
        with self._lock:
            res = self._state.snapshot()
        status = res.status.get(name, "pending")
        parts = [f'<div class="cdw-inspector-body" data-node="{esc(name)}">',
                 f'<h4 style="margin:4px 0">{esc(name)}</h4>',
                 f'<div>process <code>{esc(node.process)}</code> &middot; status '
                 f'<span class="cdw-status cdw-status-{esc(status)}">{esc(status)}</span>']
        if name in res.durations:
            parts.append(f" &middot; {res.durations[name]:.3f} s")
        parts.append("</div>")
        worker = res.workers.get(name, "local")
        link = getattr(self.executor, "dashboard_link", None)  # e.g. a DaskExecutor's
        where = [f"worker <code>{esc(worker)}</code>"] if worker != "local" else []
        if link:
            where.append(f'<a href="{esc(link)}" target="_blank" rel="noopener">Dask dashboard</a>')
        if where:
            parts.append(f'<div class="cdw-worker">{" &middot; ".join(where)}</div>')
        if name in res.inputs:
            parts.append(section("inputs", ports_table(res.inputs[name], "cdw-inputs")))
        else:
            declared = {p: (str(v) if hasattr(v, "node") else v) for p, v in node.inputs.items()}
            parts.append(section("inputs (declared)", ports_table(declared, "cdw-inputs")))
        if name in res.outputs:
            parts.append(section("outputs", ports_table(res.outputs[name], "cdw-outputs")))
        if name in res.errors:
            parts.append(section("error", pre(str(res.errors[name]), "cdw-error")))
        if res.logs.get(name):
            parts.append(section("log (stderr)", pre(res.logs[name], "cdw-log")))
        parts.append("</div>")
        return "".join(parts)

    def __repr__(self) -> str:
        return f"<GraphWidget {len(self.graph)} nodes>"

