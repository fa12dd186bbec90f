"""Where the cache lives: one directory, chosen by environment, shared by kernels and the CLI."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["DATABASE_NAME", "cache_root", "database_path", "remove_database"]

#: The file name of the SQLite database inside :func:`cache_root`.
DATABASE_NAME = "containerdag.sqlite"


def cache_root() -> Path:
    """``$CONTAINERDAG_CACHE_DIR``, else ``$XDG_CACHE_HOME`` (or ``~/.cache``)/containerdag_widgets.

    Read on every call, so a test or a notebook can point it elsewhere with the environment.
    """
    env = os.environ.get("CONTAINERDAG_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "containerdag_widgets"


def database_path() -> Path:
    """The default result cache and run history database: ``cache_root() / DATABASE_NAME``."""
    return cache_root() / DATABASE_NAME


def remove_database(path: str | os.PathLike[str] | None = None) -> list[Path]:
    """Delete a database file and its WAL/SHM side files (to start afresh after corruption)."""
    base = Path(path) if path is not None else database_path()
    removed = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = base.with_name(base.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
            removed.append(candidate)
    return removed
