"""GraphWidget: the DAG as a live Cytoscape view that follows every edit and every run of its
graph, with Run/Stop, re-run controls, search, a node inspector and a timeline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as W
from traitlets import Bool, Dict, Float, Int, List, Unicode, observe

from ..editing import connect_choices
from ..model.errors import ContainerDagError, GraphValidationError
from ..model.graph import Graph, GraphEdited
from ..model.status import SUCCESS
from ..processes.registry import Registry
from ..run.events import RunFinished, RunStarted
from ..run.execution import Executor
from ..run.result import RunResult
from ..run.scheduler import RunHandle
from ..run.session import Session
from .canvas import CanvasPane
from .closing import close_tree
from .controls import Controls
from .editor import GraphEditor
from .flusher import Flusher
from .html import esc, pre
from .inspector import EMPTY, group_html, inspector_html
from .stale import stale_nodes
from .state import Fold
from .style import graph_stylesheet
from .timeline import timeline_html
from .view import MAX_EXPANDED, View, build_view, group_data, node_data, prefix_group

__all__ = ["GraphWidget"]

#: The least zoom a search shows its match at (labels readable).
SEARCH_ZOOM = 1.0

#: The statuses Re-run failed runs again.
_RERUN = ("failed", "skipped", "cancelled", "partial")



class GraphWidget(W.VBox):
    """A graph you can run and watch: node colours follow ``status`` while a run goes on.

    The widget watches its graph (``Graph.watch``): an edit redraws it, and a run started from
    anywhere (the Run button, ``graph.run``, ``%dag run``, another widget) shows here. Its
    state is built from the runs' events only. ``status``, ``running`` and ``selected`` are
    synced (small, and ``jslink``-able); ``outputs`` and ``inputs`` stay in the kernel.
    """

    status = Dict(help="node -> pending | running | done | cached | failed | skipped | "
                       "cancelled").tag(sync=True)
    outputs = Dict(help="node -> outputs of each node that finished (kernel-side)")
    inputs = Dict(help="node -> resolved inputs of each node that started (kernel-side)")
    errors = Dict(help="node -> the message of each node that failed, was skipped or "
                       "cancelled (kernel-side)")
    problems = Dict(help="node -> what validation finds wrong with it now (its messages); "
                         "such nodes are marked on the canvas (kernel-side)")
    running = Bool(False, help="whether a run of the graph is going on").tag(sync=True)
    selected = Unicode("", help="the node shown in the inspector, highlighted and centred when "
                                "set from code or search (\"\" for none)").tag(sync=True)
    update_interval = Float(0.1, help="seconds between two pushes of a run's changes to the "
                                      "page")
    max_workers = Int(4, min=1, help="how many nodes run at once (the run option max_workers)")
    cache = Bool(True, help="reuse and store results of unchanged deterministic nodes (the run "
                            "option cache; False: neither, nor record the run)")
    expanded = List(Unicode(), help="scattered nodes drawn as their elements, a box each "
                                    "(the Elements button toggles the selected one; "
                                    "kernel-side)")
    element = Int(-1, help="the element of the selected scattered node shown in full in the "
                           "inspector (-1: none); the element picker sets it (kernel-side)")
    focus = Bool(False, help="show only the selected node and its neighbours (kernel-side)")
    focus_hops = Int(1, min=1, help="how far the focus view reaches from the selected node")
    grouped = Bool(False, help="draw nodes named alike (sweep 1, sweep 2, ...) as one box per "
                               "name (kernel-side); on by default above large_graph nodes")
    large_graph = Int(150, min=1, help="above this many nodes the graph starts grouped and the "
                                       "focus and group controls show")
    redraw_delay = Float(0.1, help="edits closer together than this are drawn together")
    auto = Bool(False, help="run on its own: when turned on and after each edit (API, %%node, "
                            "editor, a linked slider), the nodes a run would not reuse run, "
                            "once the edits pause for auto_delay seconds (kernel-side)")
    auto_delay = Float(0.3, help="seconds without an edit before an automatic run starts")
    stale = List(Unicode(), help="nodes whose last result an edit made out of date: a run "
                                 "would not reuse it as it is (from Graph.plan)").tag(sync=True)
    edited = Int(0, help="counts the edits of the graph, from anywhere (canvas, code, magics): "
                         "observe it to react to one")

    def __init__(self, graph: Graph, registry: Registry | Callable[[], Registry] | None = None,
                 *, layout_name: str = "dagre", height: str = "460px",
                 timeout: float | None = None, executor: Executor | None = None,
                 group_by: Callable[[str], str | None] | None = prefix_group,
                 grouped: bool | None = None, session: Session | None = None, **kwargs: Any):
        self.graph = graph
        self._registry_source = registry if callable(registry) else None
        self._registry = (None if callable(registry) else
                          registry if registry is not None else Registry.current())
        self.timeout, self.executor, self.group_by = timeout, executor, group_by
        #: Runs go through this session (default: the registry's own, ``Session.of``).
        self.session = session
        self._followed: dict[int, tuple[Session, Callable[[], None]]] = {}
        #: The last run's final result (None before a run ended).
        self.result: RunResult | None = None
        self.handle: RunHandle | None = None
        self._fold = Fold()
        self._lock = self._fold.lock
        self._draw_lock = threading.RLock()
        self._edit_lock = threading.RLock()  # the flusher flushes (observers run) under it
        self._expecting = False  # a run this widget started, before its first event
        self._flusher = Flusher(self._pushed, busy=self._busy,
                                interval=lambda: self.update_interval, idle=self._runs_idle)
        self._clicked = False
        self._last_edit = 0.0
        self._timer: threading.Timer | None = None
        self._auto_timer: threading.Timer | None = None
        self._auto_pending = False  # an edit came while a run went on: run once it ends
        self._auto_starting = False  # between the timer and the run's start
        self._group_auto = grouped is None
        self._graph_dirty = False
        self._drawing = False
        self._names: tuple[str, ...] = ()
        self._drawn = Graph()  # the graph as last drawn
        #: Nodes drawn anew (edited or added) since the last run began: Re-run failed runs them.
        self._edited_since: set[str] = set()
        self._view = View()

        self.pane = CanvasPane(graph_stylesheet(), height=height,
                               layout=W.Layout(width="60%", flex="0 0 60%", min_width="0"))
        self.cytoscape = self.pane.canvas
        layout = {"name": layout_name, "animate": False, "fit": True, "padding": 20}
        if layout_name == "dagre":
            layout.update(rankDir="TB", nodeSep=30, rankSep=70, edgeSep=12)
        elif layout_name == "breadthfirst":
            layout.update(directed=True, spacingFactor=1.1)
        self.pane.set_layout(**layout)
        if graph.layout:  # loaded with the graph (a YAML file's layout: section)
            self.pane.positions = graph.layout
        self.cytoscape.on("node", "click", self._on_node_click)
        self.cytoscape.on("edge", "click", self._on_edge_click)
        self.pane.helper.on_msg(self._page_event)
        self._mode: tuple | None = None  # the view last drawn (focus, groups, expanded)
        self._search: tuple[str, int] = ("", -1)  # the text searched and the match shown

        c = self.controls = Controls(len(graph))
        self.run_button, self.stop_button, self.progress = c.run, c.stop, c.progress
        self.progress_text = c.progress_text
        self.message = W.HTML("")
        self.message.add_class("cdw-message")
        self.inspector = W.HTML(EMPTY, layout=W.Layout(overflow="auto", max_height=height))
        self.inspector.add_class("cdw-inspector")
        self.editor = GraphEditor(self)
        self.edit_box = W.Accordion([self.editor], titles=("Edit the graph",),
                                    selected_index=None if len(graph) else 0)
        self.edit_box.add_class("cdw-edit-box")
        #: Chooses the element of a selected scattered node that the inspector shows in full.
        self.element_picker = W.Dropdown(options=[], description="element",
                                         layout=W.Layout(display="none", width="95%"))
        self.element_picker.add_class("cdw-element-picker")
        self.element_picker.observe(self._element_picked, "value")
        side = W.VBox([c.node_actions, self.edit_box, self.element_picker, self.inspector],
                      layout=W.Layout(width="40%", flex="0 0 40%", padding="0 0 0 8px"))
        self.timeline = W.HTML(timeline_html(RunResult(), {}, 0.0))
        self.timeline.add_class("cdw-timeline-view")
        self.tabs = W.Tab([W.HBox([self.pane, side], layout=W.Layout(width="100%")),
                           self.timeline], titles=["Graph", "Timeline"])
        c.run.on_click(lambda _: self.start())
        c.stop.on_click(lambda _: self.stop())
        c.rerun_failed.on_click(lambda _: self.rerun_failed())
        c.run_node.on_click(lambda _: self.run_node(self.selected))
        c.run_from.on_click(lambda _: self.run_from(self.selected))
        c.elements.on_click(lambda _: self.toggle_elements())
        c.fit.on_click(lambda _: self.pane.fit())
        self.relayout_button = W.Button(description="Re-layout", icon="sitemap",
                                        layout=W.Layout(width="auto"),
                                        tooltip="Lay every node out afresh")
        self.relayout_button.on_click(lambda _: self.relayout())
        c.search.observe(self._on_search, "value")
        W.link((c.focus, "value"), (self, "focus"))
        W.link((c.hops, "value"), (self, "focus_hops"))
        W.link((c.grouped, "value"), (self, "grouped"))
        W.link((c.auto, "value"), (self, "auto"))
        self.tabs.observe(lambda _: self._render_timeline(), "selected_index")
        nav = c.nav_bar()
        nav.children = (c.fit, self.relayout_button, *nav.children[1:])
        super().__init__([c.run_bar(), nav, self.message, self.tabs], **kwargs)
        self.add_class("cdw-graph-widget")
        if grouped is not None:
            self.grouped = grouped
        self.redraw()
        self._unwatch = graph.watch(self._on_event)
        registry = self._check_registry()
        if registry is not None:
            self._follow(registry)

    # ---- the registry ---------------------------------------------------------------------

    @property
    def registry(self) -> Registry | None:
        """The registry runs use (a callable given instead is asked at each run)."""
        if self._registry_source is not None:
            try:
                return self._registry_source()
            except Exception as exc:  # noqa: BLE001 - e.g. the magics' UsageError, shown
                self.message.value = pre(f"no registry: {exc}", "cdw-error")
                return None
        return self._registry

    @registry.setter
    def registry(self, registry: Registry | None) -> None:
        self._registry_source, self._registry = None, registry
        self._check_registry()

    def _check_registry(self) -> Registry | None:
        """The registry if it can run the graph; else say why and disable running."""
        registry = self.registry
        why = ("No registry: pass one to GraphWidget to run the graph." if registry is None
               else "The registry is closed (registry.close() ran), so this widget cannot run "
               "the graph. Make a new one, e.g. reg = Registry.from_docker(), and show "
               "GraphWidget(graph, reg); or close the registry only when you are done."
               if registry.closed else None)
        if why is not None and not self.message.value.startswith('<pre class="cdw-error">no'):
            self.message.value = f'<div class="cdw-registry-problem"><i>{esc(why)}</i></div>'
        elif why is None and "cdw-registry-problem" in self.message.value:
            self.message.value = ""
        self._buttons(why is None)
        return registry if why is None else None

    # ---- drawing ----------------------------------------------------------------------------

    def redraw(self) -> None:
        """Draw the whole graph again, every node pending, and lay it out (what an edit does)."""
        with self._draw_lock:
            self._graph_dirty = False
            self._names = tuple(self.graph)
            if self._group_auto:
                self._drawing = True  # not a choice of the user's
                try:
                    self.grouped = len(self._names) > self.large_graph
                finally:
                    self._drawing = False
            self.controls.large.layout.display = (
                "" if len(self._names) > self.large_graph or self.focus else "none")
            last, _ = self._fold.snapshot()
            # Stale until the next run: what earlier edits made stale stays so.
            had_results = any(s in SUCCESS for s in last.status.values())
            new = (stale_nodes(self.graph, self.registry, last.status)
                   if had_results and not self._fold.active else [])
            self.stale = [n for n in self._names if n in self.stale or n in new]
            self._validate()
            # A node drawn as it was keeps its last result (an edit elsewhere loses nothing).
            drawn, self._drawn = self._drawn, self.graph.copy()
            keep = [n for n in self._names if drawn.nodes.get(n) == self._drawn[n]]
            self._edited_since.update(set(self._names).difference(keep))
            self._fold.reset(self._names, keep=keep)
            self._draw()
            self.editor.refresh()
        self._flush()
        self._render_inspector()

    rebuild = redraw

    def _validate(self) -> None:
        """Find what is wrong with the graph now: ``problems``, the canvas marks; a validation
        message under the toolbar goes once the graph is fixed."""
        registry = self._registry if self._registry_source is None else None
        found: dict[str, list[str]] = {}
        if registry is not None and not registry.closed:
            try:
                for problem in self.graph.problems(registry):
                    if problem.node:
                        found.setdefault(problem.node, []).append(problem.detail)
            except ContainerDagError:
                found = {}
        self.problems = found
        if not found and 'data-kind="validation"' in self.message.value:
            self.message.value = ""

    def _draw(self) -> None:
        with self._draw_lock:
            state, _ = self._fold.snapshot()
            focus = self.selected if self.focus and self.selected in self.graph else None
            view = build_view(self.graph, state.status, focus=focus, hops=self.focus_hops,
                              group_by=self.group_by if self.grouped else None,
                              expanded=self.expanded, elements=state.elements)
            self._view = view
            # A new view (focus, groups, elements) is laid out afresh; an edit keeps places.
            mode = (focus, focus and self.focus_hops, self.grouped, tuple(self.expanded))
            fresh, self._mode = self._mode is not None and mode != self._mode, mode
            self.pane.draw([{"data": d, "classes": self._classes(i, state.status)}
                            for i, d in view.nodes.items()],
                           [{"data": d} for d in view.edges], fresh=fresh)

    def _classes(self, shown: str, status: dict[str, str],
                 elements: dict[str, list[dict[str, Any]]] | None = None) -> str:
        if elements is None and shown in self._view.elements:
            elements = self._fold.snapshot()[0].elements
        return self._view.classes(shown, status, self.stale, self.selected, self.problems,
                                  elements=elements, element=self.element)

    @observe("focus", "focus_hops", "grouped")
    def _view_changed(self, change: dict) -> None:
        if self._drawing:
            return
        if change["name"] == "grouped":
            self._group_auto = False
        if self._view.nodes:  # drawn once already
            self._draw()

    def _on_event(self, event: Any) -> None:
        """Every edit and run event of the graph (``Graph.watch``): in the editing thread or
        the run's scheduling thread. Fold it; the flusher thread talks to the page."""
        if isinstance(event, GraphEdited):
            if event.kind == "rename":  # its results, drawing and stale mark follow it
                old, new = event.nodes
                self._fold.rename(old, new)
                if old in self._drawn and new not in self._drawn:
                    self._drawn.rename(old, new)  # references to it follow, as in the graph
                self.pane.rename(old, new)  # and its place
                self.stale = [new if n == old else n for n in self.stale]
            self.edited += 1
            self._edited()
            if self.auto:
                self._schedule_auto()
            return
        if isinstance(event, RunStarted):
            if self._graph_dirty:
                self.redraw()
            self.stale = []
            self._edited_since.clear()
            self._expecting = False
        self._fold.apply(event)
        if isinstance(event, RunFinished):
            self.result = event.result
            self._flusher.push_now()
        elif isinstance(event, RunStarted) or self._flusher.thread is None:
            self._flusher.begins()

    def _edited(self) -> None:
        now = time.monotonic()
        with self._edit_lock:
            burst = now - self._last_edit < self.redraw_delay
            self._last_edit, self._graph_dirty = now, True
            if burst:  # many edits in a row (a loop): draw once they stop
                if self._timer is None:
                    self._timer = threading.Timer(self.redraw_delay, self._after_edits)
                    self._timer.daemon = True
                    self._timer.start()
                return
        self.redraw()

    def _after_edits(self) -> None:
        with self._edit_lock:
            wait = self._last_edit + self.redraw_delay - time.monotonic()
            if wait > 0:
                self._timer = threading.Timer(wait, self._after_edits)
                self._timer.daemon = True
                self._timer.start()
                return
            self._timer = None
        if self._graph_dirty:
            self.redraw()

    def _flush(self) -> None:
        update = self._fold.take()
        if update is None:
            if self.running and self.tabs.selected_index == 1:  # running bars grow
                self._render_timeline()
            return
        state, names = update.state, self._names
        with self._draw_lock:
            view = self._view
            touched = {view.shown_as.get(n) for n in update.nodes} - {None}
            data = {shown: group_data(shown, view.members[shown], state.status)
                    for shown in touched if shown in view.groups}
            for shown in touched:  # a scattered node: its elements' counts and bar
                if shown in self._drawn and self._drawn[shown].scatter:
                    data[shown] = view.nodes[shown] = node_data(
                        self._drawn, shown, state.elements.get(shown))
            grown = [n for n in self.expanded if n in update.nodes and len(view.expanded.get(
                n, [])) != min(len(state.elements.get(n, [])), MAX_EXPANDED)]
            for n in update.nodes:  # an expanded node: its elements' boxes
                touched.update(view.expanded.get(n, []))
            self.pane.update(
                classes={shown: self._classes(shown, state.status, state.elements)
                         for shown in touched}, data=data)
        if grown:  # elements came or went: draw their boxes
            self._draw()
        running = bool(update.active) or self._expecting
        if update.nodes or update.run_changed:
            self.status = {n: state.status.get(n, "pending") for n in names}
            self.inputs = {n: dict(state.inputs[n]) for n in names if n in state.inputs}
            self.outputs = {n: dict(state.outputs[n]) for n in names if n in state.outputs}
            self.errors = {n: str(state.errors[n]) for n in names if n in state.errors}
            run = update.run_nodes or names
            self.controls.show_progress({n: state.status.get(n, "pending") for n in run},
                                        running)
        if self.running != running:
            self.running = running
            self._buttons(True)
        selected = {self.selected, view.shown_as.get(self.selected)}
        if selected & (touched | update.logs | ({self.selected} if running else set())):
            self.inspector.value = self._inspector_html(self.selected, state, update.started)
        if self.tabs.selected_index == 1:  # hidden, it is drawn when its tab is chosen
            self._render_timeline(state, update.started, update.origin)
        if update.run_changed and not running and update.finished is not None:
            self._report(update.finished)

    # ---- runs: start them (all, a node, from a node, the failed ones), stop them -----------

    def start(self, nodes: Iterable[str] | None = None, *,
              force: Iterable[str] | None = None) -> RunHandle | None:
        """Start a run in the background (what Run does): every node, or ``nodes`` and what
        they need; ``force`` names nodes to run even if cached. None if it cannot start."""
        # A run going on, by the events (``running`` follows them at the next push, so a run
        # that just ended elsewhere may still read as running there).
        if self._fold.active or self._expecting:
            return None
        registry = self._check_registry()
        if registry is None:
            return None
        if self._graph_dirty:
            self.redraw()
        session = self._follow(registry)
        options: dict[str, Any] = {"max_workers": self.max_workers, "timeout": self.timeout,
                                   "executor": self.executor, "cache": self.cache}
        if nodes is not None:
            options["nodes"] = list(nodes)
        if force is not None:
            options["force"] = list(force)
        self.message.value = ""
        # Running shows before the run starts: a run may end (and the flusher push its end)
        # before graph.start returns, and its end must be what stays.
        self._expecting = self.running = True
        self.controls.set_running(True, True, False, False)
        self._flusher.begins()
        try:
            self.handle = session.start(self.graph, **options)
        except ContainerDagError as exc:
            self._expecting = self.running = False
            self._buttons(True)
            self._flusher.push_now()
            self.message.value = pre(str(exc), "cdw-error")
            if isinstance(exc, GraphValidationError):  # cleared when the graph is fixed
                found: dict[str, list[str]] = {}
                for problem in exc.problems:
                    if problem.node:
                        found.setdefault(problem.node, []).append(problem.detail)
                self.problems = found
                self.message.value = (f'<div data-kind="validation">{self.message.value}'
                                      "</div>")
                self._draw()
            return None
        return self.handle

    def run(self, timeout: float | None = None) -> RunResult:
        """Run and wait; the widget updates live meanwhile. Returns the ``RunResult``."""
        handle = self.start()
        if handle is None:
            raise RuntimeError(self.message.value or "the graph is already running")
        result = handle.wait(timeout)
        self.wait_idle(timeout)
        return result

    def run_node(self, name: str) -> RunHandle | None:
        """Run node ``name`` (a node, or a group's nodes) again, with what it needs."""
        names = self._view.members.get(name, [name] if name in self.graph else [])
        return self.start(nodes=names, force=names) if names else None

    def run_from(self, name: str) -> RunHandle | None:
        """Run node ``name`` (or a group's nodes) and every node downstream of it."""
        names = self._view.members.get(name, [name] if name in self.graph else [])
        after = set(names).union(*(self.graph.descendants(n) for n in names))
        targets = [n for n in self.graph if n in after]
        return self.start(nodes=targets, force=targets) if targets else None

    def rerun_failed(self) -> RunHandle | None:
        """Run the nodes that failed, were skipped or cancelled, and those edited since (an
        edit that fixed a failed node drew it anew, pending), with what they need."""
        if self._graph_dirty:
            self.redraw()  # an edit not drawn yet: what it changed is known after this
        targets = [n for n in self.graph
                   if self.status.get(n) in _RERUN or n in self._edited_since]
        # A scattered node is not forced: its failed elements run again, the others are
        # reused from the cache.
        force = [n for n in targets if not self.graph[n].scatter]
        return self.start(nodes=targets, force=force) if targets else None

    def stop(self) -> None:
        """Cancel the runs going on: running calls are killed, nodes not started are skipped."""
        cancelled = sum(session.cancel(run) for run in self._fold.running()
                        for session, _ in self._followed.values())
        if self.handle is not None and not self.handle.done:
            self.handle.cancel()
            cancelled += 1
        if cancelled:
            self.message.value = "<i>stopping...</i>"

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until the last update of the runs reached the traits."""
        self._flusher.wait_idle(timeout)

    def _busy(self) -> bool:
        return bool(self._fold.active) or self._expecting

    def _pushed(self) -> None:
        """One push of the flusher: what the runs changed, to the traits and the page."""
        if self._expecting and self.handle is not None and self.handle.done:
            self._expecting = False  # the run ended before it began: say why
            try:
                self.handle.wait(0)
            except BaseException as exc:  # noqa: BLE001 - shown, not raised
                self.message.value = pre(f"the run failed: {exc}", "cdw-error")
        self._flush()

    def _runs_idle(self) -> None:
        with self._edit_lock:
            self._buttons(self.registry is not None)
            pending, self._auto_pending = self._auto_pending, False
        if pending and self.auto:
            self._schedule_auto()

    # ---- the automatic mode -----------------------------------------------------------------

    @observe("auto")
    def _auto_changed(self, change: dict) -> None:
        if change["new"]:
            self._schedule_auto()
        else:
            self._cancel_auto()

    def _schedule_auto(self) -> None:
        """Start a run ``auto_delay`` seconds after the last edit (each edit restarts it)."""
        with self._edit_lock:
            if self._auto_timer is not None:
                self._auto_timer.cancel()
            self._auto_timer = threading.Timer(self.auto_delay, self._auto_run)
            self._auto_timer.daemon = True
            self._auto_timer.start()

    def _cancel_auto(self) -> None:
        with self._edit_lock:
            if self._auto_timer is not None:
                self._auto_timer.cancel()
                self._auto_timer = None
            self._auto_pending = False

    def settle(self, timeout: float | None = None) -> None:
        """Wait until no automatic run is due or going on (``auto``: an edit starts one after
        ``auto_delay``) and the last run's updates reached the traits. ``TimeoutError`` after
        ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._edit_lock:
                due = self._auto_timer is not None or self._auto_pending or self._auto_starting
            if not (due or self._busy() or self.running):
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"the graph did not settle in {timeout} s")
            time.sleep(0.01)
        self.wait_idle(None if deadline is None else max(deadline - time.monotonic(), 0.0))

    def _auto_run(self) -> None:
        with self._edit_lock:
            self._auto_timer = None
            if not self.auto:
                return
            if self._busy() or self.running:  # after the run going on
                self._auto_pending = True
                return
            self._auto_starting = True
        try:
            if self.registry is not None and self.graph.nodes:
                self.start()
        finally:
            with self._edit_lock:
                self._auto_starting = False

    def _report(self, result: RunResult) -> None:
        counts: dict[str, int] = {}
        for s in result.status.values():
            if s not in SUCCESS:
                counts[s] = counts.get(s, 0) + 1
        # The theme's text colour, a red dot and bold (style.WIDGET_CSS): legible in both themes.
        self.message.value = ('<span class="cdw-error cdw-failures">' + esc(
            ", ".join(f"{n} {s}" for s, n in counts.items())) + " (click a node)</span>"
            if counts else "")
        self._buttons(True)

    def _buttons(self, can_run: bool) -> None:
        registry = self._registry if self._registry_source is None else True
        can_run = can_run and registry is not None and not getattr(registry, "closed", False)
        failed = any(s in _RERUN for s in self.status.values())
        self.controls.set_running(self.running, can_run, failed, bool(self.selected))
        node = self.graph.nodes.get(self.selected)
        c = self.controls
        c.elements.layout.display = "" if node is not None and node.scatter else "none"
        c.elements.description = ("One box" if self.selected in self.expanded
                                  else "Elements")

    # ---- selection, search, inspector, timeline -----------------------------------------------

    def select(self, name: str, *, center: bool = True) -> None:
        """Select node ``name`` (inspector, highlight); ``center`` also moves the view to it."""
        self._clicked = not center
        try:
            self.selected = name
        finally:
            self._clicked = False

    def _on_node_click(self, event: dict) -> None:
        name = event.get("data", {}).get("id", "")
        if name in self._view.elements:  # an element's box: its node, that element in full
            node, index = self._view.elements[name]
            self.select(node, center=False)
            self.element = index
            return
        self.editor.node_clicked(name)
        self.select(name, center=False)

    def toggle_elements(self, name: str | None = None) -> None:
        """Draw scattered node ``name`` (default: the selected one) as its elements, or as
        one box again."""
        name = name or self.selected
        if name in self.graph and self.graph[name].scatter:
            self.expanded = ([n for n in self.expanded if n != name] if name in self.expanded
                             else [*self.expanded, name])

    @observe("expanded")
    def _expanded_changed(self, _change: dict) -> None:
        self._draw()
        self._buttons(True)

    def _on_edge_click(self, event: dict) -> None:
        data = event.get("data", {})
        self.editor.edge_clicked(data.get("source", ""), data.get("target", ""))

    @observe("selected")
    def _selected_changed(self, change: dict) -> None:
        old, new = change["old"], change["new"]
        if self.focus:
            self._draw()
        else:
            state, _ = self._fold.snapshot()
            with self._draw_lock:
                shown = {self._view.shown_as.get(name, name) for name in (old, new)}
                self.pane.update(classes={s: self._classes(s, state.status) for s in shown})
            if new and not self._clicked and new in self._view.shown_as:
                self.pane.center(self._view.shown_as[new])
        self.element = -1
        self._render_inspector()
        self._buttons(True)

    def _element_picked(self, change: dict) -> None:
        self.element = -1 if change["new"] is None else change["new"]

    @observe("element")
    def _element_changed(self, change: dict) -> None:
        if self.element_picker.value != (None if change["new"] < 0 else change["new"]):
            self.element_picker.value = None if change["new"] < 0 else change["new"]
        boxes = self._view.expanded.get(self.selected, [])
        if boxes:  # the element shown is highlighted on the canvas
            state, _ = self._fold.snapshot()
            with self._draw_lock:
                self.pane.update(classes={b: self._classes(b, state.status, state.elements)
                                          for b in boxes})
        self._render_inspector()

    def _show_picker(self, name: str, state: RunResult) -> None:
        """The element picker: shown for a scattered node, its options the elements so far."""
        node = self.graph.nodes.get(name)
        found = state.elements.get(name, []) if node is not None and node.scatter else []
        options = [(f"{i}: {e.get('label', '')} ({e.get('status', 'pending')})", i)
                   for i, e in enumerate(found)]
        if options != list(self.element_picker.options):
            value = self.element if 0 <= self.element < len(found) else None
            with self.element_picker.hold_trait_notifications():
                self.element_picker.options = options
                self.element_picker.value = value
        self.element_picker.layout.display = "" if node is not None and node.scatter else "none"

    def _on_search(self, change: dict) -> None:
        if change["new"].strip().lower() != self._search[0]:  # (Enter searched it already)
            self.search(change["new"])

    def search(self, text: str, *, step: bool = False) -> str:
        """Select, and show at a readable zoom, the first node whose name or process holds
        ``text`` (exact names first); with ``step`` (Enter in the search box), the next match
        of the same text. Returns the node ("" for none)."""
        key = text.strip().lower()
        if not key:
            self.controls.found.value = ""
            self._search = ("", -1)
            return ""
        matches = [n for n in self.graph
                   if key in n.lower() or key in self.graph[n].process.lower()]
        matches.sort(key=lambda n: (n.lower() != key, not n.lower().startswith(key)))
        if not matches:
            self.controls.found.value = f"<i>no node matches {esc(text)!s}</i>"
            self._search = (key, -1)
            return ""
        index = (self._search[1] + 1) % len(matches) if step and self._search[0] == key else 0
        self._search = (key, index)
        self.controls.found.value = (f"{index + 1} of {len(matches)} (Enter: next)"
                                     if len(matches) > 1 else "")
        name = matches[index]
        self.select(name, center=False)
        if name in self._view.shown_as:
            self.pane.center(self._view.shown_as[name], zoom=SEARCH_ZOOM)
        return name

    def relayout(self) -> None:
        """Lay every node out afresh (what Re-layout does): edits keep nodes where they are."""
        self.pane.relayout()

    @property
    def positions(self) -> dict[str, dict[str, float]]:
        """Drawn node -> ``{"x", "y"}`` on the canvas, as laid out or dragged in the page (the
        canvas helper's synced ``positions``); set it to place nodes."""
        return self.pane.positions

    @positions.setter
    def positions(self, positions: dict[str, dict[str, float]]) -> None:
        self.pane.positions = positions

    def to_yaml(self) -> str:
        """The graph as YAML with a ``layout:`` section of where its nodes stand here:
        ``GraphWidget(Graph.from_yaml(text), registry)`` draws them there again."""
        return self.graph.to_yaml(layout=self.positions)

    def _page_event(self, _helper: Any, content: dict, _buffers: Any) -> None:
        """What the page says: a click on the empty canvas, the Delete key on the node
        selected there, Enter in the search box."""
        event = content.get("event")
        if event == "background":
            self.selected = ""
        elif event == "delete-node":
            name = content.get("id")
            if name and name == self.selected and name in self.graph:
                self.editor.delete(name)
        elif event == "search" and isinstance(content.get("text"), str):
            self.search(content["text"], step=True)
        elif event == "link-from" and isinstance(content.get("id"), str):
            self.pane.helper.command("targets", source=content["id"],
                                     ids=self.link_targets(content["id"]))
        elif event == "link-to":
            self.link(str(content.get("source")), str(content.get("target")))

    def link_targets(self, up: str) -> list[str]:
        """The nodes ``up`` may feed (lit while a connection is dragged from it): an input of a
        type one of its outputs fits, and no cycle (none of what ``up`` reads from)."""
        registry = self.registry
        if registry is None or up not in self.graph:
            return []
        before = self.graph.needs([up])  # up and its upstream: feeding them makes a cycle
        found = []
        for down in self.graph:
            if down in before:
                continue
            try:
                if connect_choices(self.graph, registry, up, down):
                    found.append(down)
            except ContainerDagError:  # e.g. an unknown process: nothing to connect
                continue
        return found

    def link(self, up: str, down: str) -> bool:
        """A connection dropped from ``up`` on ``down``: made through the editor when one
        (output, input) pair fits; the editor offers the pairs when several do."""
        if down not in self.link_targets(up):
            return False
        pairs = connect_choices(self.graph, self.registry, up, down)
        if len(pairs) == 1:
            return self.editor.connect(up, pairs[0][0], down, pairs[0][1])
        self.edit_box.selected_index = 0
        self.editor.connecting = True
        self.editor.node_clicked(up)
        self.editor.node_clicked(down)
        return False

    def _render_inspector(self) -> None:
        self.inspector.value = self._inspector_html(self.selected)

    def _inspector_html(self, name: str, state: RunResult | None = None,
                        started: dict[str, float] | None = None) -> str:
        if state is None or started is None:
            state, started = self._fold.snapshot()
        if name in self._view.groups:
            return group_html(name, self._view.members[name], state)
        self._show_picker(name, state)
        return inspector_html(self.graph, name, state, started=started.get(name),
                              executor=self.executor,
                              element=self.element if self.element >= 0 else None,
                              problems=self.problems.get(name, ()))

    def _render_timeline(self, state: RunResult | None = None,
                         started: dict[str, float] | None = None,
                         origin: float | None = None) -> None:
        if state is None or started is None:
            state, started = self._fold.snapshot()
            origin = self._fold.origin
        # Nodes named alike share a row above the widget's own threshold, as on the canvas.
        self.timeline.value = timeline_html(state, started, time.time(), origin,
                                            group_above=self.large_graph,
                                            group_by=self.group_by)

    @property
    def _state(self) -> RunResult:
        """The runs as this widget folded them from events."""
        return self._fold.current()

    def _follow(self, registry: Registry) -> Session:
        """The session runs go through, its events of this graph followed from now on (every
        run of the graph in it, wherever started: here, ``graph.run``, ``%dag run``)."""
        session = self.session if self.session is not None else Session.of(registry)
        if id(session) not in self._followed:
            self._followed[id(session)] = (
                session, session.subscribe(self._on_event, graph=self.graph))
        return session

    def close(self) -> None:
        """Stop following the graph and its runs, and close every widget this one opened."""
        self._unwatch()
        for _, unsubscribe in self._followed.values():
            unsubscribe()
        self._followed.clear()
        self._flusher.close()
        self._cancel_auto()
        with self._edit_lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        close_tree(self)

    def __repr__(self) -> str:
        return f"<GraphWidget {len(self.graph)} nodes>"
