"""Docker backend: discovery from image labels, warm containers, exec with stdin."""

from .cleanup import Leftover, cleanup, leftovers
from .pool import LABEL_MANAGED, LABEL_SESSION, ContainerPool
from .process import ContainerProcess
from .settings import ContainerSettings
from .source import DockerSource, cache_dir, connect

__all__ = [
    "DockerSource",
    "ContainerProcess",
    "ContainerPool",
    "ContainerSettings",
    "Leftover",
    "cleanup",
    "leftovers",
    "connect",
    "cache_dir",
    "LABEL_MANAGED",
    "LABEL_SESSION",
]
