"""Docker backend: discovery from image labels, warm containers, calls through each
container's resident runner (or one exec each), with stdin and live stderr."""

from .cleanup import Leftover, cleanup, leftovers
from .pool import LABEL_MANAGED, LABEL_SESSION, ContainerPool, connect
from .process import ContainerProcess
from .runner import RunnerUnavailable, Serve
from .settings import ContainerSettings
from .source import DockerSource, cache_dir

__all__ = [
    "DockerSource",
    "ContainerProcess",
    "ContainerPool",
    "ContainerSettings",
    "RunnerUnavailable",
    "Serve",
    "Leftover",
    "cleanup",
    "leftovers",
    "connect",
    "cache_dir",
    "LABEL_MANAGED",
    "LABEL_SESSION",
]
