"""Session: the one owner of runs. It holds what a run needs (a registry, a result store, an
executor) and the bus its runs' events go out on, and starts, plans and cancels runs.

``Graph.run(registry, **options)`` runs in the registry's default session (``Session.of``),
so the README's one-liners need no session; a notebook that wants another store, executor or
its own subscribers makes one: ``Session(registry, executor=DaskExecutor(client))``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..model.bus import EventBus
from .decisions import RunCache, default_store
from .events import Event, RunFinished
from .execution import Executor, ThreadExecutor
from .options import RunOptions, executor_option
from .scheduler import Run, RunHandle

if TYPE_CHECKING:
    from ..cache import SafeStore, Store
    from ..model.graph import Graph
    from ..processes.registry import Registry
    from .plan import Plan
    from .result import RunResult

__all__ = ["Session"]

_defaults: weakref.WeakKeyDictionary[Registry, Session] = weakref.WeakKeyDictionary()
_defaults_lock = threading.Lock()


class Session:
    """Runs graphs with ``registry``: results cached in ``store`` (default: the database in
    the cache directory, ``$CONTAINERDAG_CACHE_DIR``, opened at each run's start), nodes run
    by ``executor`` (default: threads of this process, made for this session and closed with
    it). Every run's events go to its listeners and to the session's subscribers."""

    def __init__(self, registry: Registry, *, store: Store | SafeStore | None = None,
                 executor: Executor | None = None):
        self._registry: Callable[[], Registry | None] = lambda: registry
        self.store = store
        self._own_executor = executor is None
        self.executor: Executor = (executor_option(executor) if executor is not None
                                   else ThreadExecutor())
        self.bus = EventBus()
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, registry: Registry) -> Session:
        """The default session of ``registry`` (made on first use, kept while it lives)."""
        with _defaults_lock:
            session = _defaults.get(registry)
            if session is None:
                session = _defaults[registry] = cls(registry)
                # The registry's own session must not keep it alive (its containers and engine
                # connections go with it): it holds it weakly, and its threads end with it.
                session._registry = weakref.ref(registry)
                weakref.finalize(registry, session.executor.close)
            return session

    @property
    def registry(self) -> Registry:
        """The registry this session runs with."""
        registry = self._registry()
        if registry is None:
            raise RuntimeError("the registry of this session was freed")
        return registry

    # ---- running --------------------------------------------------------------------------

    def run(self, graph: Graph, options: RunOptions | None = None, **values: Any) -> RunResult:
        """Validate, then run ``graph`` (in this thread) and return its ``RunResult``. The
        options are a ``RunOptions`` or its values by name; ``OptionError`` before anything
        starts. Raises what crashed the run (after its ``RunFinished``), e.g. Ctrl-C."""
        run = self._prepare(graph, options, values)
        run.execute()
        if run.crash is not None:
            raise run.crash
        return run.result

    def start(self, graph: Graph, options: RunOptions | None = None,
              **values: Any) -> RunHandle:
        """Validate now, then run in a background thread; a ``RunHandle`` to wait or cancel."""
        return RunHandle(self._prepare(graph, options, values))

    def plan(self, graph: Graph, options: RunOptions | None = None, **values: Any) -> Plan:
        """Per node: whether a run with these options would reuse it, run it, or decide on
        its upstream's outputs (``depends``), and why. Starts no container, writes nothing."""
        from .plan import plan

        options = self._options(graph, options, values)
        self.add_tools(graph)
        return plan(graph, self.registry, options, self.run_cache(options))

    def run_cache(self, options: RunOptions) -> RunCache:
        """The cache as a run (or plan) with ``options`` sees it: ``cache=False`` opens no
        store at all; a store given in the options wins over the session's."""
        if options.cache is False:
            return RunCache(None, force=options.force)
        if options.cache is not True:
            store = options.cache
        else:
            store = self.store if self.store is not None else default_store()
        return RunCache(store, force=options.force)

    def _options(self, graph: Graph, options: RunOptions | None,
                 values: dict[str, Any]) -> RunOptions:
        if options is None:
            return RunOptions.checked(graph, **values)
        if values:
            return RunOptions.checked(graph, **{**options.given(), **values})
        return options

    def add_tools(self, graph: Graph) -> None:
        """Add the CWL tools that nodes name (``cwl: path``) and the registry lacks, under
        their nodes' process names (``Registry.add_cwl``)."""
        for node in graph.nodes.values():
            if node.cwl is not None and node.process not in self.registry:
                self.registry.add_cwl(node.cwl, name=node.process)

    def _prepare(self, graph: Graph, options: RunOptions | None,
                 values: dict[str, Any]) -> Run:
        options = self._options(graph, options, values)
        self.add_tools(graph)
        run = Run(graph, self.registry, options,
                  executor=options.executor or self.executor,
                  cache=self.run_cache(options), publish=lambda e: self._publish(e, graph))
        with self._lock:
            self._runs[run.id] = run  # until its RunFinished: what cancel() reaches
        return run

    def _publish(self, event: Event, graph: Graph) -> None:
        self.bus.publish(event, topic=graph)
        if isinstance(event, RunFinished):
            with self._lock:
                self._runs.pop(event.run, None)

    # ---- watching and stopping --------------------------------------------------------------

    def subscribe(self, callback: Callable[[Event], None], *,
                  graph: Graph | None = None) -> Callable[[], None]:
        """Call ``callback(event)`` with each event of this session's runs (of ``graph``
        only, if given), in the run's thread; returns a function that ends it."""
        return self.bus.subscribe(callback, topic=graph)

    def cancel(self, run_id: str | None = None) -> int:
        """Cancel run ``run_id`` (or every run going on); how many were cancelled."""
        with self._lock:
            runs = [r for i, r in self._runs.items() if run_id is None or i == run_id]
        for run in runs:
            run.request_cancel()
        return len(runs)

    @property
    def running(self) -> list[str]:
        """The ids of the runs going on."""
        with self._lock:
            return list(self._runs)

    def close(self) -> None:
        """Cancel the runs going on and release the executor this session made."""
        self.cancel()
        if self._own_executor:
            self.executor.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Session of {self.registry!r}, {len(self.running)} running>"
