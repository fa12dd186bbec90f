"""The standard registry: the Docker images' processes plus the seed's random-value processes.

What the CLI and the magics use when the user has not made a registry of their own.
"""

from __future__ import annotations

from .processes.registry import Registry
from .random_values import random_choice, random_float

__all__ = ["standard_registry"]


def standard_registry(images: list[str] | None = None) -> Registry:
    """Processes of the labelled images (or only ``images``) plus random float/choice."""
    registry = Registry.from_docker(images=images)
    registry.add(random_float)
    registry.add(random_choice)
    return registry
