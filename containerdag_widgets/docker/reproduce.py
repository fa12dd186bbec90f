"""Reproduce one recorded call outside the scheduler: ``docker run --rm -i`` of the same image
ID and argv with the same stdin, under the default hardened settings.

For a bug report, ``docker_run_line`` gives the equivalent command line, argv quoted, with
the input in a file.

A history row is data anyone with the database can edit: ``checked_call`` runs nothing that
is not what the image declares (an image named by its exact content ID, the argv its
``process.<name>`` label gives), and the container gets the user the warm container had.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import socket
import struct
import uuid
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors

from ..model.errors import ContainerDagError, ImageNotFound
from .pool import owner_labels
from .settings import ContainerSettings

__all__ = ["Reproduction", "ReproduceRefused", "checked_call", "reproduce", "docker_run_line"]

_HEADER = struct.Struct(">BxxxL")
_IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


class ReproduceRefused(ContainerDagError):
    """A recorded call that ``reproduce`` will not run: ``node``, and the ``field`` of its
    history row (``image_id``, ``argv``, or an input ``port``) that is wrong."""

    def __init__(self, message: str, *, node: str, field: str):
        super().__init__(message)
        self.node = node
        self.field = field


def checked_call(client: docker.DockerClient, *, node: str, process: str | None,
                 image_id: Any, recorded_image: Any, argv: Any,
                 settings: ContainerSettings | None = None) -> ContainerSettings:
    """Check a history row's call against its image; the settings to run it with.

    ``ReproduceRefused`` names the node and what is wrong: an image that is not an exact
    content ID (``sha256:`` and 64 hex digits), not the node's recorded image ID, or not on
    the engine; an argv that is not the command the image's label ``process.<name>`` gives.
    """
    if not isinstance(image_id, str) or not _IMAGE_ID.match(image_id):
        raise ReproduceRefused(f"node {node!r}: the recorded image {image_id!r} is not an image "
                               "ID (sha256: and 64 hex digits); reproduce runs only the exact "
                               "image the node ran", node=node, field="image_id")
    if recorded_image is not None and recorded_image != image_id:
        raise ReproduceRefused(f"node {node!r}: the call's image {image_id[:19]} is not the "
                               f"node's recorded image {str(recorded_image)[:19]}; the history "
                               "row was changed", node=node, field="image_id")
    try:
        found = client.api.inspect_image(image_id)
    except docker.errors.ImageNotFound:
        raise ImageNotFound(f"image {image_id} is no longer on the engine", process=process or "?",
                            image=image_id) from None
    if found.get("Id") != image_id:
        raise ReproduceRefused(f"node {node!r}: {image_id[:19]} names image "
                               f"{str(found.get('Id'))[:19]} on the engine, not itself",
                               node=node, field="image_id")
    config = found.get("Config") or {}
    labels = config.get("Labels") or {}
    label = f"process.{process}"
    declared = labels.get(label) if process else None
    try:
        expected = shlex.split(declared) if declared is not None else None
    except ValueError:
        expected = None
    if expected is None:
        raise ReproduceRefused(f"node {node!r}: image {image_id[:19]} declares no usable label "
                               f"{label} for the recorded process {process!r}", node=node,
                               field="argv")
    if argv != expected:
        raise ReproduceRefused(f"node {node!r}: the recorded argv {argv!r} is not the command "
                               f"image {image_id[:19]} declares for process {process!r} "
                               f"({label}={declared!r}); the history row was changed",
                               node=node, field="argv")
    return (settings or ContainerSettings()).for_image(
        labels, image=image_id[:19], image_user=config.get("User") or "")


@dataclass(frozen=True)
class Reproduction:
    """What the call gave this time."""

    exit_code: int
    stdout: bytes
    stderr: bytes


def reproduce(client: docker.DockerClient, image_id: str, argv: list[str], stdin: bytes,
              *, settings: ContainerSettings | None = None,
              timeout: float = 300.0) -> Reproduction:
    """Run ``argv`` once in a fresh container of ``image_id`` with ``stdin``; then remove it.

    ``settings``: as ``checked_call`` gives them (the image's labels and user applied)."""
    options = (settings or ContainerSettings()).create_kwargs()
    user = options.pop("user", None)
    api = client.api
    try:
        config = api.create_container_config(
            image_id, argv, entrypoint=[], stdin_open=True, tty=False, user=user,
            # A session of its own, owned by this process: if the process dies mid-call,
            # ``containerdag cleanup`` finds the container as any other leftover.
            labels={**owner_labels(f"reproduce-{uuid.uuid4().hex[:12]}"),
                    "containerdag.reproduce": "1"},
            host_config=api.create_host_config(**options))
        config["StdinOnce"] = True  # stdin closes when we close our end: the call's EOF
        container = api.create_container_from_config(config)["Id"]
    except docker.errors.ImageNotFound:
        raise ImageNotFound(f"image {image_id} is no longer on the engine", process=None,
                            image=image_id) from None
    try:
        raw = api.attach_socket(container, params={
            "stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        sock: socket.socket = getattr(raw, "_sock", raw)
        api.start(container)
        sock.sendall(stdin)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        sock.settimeout(timeout)
        out, err = _read_frames(sock)
        raw.close()
        code = api.wait(container, timeout=timeout)["StatusCode"]
    finally:
        with contextlib.suppress(docker.errors.APIError):
            api.remove_container(container, force=True)
    return Reproduction(int(code), out, err)


def _read_frames(sock: socket.socket) -> tuple[bytes, bytes]:
    buf = bytearray()
    while chunk := sock.recv(65536):
        buf += chunk
    out, err = bytearray(), bytearray()
    while len(buf) >= _HEADER.size:
        stream, size = _HEADER.unpack_from(buf)
        payload = bytes(buf[_HEADER.size:_HEADER.size + size])
        del buf[:_HEADER.size + size]
        (err if stream == 2 else out).extend(payload)
    return bytes(out), bytes(err)


def docker_run_line(image_id: str, argv: list[str], input_file: str,
                    settings: ContainerSettings | None = None) -> str:
    """The ``docker run`` command line that makes the same call, reading ``input_file``."""
    options = (settings or ContainerSettings()).create_kwargs()
    flags = ["--rm", "-i", "--entrypoint="]
    flags += [f"--network={options['network_mode']}"] if options.get("network_mode") else []
    if options.get("read_only"):
        flags.append("--read-only")
    for path, spec in (options.get("tmpfs") or {}).items():
        flags.append(f"--tmpfs={path}:{spec}" if spec else f"--tmpfs={path}")
    flags += [f"--cap-drop={cap}" for cap in options.get("cap_drop") or []]
    flags += [f"--security-opt={opt}" for opt in options.get("security_opt") or []]
    if options.get("pids_limit"):
        flags.append(f"--pids-limit={options['pids_limit']}")
    if options.get("mem_limit"):
        flags.append(f"--memory={options['mem_limit']}")
    if options.get("memswap_limit"):
        flags.append(f"--memory-swap={options['memswap_limit']}")
    if options.get("nano_cpus"):
        flags.append(f"--cpus={options['nano_cpus'] / 1e9:g}")
    if options.get("user"):
        flags.append(f"--user={options['user']}")
    return f"{shlex.join(['docker', 'run', *flags, image_id, *argv])} < {shlex.quote(input_file)}"

