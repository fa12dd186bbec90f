"""Registry: process name -> Process, filled from sources (Docker images) and by hand."""

from __future__ import annotations

import itertools
import uuid
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from ..model.errors import ContainerDagError, ProcessNotFound
from .base import Process
from .python import DEFINED

__all__ = ["Registry", "Source"]

ALIAS_PREFIX = "process."


class Source(Protocol):
    """Where processes come from, e.g. the Docker backend's ``DockerSource``."""

    name: str
    #: Problems met by the last ``discover`` (processes that could not be described).
    problems: list[ContainerDagError]

    def discover(self) -> list[Process]: ...

    def close(self) -> None: ...


_creation_order = itertools.count()
_open_registries: weakref.WeakSet[Registry] = weakref.WeakSet()


class Registry:
    """A name -> ``Process`` mapping. ``process.<name>`` is accepted as an alias of ``<name>``.

    Use it as a context manager, or call ``close()``, to stop the containers it started.
    """

    def __init__(self, processes: list[Process] | None = None, *, session: str | None = None):
        #: Identifies this registry's containers (label ``containerdag.session``).
        self.session = session or uuid.uuid4().hex[:12]
        self.sources: list[Source] = []
        self._processes: dict[str, Process] = {}
        self._manual: dict[str, Process] = {}
        self.closed = False
        self._created = next(_creation_order)
        for p in processes or []:
            self.add(p)
        _open_registries.add(self)

    @classmethod
    def from_docker(cls, images: list[str] | None = None, *,
                    settings: Any = None, client: Any = None,
                    describe_timeout: float = 30.0, max_output: int = 8 * 2**20) -> Registry:
        """Discover the processes of labelled images on the local engine.

        ``images`` limits discovery to these tags. ``settings`` (a
        ``containerdag_widgets.docker.settings.ContainerSettings``) are how the warm containers
        start; by default hardened: no network, read-only root with a tmpfs ``/tmp``, every
        capability dropped, no new privileges, pids, memory and CPU limits. An image's
        ``containerdag.*`` labels may change them for that image; each process shows its
        image's as ``settings``. ``client`` is a ``docker.DockerClient`` (default: the
        environment's engine); ``describe_timeout`` bounds each describe call (seconds);
        ``max_output`` bounds what a process may print on stdout (bytes).
        """
        from ..docker import DockerSource  # the one entry from the core into the backend

        registry = cls()
        try:
            registry.add_source(DockerSource(
                images=images, session=registry.session, client=client,
                describe_timeout=describe_timeout, max_output=max_output, settings=settings))
        except BaseException:
            registry.close()
            raise
        return registry

    @classmethod
    def current(cls) -> Registry | None:
        """The most recently created registry that is still open, if any."""
        alive = [r for r in _open_registries if not r.closed]
        return max(alive, key=lambda r: r._created, default=None)

    # ---- filling --------------------------------------------------------------------------

    def add(self, proc: Process | Callable[..., Any], *, replace: bool = True) -> Process:
        """Add a process (or a ``@process`` function); returns it."""
        if not isinstance(proc, Process):
            raise TypeError(
                f"expected a Process (decorate functions with @process), got {proc!r:.80}"
            )
        if not replace and proc.name in self._processes:
            raise ValueError(f"a process named {proc.name!r} is already registered")
        self._manual[proc.name] = proc
        self._processes[proc.name] = proc
        return proc

    def add_cwl(self, path: Any, *, image: str | None = None,
                name: str | None = None) -> Process:
        """Add a CWL ``CommandLineTool`` (a file) as a process; returns it.

        Its name defaults to the file's stem. ``image`` replaces the tool's
        ``DockerRequirement``; without either it runs in ``processes.cwl.DEFAULT_IMAGE``. Its
        jobs run in warm containers (the Docker backend, imported here: the core loads no
        Docker). ``CwlDescriptionError`` (a ``DescriptionError``) for a tool that does not
        validate (file, line, field), a Workflow, or an unsupported requirement;
        ``ImageNotFound`` when its image is not on the engine.
        """
        from ..docker.cwl import CwlBackend  # the CWL jobs' backend: warm containers
        from .cwl import CwlProcess

        backend = next((s for s in self.sources if isinstance(s, CwlBackend)), None)
        if backend is None:
            docker = next((s for s in self.sources if hasattr(s, "pool")), None)
            backend = CwlBackend(client=getattr(docker, "client", None), session=self.session,
                                 settings=getattr(docker, "settings", None))
            self.sources.append(backend)
        return self.add(CwlProcess.load(path, backend=backend, image=image, name=name))

    def add_source(self, source: Source) -> None:
        self.sources.append(source)
        self._discover(source)

    def refresh(self) -> None:
        """Discover again (new images appear, removed ones go); manual processes stay."""
        self._processes = {}
        for source in self.sources:
            self._discover(source)
        self._processes.update(self._manual)

    def _discover(self, source: Source) -> None:
        for proc in source.discover():
            self._processes.setdefault(proc.name, proc)

    @property
    def problems(self) -> list[ContainerDagError]:
        """Processes that sources found but could not describe."""
        return [p for s in self.sources for p in s.problems]

    # ---- lookup ---------------------------------------------------------------------------

    def get(self, name: str) -> Process:
        proc = self._processes.get(name)
        if proc is None and name.startswith(ALIAS_PREFIX):
            proc = self._processes.get(name[len(ALIAS_PREFIX):])
        if proc is None:
            bare = name.removeprefix(ALIAS_PREFIX)
            failed = [p for p in self.problems if getattr(p, "process", None) == bare]
            made = DEFINED.get(bare)
            hint = (f"a @process named {bare!r} exists but was never added to this registry: "
                    f"registry.add({getattr(made.fn, '__name__', bare)})" if made else None)
            raise ProcessNotFound(name, self._processes,
                                  reason=str(failed[0]) if failed else None, hint=hint)
        return proc

    __getitem__ = get

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.get(name)
        except ProcessNotFound:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._processes)

    def __len__(self) -> int:
        return len(self._processes)

    @property
    def processes(self) -> dict[str, Process]:
        return dict(self._processes)

    def by_source(self) -> dict[str, list[Process]]:
        """Processes grouped by where they come from (an image tag, or ``python``)."""
        groups: dict[str, list[Process]] = {}
        for proc in self._processes.values():
            groups.setdefault(proc.source, []).append(proc)
        return groups

    def describe(self) -> str:
        """A readable listing: each process with its description and example ports."""
        lines = []
        for proc in self._processes.values():
            lines.append(f"{proc.name}  [{proc.source}]")
            if proc.description:
                lines.append(f"    {proc.description}")
            lines.append(f"    inputs  = {proc.inputs}")
            lines.append(f"    outputs = {proc.outputs}")
        return "\n".join(lines)

    # ---- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Stop and remove every container this registry started. Safe to call twice."""
        if self.closed:
            return
        self.closed = True
        errors = []
        for source in self.sources:
            try:
                source.close()
            except Exception as exc:  # noqa: BLE001 - close every source, then report
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Registry {len(self)} processes, session {self.session}, {state}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        from ..model.display import mimebundle

        return mimebundle(self, "registry")

