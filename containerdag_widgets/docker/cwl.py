"""CWL jobs in warm containers: cwltool builds the job, the pool runs it (issue 21).

cwltool is used as a library, as Toil and Arvados use it: ``load_tool`` makes the tool with
our ``construct_tool_object``, whose ``make_job_runner`` returns ``PoolJob``. cwltool's own
job code builds the command line with the inputs staged under container paths (its
``DockerCommandLineJob`` path mapping: ``$(runtime.outdir)``, ``$(inputs.x.path)`` are paths
in the container), writes the ``InitialWorkDirRequirement`` files, and after the run collects
the outputs with its own glob/outputEval logic. ``PoolJob.run`` replaces ``docker run``:

1. the job's directories (``/containerdag-work/out/cwl/<call>/{out,tmp,stg}``, in the warm
   container's work directory on disk: docker/workarea.py) are made and every staged input
   and generated file is copied in, as one tar archive on the stdin of ``tar -x`` (an argv
   list);
2. the command line runs in the image's warm container (resident runner or exec) with the
   job's environment (``HOME``, ``TMPDIR``, ``EnvVarRequirement``), its working directory the
   output directory and its stdin/stdout/stderr redirected as the tool says, by a fixed
   launcher (``LAUNCH``: ``/bin/sh -c`` with the paths and the argv as positional parameters,
   never interpolated);
3. the output directory comes back as a tar on the stdout of ``tar -c`` into the host output
   directory that cwltool collects from (``tarfile``'s data filter: nothing lands outside it);
4. the call's directory is removed from the container.

On a Dask worker (a ``CwlProcess`` pickled into a task: ``CwlBackend.travel``), the jobs run in
the worker's own backend, ``WorkerCwlBackend``: one per worker process (and base settings),
its pools the worker's (``docker/worker.py``: labelled with the worker's address, closed with
its pools), cwltool's tools loaded there once per document.

The containers are the pool's, hardened as every warm container (no network, read-only root,
unprivileged user); a tool's ``ResourceRequirement`` picks the settings of the pool it runs in
(``CwlBackend.pool_for``): CPUs, memory, and the ``/tmp`` tmpfs for what else it writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import mmap
import os
import shutil
import tarfile
import tempfile
import threading
import uuid
from dataclasses import replace
from typing import Any

from ..model.errors import ImageNotFound, ProcessFailed
from ..processes.cwl import CALLS_ROOT, CallOptions, tool_resources
from .pool import ContainerPool, connect
from .settings import ContainerSettings

__all__ = ["CwlBackend", "WorkerCwlBackend", "WorkerCwlRef", "pool_job_class", "LAUNCH",
           "CALLS_ROOT"]

log = logging.getLogger(__name__)

#: The launcher: ``$1`` the working directory, ``$2``/``$3``/``$4`` stdin, stdout, stderr (empty:
#: not redirected; stdout not captured goes to the log), then the tool's argv. A fixed
#: script: the values are positional parameters, never part of it.
LAUNCH = ('cd "$1" || exit 125; i=$2; o=$3; e=$4; shift 4; '
          'if [ -n "$i" ]; then exec <"$i"; else exec </dev/null; fi; '
          'if [ -n "$o" ]; then exec >"$o"; else exec >&2; fi; '
          'if [ -n "$e" ]; then exec 2>"$e"; fi; '
          'exec "$@"')


class CwlBackend:
    """Runs CWL jobs in warm containers: one ``ContainerPool`` per container settings.

    ``settings``: the base settings (a registry's); a tool's ``ResourceRequirement`` raises
    its CPUs, memory and tmpfs from there. ``session``: the registry's session (the pools'
    containers are labelled ``<session>-cwl-<settings hash>``).
    """

    name = "cwl"

    def __init__(self, *, client: Any = None, session: str, settings: ContainerSettings | None
                 = None, runner: bool | None = None):
        self.client = client or connect()
        self.session = session
        self.settings = settings if settings is not None else ContainerSettings()
        self.runner = runner
        self.problems: list[Any] = []
        self._pools: dict[str, ContainerPool] = {}
        self._tools: dict[Any, Any] = {}
        self._lock = threading.Lock()

    # a Source of the registry (closed with it); it discovers nothing by itself
    def discover(self) -> list[Any]:
        return []

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    # ---- travel (a process pickled to a Dask worker) -------------------------------------

    def travel(self) -> tuple[Any, dict[str, Any]]:
        """What rebuilds a process of this backend where it is unpickled: the function, and
        the options its pools are made with there (the base settings, the runner choice)."""
        return _unpickled, {"settings": self.settings, "runner": self.runner}

    def loaded_tool(self, key: Any, load: Any) -> Any:
        """``load()``'s tool, kept by ``key`` (a worker loads each document once)."""
        with self._lock:
            if key in self._tools:
                return self._tools[key]
        found = load()
        with self._lock:
            return self._tools.setdefault(key, found)

    # ---- images and settings ------------------------------------------------------------

    def image_id(self, tag: str, *, process: str) -> str:
        """The local image ID of ``tag``; ``ImageNotFound`` naming it (nothing is pulled)."""
        import docker.errors

        try:
            return self.client.images.get(tag).id
        except docker.errors.ImageNotFound:
            raise ImageNotFound(
                f"image {tag!r} is not on the engine (nothing is pulled: build or load it, or "
                "give add_cwl(..., image=TAG) an image that has the tool)",
                process=process, image=tag) from None

    def settings_for(self, resources: dict[str, float]) -> ContainerSettings:
        """The base settings with a tool's resources: CPUs (capped to the host's), memory
        (ramMin MiB at least) and the ``/tmp`` tmpfs (outdirMin + tmpdirMin MiB at least)."""
        base = self.settings
        host = float(os.cpu_count() or 1)
        cores = min(max(float(resources.get("cores", 1)), base.cpus or 0.0), host)
        memory = max(int(resources.get("ram", 256) * 2**20), base.mem_limit or 0) or None
        tmp = max(int((resources.get("outdirSize", 1024) + resources.get("tmpdirSize", 1024))
                      * 2**20), int(base.tmp_size))
        return replace(base, cpus=cores if base.cpus is not None else None,
                       mem_limit=memory if base.mem_limit is not None else None, tmp_size=tmp)

    def pool_for(self, settings: ContainerSettings) -> ContainerPool:
        key = hashlib.sha256(settings.key().encode()).hexdigest()[:8]
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = ContainerPool(self.client, f"{self.session}-cwl-{key}",
                                     settings=settings, runner=self.runner)
                self._pools[key] = pool
            return pool

    # ---- cwltool hooks -------------------------------------------------------------------

    def tool_factory(self) -> Any:
        """cwltool's ``construct_tool_object``: CommandLineTools run as ``PoolJob``s."""
        from cwltool.command_line_tool import CommandLineTool
        from cwltool.workflow import default_make_tool

        backend = self

        class PoolCommandLineTool(CommandLineTool):
            def make_job_runner(self, runtimeContext: Any) -> type:
                options: CallOptions = getattr(runtimeContext, "containerdag_call", None) \
                    or CallOptions()
                unsupported = options.refused(self)
                if unsupported:
                    from cwltool.errors import UnsupportedRequirement

                    raise UnsupportedRequirement(unsupported)
                return type("PoolJob", (pool_job_class(),), {"backend": backend})

        def make(toolpath_object: Any, loading_context: Any) -> Any:
            if isinstance(toolpath_object, dict) and \
                    toolpath_object.get("class") == "CommandLineTool":
                return PoolCommandLineTool(toolpath_object, loading_context)
            return default_make_tool(toolpath_object, loading_context)

        return make

    def executor(self) -> Any:
        """cwltool's ``SingleJobExecutor`` (what ``cwltool`` runs a tool with), each job's
        directories set to container paths of its own under ``CALLS_ROOT``."""
        from cwltool.executors import SingleJobExecutor

        class PoolExecutor(SingleJobExecutor):
            def run_jobs(self, process: Any, job_order_object: Any, logger: Any,
                         runtime_context: Any) -> None:
                options = getattr(runtime_context, "containerdag_call", None)
                if options is None:
                    options = runtime_context.containerdag_call = CallOptions()
                call = f"{CALLS_ROOT}/{uuid.uuid4().hex}"
                runtime_context.docker_outdir = f"{call}/out"
                runtime_context.docker_tmpdir = f"{call}/tmp"
                runtime_context.docker_stagedir = f"{call}/stg"
                runtime_context.use_container = True
                runtime_context.default_container = options.image or options.default_image
                runtime_context.find_default_container = \
                    lambda _tool: options.image or options.default_image
                super().run_jobs(process, job_order_object, logger, runtime_context)

        return PoolExecutor()


class WorkerCwlBackend(CwlBackend):
    """The CWL backend of a Dask worker: its pools are the worker's (``WorkerPool``s of its
    ``ContainerPoolPlugin``: labelled with the worker, removed with its pools), its engine
    the worker's (its own environment, ``DOCKER_HOST`` included)."""

    def __init__(self, plugin: Any, options: dict[str, Any]):
        self.plugin = plugin
        self.worker = str(getattr(plugin, "worker_address", "?"))
        self.session = f"dask-cwl-{self.worker}"
        self.settings = options.get("settings") or ContainerSettings()
        self.runner = options.get("runner")
        self.problems = []
        self._pools = {}
        self._lock = threading.Lock()
        self._tools: dict[Any, Any] = {}
        self._client: Any = None

    @property
    def client(self) -> Any:  # connected on first use (in the task, on the worker)
        with self._lock:
            if self._client is None:
                self._client = connect()
            return self._client

    def image_id(self, tag: str, *, process: str) -> str:
        try:
            return super().image_id(tag, process=process)
        except ImageNotFound as exc:
            exc.detail = (f"image {tag!r} is not on the Docker Engine of Dask worker "
                          f"{self.worker}: every worker needs the CWL tools' images")
            raise

    def pool_for(self, settings: ContainerSettings) -> ContainerPool:
        return self.plugin.pool({"settings": settings, "runner": self.runner})

    def close(self) -> None:
        """The worker closes its pools itself; this closes the engine client and forgets the
        tools."""
        with self._lock:
            client, self._client = self._client, None
            self._tools = {}
        if client is not None:
            client.close()


class WorkerCwlRef:
    """Stands for the CWL backend of the Dask worker where an unpickled process is called."""

    def __init__(self, options: dict[str, Any]):
        self.options = options

    def resolve(self) -> WorkerCwlBackend:
        """The worker's backend (from the task's thread: Dask finds the worker by thread)."""
        from .worker import worker_backend

        key = "cwl " + repr(sorted(self.options.items()))
        return worker_backend(key, lambda plugin: WorkerCwlBackend(plugin, self.options))

    def travel(self) -> tuple[Any, dict[str, Any]]:
        return _unpickled, dict(self.options)

    def __repr__(self) -> str:
        return "<WorkerCwlRef: the CWL backend of the Dask worker running the call>"


def _unpickled(cls: type, state: dict[str, Any], options: dict[str, Any]) -> Any:
    """A ``CwlProcess`` unpickled (on a Dask worker): its tool is loaded on first use."""
    proc = object.__new__(cls)
    proc.__dict__.update(state, _tool=None, backend=WorkerCwlRef(options))
    return proc


def _job_base() -> type:
    from cwltool.docker import DockerCommandLineJob

    return DockerCommandLineJob


def _make_pool_job() -> type:
    from cwltool.job import relink_initialworkdir
    from cwltool.utils import bytes2str_in_dicts

    class _PoolJob(_job_base()):  # type: ignore[misc]
        """A cwltool container job run in a warm container of the pool (see the module)."""

        backend: CwlBackend

        @staticmethod
        def append_volume(runtime: list[Any], source: str, target: str,
                          writable: bool = False) -> None:
            runtime.append((source, target))

        def get_from_requirements(self, *args: Any, **kwargs: Any) -> str | None:
            return None

        def _required_env(self) -> dict[str, str]:
            return {"HOME": self.builder.outdir, "TMPDIR": self.builder.tmpdir}

        def run(self, runtimeContext: Any, tmpdir_lock: threading.Lock | None = None) -> None:
            options: CallOptions = getattr(runtimeContext, "containerdag_call", None) \
                or CallOptions()
            os.makedirs(self.tmpdir, exist_ok=True)
            tag = options.image_of(self)
            name = options.process or self.name
            image_id = self.backend.image_id(tag, process=name)
            settings = self.backend.settings_for(tool_resources(self.builder.resources))
            pool = self.backend.pool_for(settings)
            self._setup(runtimeContext)
            call_dir = os.path.dirname(self.builder.outdir)
            if not call_dir.startswith(CALLS_ROOT + "/"):
                raise ProcessFailed(f"the output directory {self.builder.outdir!r} is outside "
                                    f"{CALLS_ROOT} (dockerOutputDirectory is not supported: the "
                                    "warm container's root is read-only)", process=name)
            volumes: list[Any] = []  # (host source, container target)
            self.add_volumes(self.pathmapper, volumes, any_path_okay=True,
                             secret_store=runtimeContext.secret_store,
                             tmpdir_prefix=runtimeContext.tmpdir_prefix)
            if self.generatemapper is not None:
                self.add_volumes(self.generatemapper, volumes, any_path_okay=True,
                                 secret_store=runtimeContext.secret_store,
                                 tmpdir_prefix=runtimeContext.tmpdir_prefix)
            calling = getattr(pool, "calling", None)
            log_parts: list[str] = []
            outputs: dict[str, Any] = {}
            status = "permanentFail"
            with calling(image_id, tag) if calling else contextlib.nullcontext():
                try:
                    self._stage(pool, image_id, tag, name, call_dir, volumes, options)
                    rcode = self._launch(pool, image_id, tag, name, options, log_parts)
                    self._fetch(pool, image_id, tag, name, options)
                    if self.generatemapper is not None:
                        relink_initialworkdir(self.generatemapper, self.outdir,
                                              self.builder.outdir,
                                              inplace_update=self.inplace_update)
                    if rcode in self.successCodes or (
                            rcode == 0 and rcode not in self.temporaryFailCodes
                            and rcode not in self.permanentFailCodes):
                        status = "success"
                    elif rcode in self.temporaryFailCodes:
                        status = "temporaryFail"
                    else:
                        options.fail(f"the command exited with code {rcode}")
                    outputs = bytes2str_in_dicts(self.collect_outputs(self.outdir, rcode))
                except Exception as exc:  # noqa: BLE001 - cwltool's own job does the same
                    from cwltool.errors import WorkflowException

                    if isinstance(exc, WorkflowException):
                        options.fail(str(exc))
                        from cwltool.loghandler import _logger

                        _logger.error("[job %s] Job error:\n%s", self.name, exc)
                    elif options.raise_errors:
                        raise
                    else:
                        options.fail(str(exc))
                    status = "permanentFail"
                    outputs = {}
                finally:
                    options.log = "".join(log_parts)
                    with contextlib.suppress(Exception):
                        pool.exec(image_id, tag, ["rm", "-rf", "--", call_dir], b"",
                                  process=name, timeout=30, max_output=2**16)
            if self.output_callback:
                lock = runtimeContext.workflow_eval_lock
                with lock if lock is not None else contextlib.nullcontext():
                    self.output_callback(outputs, status)
            if runtimeContext.rm_tmpdir:
                shutil.rmtree(self.tmpdir, True)

        # ---- the three steps ----------------------------------------------------------

        def _check(self, outcome: Any, what: str, name: str, tag: str) -> None:
            if outcome.exit_code != 0 or outcome.killed is not None:
                said = outcome.stderr.decode(errors="replace").strip()[-500:]
                raise ProcessFailed(f"{what} failed in image {tag!r} (exit {outcome.exit_code}"
                                    f"{', ' + outcome.killed if outcome.killed else ''}: "
                                    f"{said or 'nothing on stderr'})", process=name)

        def _stage(self, pool: ContainerPool, image_id: str, tag: str, name: str,
                   call_dir: str, volumes: list[tuple[str, str]], options: CallOptions) -> None:
            """The job's directories and staged files into the container: one tar."""
            with tempfile.TemporaryFile(dir=self.tmpdir) as handle:
                with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar:
                    def add(source: str, target: str) -> None:
                        rel = os.path.relpath(target, call_dir)
                        if rel.startswith(".."):
                            raise ProcessFailed(f"cannot stage {target!r}: outside the job's "
                                                f"directory {call_dir}", process=name)
                        tar.add(source, arcname=rel, recursive=True,
                                filter=_readable)
                    for part in ("out", "tmp"):
                        info = tarfile.TarInfo(part)
                        info.type, info.mode = tarfile.DIRTYPE, 0o777
                        tar.addfile(info)
                    for entry in sorted(os.listdir(self.outdir)):
                        add(os.path.join(self.outdir, entry),
                            os.path.join(self.builder.outdir, entry))
                    for source, target in volumes:
                        if os.path.exists(source):
                            add(os.path.realpath(source), target)
                size = handle.tell()
                handle.seek(0)
                mk = pool.exec(image_id, tag, ["mkdir", "-p", "--", call_dir], b"",
                               process=name, timeout=options.timeout, cancel=options.cancel,
                               max_output=2**16)
                self._check(mk, "making the job's directory", name, tag)
                with mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ) as mapped:
                    view = memoryview(mapped)
                    try:
                        put = pool.exec(image_id, tag, ["tar", "-x", "-f", "-", "-C", call_dir],
                                        view, process=name, timeout=options.timeout,
                                        cancel=options.cancel, max_output=2**16, direct=True)
                    finally:
                        view.release()
                self._check(put, "copying the job's inputs in", name, tag)

        def _launch(self, pool: ContainerPool, image_id: str, tag: str, name: str,
                    options: CallOptions, log_parts: list[str]) -> int:
            outdir = self.builder.outdir
            stdin = self.stdin or ""
            stdout = os.path.join(outdir, self.stdout) if self.stdout else ""
            stderr = os.path.join(outdir, self.stderr) if self.stderr else ""
            argv = ["/bin/sh", "-c", LAUNCH, "containerdag-cwl", outdir, stdin, stdout, stderr,
                    *[str(a) for a in self.command_line]]
            if not self.command_line:
                from cwltool.errors import WorkflowException

                raise WorkflowException(
                    "Cannot run a CommandLineTool that produces an empty command line.")

            def on_log(text: str) -> None:
                log_parts.append(text)
                if options.on_log is not None:
                    options.on_log(text)

            timeout = options.timeout
            if self.timelimit:
                timeout = min(timeout, self.timelimit) if timeout else self.timelimit
            outcome = pool.exec(image_id, tag, argv, b"", process=name, timeout=timeout,
                                cancel=options.cancel, max_output=2**20, on_log=on_log,
                                environment={k: str(v) for k, v in self.environment.items()})
            if outcome.killed == "timeout":
                from cwltool.errors import WorkflowException

                raise WorkflowException(f"timed out after {timeout:g} s; the call was killed")
            if outcome.killed == "cancelled":
                from ..model.errors import Cancelled

                raise Cancelled("cancelled; the call was killed", process=name)
            if outcome.killed is not None:
                raise ProcessFailed(f"the call was killed ({outcome.killed})", process=name)
            if outcome.exit_code is None:
                raise ProcessFailed(f"the call ended without an exit code "
                                    f"{getattr(outcome, 'note', '')}", process=name)
            if outcome.exit_code == 125 and "cd " in "".join(log_parts)[-300:]:
                raise ProcessFailed(f"cannot enter {outdir!r} in image {tag!r}", process=name)
            return int(outcome.exit_code)

        def _fetch(self, pool: ContainerPool, image_id: str, tag: str, name: str,
                   options: CallOptions) -> None:
            """The container's output directory into the host's (``self.outdir``)."""
            from ..model.files import size_limit

            limit = size_limit()
            with tempfile.TemporaryFile(dir=self.tmpdir) as handle:
                got = pool.exec(image_id, tag, ["tar", "-c", "-f", "-", "-C",
                                                self.builder.outdir, "."], b"",
                                process=name, timeout=options.timeout, cancel=options.cancel,
                                max_output=limit, direct=True, on_stdout=handle.write)
                if got.killed == "output":
                    raise ProcessFailed(f"the output directory is over {limit} bytes "
                                        "(CONTAINERDAG_FILE_LIMIT)", process=name)
                self._check(got, "copying the outputs out", name, tag)
                handle.seek(0)
                for entry in os.listdir(self.outdir):  # what the container left is the truth
                    path = os.path.join(self.outdir, entry)
                    if os.path.isdir(path) and not os.path.islink(path):
                        shutil.rmtree(path)
                    else:
                        os.unlink(path)
                with tarfile.open(fileobj=handle, mode="r") as tar:
                    tar.extractall(self.outdir, filter=_kept)

    return _PoolJob


def _readable(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Staged files stay readable (and directories enterable) by the container's user."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode |= 0o755 if info.isdir() else 0o644
    return info


def _kept(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """tarfile's data filter; a member it refuses (a link out of the directory) is left out."""
    try:
        return tarfile.data_filter(member, dest)
    except tarfile.FilterError as exc:
        log.info("containerdag: an output entry is left out: %s", exc)
        return None


_MADE: list[type] = []


def pool_job_class() -> type:
    """``PoolJob``, made on first use (cwltool is imported only when a CWL tool is)."""
    if not _MADE:
        _MADE.append(_make_pool_job())
    return _MADE[0]
