"""IPython magics: ``%%node``, ``%dag`` and ``%registry`` (``%load_ext containerdag_widgets``)."""

from .core import (
    ContainerDagMagics,
    current_magics,
    load_ipython_extension,
    unload_ipython_extension,
)

__all__ = ["ContainerDagMagics", "current_magics", "load_ipython_extension",
           "unload_ipython_extension"]
