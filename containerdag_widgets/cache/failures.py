"""The cache's warnings and errors, and a reason in words for a failed database operation."""

from __future__ import annotations

import os

from ..model.errors import ContainerDagError

__all__ = ["CacheError", "CacheUnavailable", "CacheWarning", "RunNotFound", "UnstorableValue",
           "describe_failure"]


class CacheWarning(UserWarning):
    """Base class of the cache's warnings: the run goes on, something was not cached."""


class CacheUnavailable(CacheWarning):
    """The cache database cannot be used; it is off for the rest of this store's life."""

    def __init__(self, path: str | os.PathLike[str], reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"result cache off: {self.path}: {reason}; running without it")


class CacheError(ContainerDagError):
    """A database operation failed; ``reason`` says why in words, ``path`` names the file."""

    def __init__(self, path: str | os.PathLike[str], reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cache database {self.path}: {reason}")


class RunNotFound(CacheError, KeyError):
    """A run id that the history does not hold."""

    def __init__(self, path: str | os.PathLike[str], run_id: int):
        self.run_id = run_id
        super().__init__(path, f"no run {run_id} in the history")

    def __str__(self) -> str:
        return self.args[0]


class UnstorableValue(ContainerDagError, ValueError):
    """Outputs that JSON cannot hold exactly, so they are not cached (the run is unaffected)."""


def describe_failure(exc: BaseException, busy_timeout: float) -> str:
    """A short reason in words for a database failure, keeping SQLite's own text."""
    text = str(exc)
    low = text.lower()
    if "not a database" in low or "malformed" in low:
        return f"the file is corrupt ({text})"
    if "locked" in low or "busy" in low:
        return f"locked by another connection for more than {busy_timeout:g} s ({text})"
    if "readonly" in low or "read-only" in low:
        return f"the file is read-only ({text})"
    if "unable to open" in low:
        return f"cannot create or open the file ({text})"
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return f"cannot create the cache directory: a file is in the way ({exc.strerror}: " \
               f"{exc.filename})"
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"cannot create the cache directory ({exc.strerror}{where})"
    return text or type(exc).__name__
