"""Reproduce one recorded call outside the scheduler: ``docker run --rm -i`` of the same image
ID and argv with the same stdin, under the default hardened settings.

For a bug report, ``docker_run_line`` gives the equivalent command line, argv quoted, with
the input in a file.
"""

from __future__ import annotations

import contextlib
import shlex
import socket
import struct
from dataclasses import dataclass

import docker
import docker.errors

from ..errors import ImageNotFound
from .settings import ContainerSettings

__all__ = ["Reproduction", "reproduce", "docker_run_line"]

_HEADER = struct.Struct(">BxxxL")


@dataclass(frozen=True)
class Reproduction:
    """What the call gave this time."""

    exit_code: int
    stdout: bytes
    stderr: bytes


def reproduce(client: docker.DockerClient, image_id: str, argv: list[str], stdin: bytes,
              *, settings: ContainerSettings | None = None,
              timeout: float = 300.0) -> Reproduction:
    """Run ``argv`` once in a fresh container of ``image_id`` with ``stdin``; then remove it."""
    options = (settings or ContainerSettings()).create_kwargs()
    user = options.pop("user", None)
    api = client.api
    try:
        config = api.create_container_config(
            image_id, argv, entrypoint=[], stdin_open=True, tty=False, user=user,
            labels={"containerdag.reproduce": "1"},
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

