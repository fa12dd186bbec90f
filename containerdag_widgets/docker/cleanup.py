"""Find and remove containers left by registries, including those of crashed sessions."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import docker

from .pool import LABEL_HOST, LABEL_MANAGED, LABEL_PID, LABEL_SESSION, remove_container
from .workarea import remove_work_area

__all__ = ["Leftover", "leftovers", "cleanup"]


@dataclass(frozen=True)
class Leftover:
    id: str
    name: str
    session: str
    pid: int | None
    #: Whether the Python process that started it still runs on this machine.
    owner_alive: bool
    #: The machine whose process started it ("" if unlabelled).
    host: str = ""

    @property
    def on_this_host(self) -> bool:
        return self.host == socket.gethostname()


def _alive(pid: int | None, host: str | None) -> bool:
    if pid is None or host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped by its parent) owns nothing any more
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
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
        host = labels.get(LABEL_HOST, "")
        found.append(Leftover(c["Id"], name, labels.get(LABEL_SESSION, ""), pid,
                              _alive(pid, host), host))
    return found


def cleanup(client: docker.DockerClient, *, include_live: bool = False,
            session: str | None = None) -> list[Leftover]:
    """Remove labelled containers whose owner process on this host is gone, and the work
    areas (on this machine) of the sessions they belonged to.

    ``include_live`` removes every labelled container, of any host; ``session`` removes that
    session's containers whoever owns them.
    """
    removed = []
    for item in leftovers(client, session):
        if session is None and not include_live and (item.owner_alive or not item.on_this_host):
            continue
        if remove_container(client, item.id):
            removed.append(item)
    for gone in {item.session for item in removed if item.on_this_host and item.session}:
        if not any(x.session == gone for x in leftovers(client, gone)):
            remove_work_area(gone)
    return removed
