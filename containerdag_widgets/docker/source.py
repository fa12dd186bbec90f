"""Discovery: processes declared by image labels ``process.<name>=<command>``.

A label ``process.<name>.serve=<command>`` beside it declares a keep-loaded server that
answers the process's calls (one JSON request per line, see the README's protocol section).

Each command is described once per image ID (run with empty stdin in the image's warm
container, so under the same container settings as its calls) and the description is cached
on disk, so unchanged images cost no container.
"""

from __future__ import annotations

import json
import os
import shlex
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import docker.errors

from ..cache.paths import cache_root
from ..model.errors import (
    ContainerDagError,
    DescriptionError,
    EngineUnavailable,
    ImageNotFound,
    excerpt,
)
from .exec import ExecOutcome
from .pool import ContainerPool, connect, engine_errors
from .process import ContainerProcess, parse_json_object
from .runner import Serve
from .settings import ContainerSettings, LabelError

__all__ = ["DockerSource", "LABEL_PREFIX", "cache_dir", "connect"]

LABEL_PREFIX = "process."
#: ``process.<name>.serve=<command>``: the keep-loaded server of process <name>.
SERVE_SUFFIX = ".serve"
_CACHE_VERSION = 1
_DEFAULT_MAX_OUTPUT = 8 * 2**20


def cache_dir() -> Path:
    """Where descriptions are cached: ``descriptions/`` in the cache root (see cache.paths)."""
    return cache_root() / "descriptions"


class DockerSource:
    """Processes of the labelled images on one engine, run in warm containers.

    ``settings`` are the containers' defaults (``ContainerSettings()``: hardened); each image's
    ``containerdag.*`` labels may change them for that image. Every process found carries the
    settings of its image's container as ``settings``.
    """

    name = "docker"

    def __init__(self, images: list[str] | None = None, *, session: str,
                 client: docker.DockerClient | None = None, describe_timeout: float = 30.0,
                 max_output: int = _DEFAULT_MAX_OUTPUT,
                 settings: ContainerSettings | None = None):
        if settings is not None and not isinstance(settings, ContainerSettings):
            raise TypeError(f"settings must be a ContainerSettings, got {settings!r:.80}")
        self.client = client or connect()
        self.images = images
        self.describe_timeout = describe_timeout
        self.max_output = max_output
        self.pool = ContainerPool(self.client, session, settings=settings)
        #: The containers' defaults, before the images' labels.
        self.settings = self.pool.settings
        self._problems: list[ContainerDagError] = []
        #: Describe calls made by the last ``discover`` (0 when every description was cached).
        self.describe_calls = 0
        self._lock = threading.Lock()
        # Closes the pool on close(), on garbage collection, and at interpreter exit (kernel
        # shutdown): weakref.finalize runs its callback at exit without keeping self alive.
        self._finalizer = weakref.finalize(self, ContainerPool.close, self.pool)

    @property
    def problems(self) -> list[ContainerDagError]:
        """What discovery found wrong, and where the resident runner cannot be used."""
        return [*self._problems, *self.pool.runners.problems]

    def discover(self) -> list[ContainerProcess]:
        self._problems = []
        self.describe_calls = 0
        images = self._labelled_images()
        with ThreadPoolExecutor(4) as pool:
            found = list(pool.map(self._processes_of, images))
        processes: dict[str, ContainerProcess] = {}
        for procs in found:
            for proc in procs:
                if proc.name in processes:
                    self._problems.append(DescriptionError(
                        f"also declared by image {processes[proc.name].image!r}; using that one",
                        process=proc.name, image=proc.image))
                    continue
                processes[proc.name] = proc
        return list(processes.values())

    def _labelled_images(self) -> list[tuple[str, Any]]:
        try:
            if self.images is not None:
                chosen = []
                for tag in self.images:
                    try:
                        chosen.append((_full_tag(tag), self.client.images.get(tag)))
                    except docker.errors.ImageNotFound:
                        raise ImageNotFound(f"no image {tag!r} on the engine", process=None,
                                            image=tag) from None
            else:
                chosen = [(img.tags[0] if img.tags else img.short_id, img)
                          for img in self.client.images.list(filters={"dangling": False})]
        except engine_errors as exc:
            raise EngineUnavailable(f"cannot list images: {exc}") from None
        return [(tag, img) for tag, img in sorted(chosen, key=lambda t: t[0])
                if any(k.startswith(LABEL_PREFIX) for k in (img.labels or {}))]

    def _processes_of(self, item: tuple[str, Any]) -> list[ContainerProcess]:
        tag, image = item
        declared = {key[len(LABEL_PREFIX):]: value for key, value in sorted(image.labels.items())
                    if key.startswith(LABEL_PREFIX)}
        commands = {name: value for name, value in declared.items()
                    if not name.endswith(SERVE_SUFFIX)}
        serves = self._serves(tag, declared, commands)
        try:
            settings = self.pool.settings_for(image.id, image.labels, tag=tag)
        except LabelError as exc:  # the image is not run at all: report it for each process
            self._problems.extend(exc.for_process(name) for name in commands)
            return []
        cached = _read_cache(image.id)
        processes = []
        for name, command in commands.items():
            try:
                argv = shlex.split(command)
            except ValueError as exc:
                self._problems.append(DescriptionError(
                    f"label command {command!r} cannot be split: {exc}", process=name, image=tag))
                continue
            if not argv:
                self._problems.append(DescriptionError("label command is empty", process=name,
                                                      image=tag))
                continue
            entry = cached.get(name)
            if entry is None or entry.get("command") != argv or (
                    "error" in entry and entry.get("settings") != settings.key()):
                # (a description that failed under other settings may work under these)
                entry = self._describe(name, tag, image.id, argv, settings)
                if entry is None:
                    continue
                cached[name] = entry
                _write_cache(image.id, cached)
            if "error" in entry:
                self._problems.append(DescriptionError(entry["error"], process=name, image=tag,
                                                      output=entry.get("output", "")))
                continue
            desc = entry["description"]
            proc = ContainerProcess(
                name=name, description=desc["description"], inputs=desc["inputs"],
                outputs=desc["outputs"], image=tag, image_id=image.id, command=argv,
                pool=self.pool, max_output=self.max_output, serve=serves.get(name),
            )
            # how the image's container is started: the defaults with its labels applied
            proc.settings = settings
            # "cache": false in a description: a non-deterministic process, never reused
            proc.cacheable = desc.get("cache", True)
            processes.append(proc)
        return processes

    def _serves(self, tag: str, declared: dict[str, str],
                commands: dict[str, str]) -> dict[str, Serve]:
        """The keep-loaded servers of ``tag``'s processes (bad labels are reported and left
        out: the process then runs its one-shot command)."""
        serves = {}
        for key, command in declared.items():
            if not key.endswith(SERVE_SUFFIX):
                continue
            name = key[:-len(SERVE_SUFFIX)]
            label = f"{LABEL_PREFIX}{key}"
            if name not in commands:
                self._problems.append(DescriptionError(
                    f"label {label} declares a keep-loaded server for {name!r}, but the image "
                    f"has no label {LABEL_PREFIX}{name}", process=name, image=tag))
                continue
            try:
                argv = shlex.split(command)
            except ValueError as exc:
                argv, why = [], f"cannot be split: {exc}"
            else:
                why = "is empty"
            if not argv:
                self._problems.append(DescriptionError(
                    f"label {label} ({command!r}) {why}; the process runs its one-shot command",
                    process=name, image=tag))
                continue
            serves[name] = Serve(tuple(argv), name)
        return serves

    def _describe(self, name: str, tag: str, image_id: str, argv: list[str],
                  settings: ContainerSettings) -> dict | None:
        """Run the command with empty stdin; a cache entry, or None for a passing failure."""
        with self._lock:
            self.describe_calls += 1
        try:
            outcome: ExecOutcome = self.pool.exec(image_id, tag, argv, b"", process=name,
                                                  timeout=self.describe_timeout,
                                                  max_output=self.max_output)
        except ContainerDagError as exc:
            self._problems.append(DescriptionError(str(exc), process=name, image=tag))
            return None
        if outcome.killed:
            self._problems.append(DescriptionError(
                f"describe call stopped ({outcome.killed} after {self.describe_timeout:g} s)",
                process=name, image=tag))
            return None
        entry: dict[str, Any] = {"command": argv}
        desc = parse_json_object(outcome.stdout)
        problem = _description_problem(desc, outcome)
        if problem:
            entry["error"] = problem
            entry["output"] = outcome.stdout[:200].decode(errors="replace")
            entry["settings"] = settings.key()
        else:
            entry["description"] = desc
        return entry

    def close(self) -> None:
        self._finalizer()


def _description_problem(desc: dict | None, outcome: ExecOutcome) -> str | None:
    if outcome.exit_code != 0:
        err = outcome.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        note = getattr(outcome, "note", "")  # e.g. that it was OOM-killed, and the limit
        return f"describe exited with code {outcome.exit_code}{note}: {err[0]!r}"
    if desc is None:
        return f"description is not one JSON object: {excerpt(outcome.stdout)}"
    missing = [k for k in ("description", "inputs", "outputs") if k not in desc]
    if missing:
        return f"description misses {', '.join(missing)}: {excerpt(outcome.stdout)}"
    if not isinstance(desc["inputs"], dict) or not isinstance(desc["outputs"], dict):
        return "description's 'inputs' and 'outputs' must be JSON objects"
    if not isinstance(desc["description"], str):
        return "description's 'description' must be a string"
    if not isinstance(desc.get("cache", True), bool):
        return f"description's 'cache' must be true or false, got {desc['cache']!r}"
    return None


def _full_tag(tag: str) -> str:
    """``name`` -> ``name:latest``, as the engine lists it (IDs and digests unchanged)."""
    if tag.startswith("sha256:") or "@" in tag or ":" in tag.rsplit("/", 1)[-1]:
        return tag
    return f"{tag}:latest"


def _cache_file(image_id: str) -> Path:
    return cache_dir() / f"{image_id.replace(':', '_')}.json"


def _read_cache(image_id: str) -> dict[str, Any]:
    try:
        data = json.loads(_cache_file(image_id).read_text())
    except (OSError, ValueError):
        return {}
    if data.get("version") != _CACHE_VERSION:
        return {}
    return data.get("processes", {})


def _write_cache(image_id: str, processes: dict[str, Any]) -> None:
    path = _cache_file(image_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"version": _CACHE_VERSION, "processes": processes}))
        tmp.replace(path)
    except OSError:
        pass  # a cache that cannot be written only costs a describe call next time
