"""Random-value processes from the seed notebook: a random float and a random choice.

Both are non-deterministic, so they are marked ``cache=False``: never reused from a cache.
"""

from __future__ import annotations

import random
from typing import Any

from .processes.python import process

__all__ = ["random_float", "random_choice"]


@process(outputs={"n": 0.5}, name="random float", cache=False)
def random_float(min: float = 0.0, max: float = 1.0) -> dict[str, float]:
    """A uniformly distributed random float."""
    return {"n": random.uniform(min, max)}


@process(outputs={"choice": 1.0}, name="random choice", cache=False)
def random_choice(choices: list = [1, 2, 3, 4]) -> dict[str, Any]:  # noqa: B006 - example
    """A random choice from a list."""
    if not choices:
        raise ValueError("choices is empty")
    return {"choice": random.choice(choices)}
