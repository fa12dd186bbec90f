"""The command line, ``containerdag``: run, plan and inspect graphs (``main.py``), the run
history and the cache (``history.py``), export (``export.py``)."""

from .main import main

__all__ = ["main"]
