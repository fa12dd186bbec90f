"""Find and remove containers left by registries, including those of crashed sessions."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import docker
import docker.errors

from .pool import LABEL_HOST, LABEL_MANAGED, LABEL_PID, LABEL_SESSION

__all__ = ["Leftover", "leftovers", "cleanup"]


@dataclass(frozen=True)
class Leftover:
    id: str
    name: str
    session: str
    pid: int | None
    #: Whether the Python process that started it still runs on this machine.
    owner_alive: bool


def _alive(pid: int | None, host: str | None) -> bool:
    if pid is None or host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def leftovers(client: docker.DockerClient, session: str | None = None) -> list[Leftover]:
    """Every container carrying the toolkit's label (of one ``session`` if given)."""
    label = f"{LABEL_SESSION}={session}" if session else LABEL_MANAGED
    found = []
    # The raw listing carries labels: no per-container inspect that could race a removal.
    for c in client.api.containers(all=True, filters={"label": label}):
        labels = c.get("Labels") or {}
        pid = int(labels[LABEL_PID]) if labels.get(LABEL_PID, "").isdigit() else None
        name = (c.get("Names") or ["/?"])[0].lstrip("/")
        found.append(Leftover(c["Id"], name, labels.get(LABEL_SESSION, ""), pid,
                              _alive(pid, labels.get(LABEL_HOST))))
    return found


def cleanup(client: docker.DockerClient, *, include_live: bool = False,
            session: str | None = None) -> list[Leftover]:
    """Remove labelled containers whose owner process is gone (all with ``include_live``)."""
    removed = []
    for item in leftovers(client, session):
        if item.owner_alive and not include_live and session is None:
            continue
        try:
            client.api.remove_container(item.id, force=True)
        except docker.errors.NotFound:
            continue
        removed.append(item)
    return removed
