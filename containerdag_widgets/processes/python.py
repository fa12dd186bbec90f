"""In-process processes: ``@process`` turns a Python function into a ``PythonProcess`` whose
ports come from its signature (or are given), run in this interpreter.
"""

from __future__ import annotations

import inspect
import sys
import threading
import traceback
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from ..cache.keys import code_hash, description_part
from ..model.errors import Cancelled, ProcessError, ProcessFailed, ProcessTimeout
from ..model.files import File
from .base import Execution, LogSink, Process, ProgressSink

__all__ = ["PythonProcess", "process", "DEFINED"]


_EXAMPLE_FOR_ANNOTATION = {float: 0.0, int: 0, str: "", bool: False, list: [], dict: {}}


#: Every ``PythonProcess`` made in this interpreter, by name (weakly): to hint at one that was
#: never added to a registry.
DEFINED: weakref.WeakValueDictionary[str, PythonProcess] = weakref.WeakValueDictionary()


class PythonProcess(Process):
    """A process run in this Python interpreter: ``fn(**inputs)`` returns the outputs dict."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        outputs: Mapping[str, Any],
        name: str | None = None,
        description: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        cache: bool = True,
        version: str | None = None,
    ):
        if description is None:
            description = (inspect.getdoc(fn) or "").strip()
        super().__init__(
            name=name or fn.__name__,
            description=description,
            inputs=dict(inputs) if inputs is not None else _ports_from_signature(fn),
            outputs=dict(outputs),
            source="python",
            cacheable=cache,
            version=None if version is None else str(version),
            in_process=True,
        )
        self.fn = fn
        DEFINED[self.name] = self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def key_parts(self) -> dict[str, Any]:
        """Its function by qualified name and code hash (comments, formatting and docstrings
        do not count; globals it reads do), the Python version and ``version=``."""
        target = getattr(self.fn, "__wrapped__", self.fn)
        module = getattr(target, "__module__", None) or ""
        qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
        return {
            "kind": "python", "name": self.name,
            "qualname": f"{module}.{qualname}".lstrip("."), "code": code_hash(self.fn),
            "python": "{}.{}".format(*sys.version_info[:2]), "version": self.version,
            # The docstring is the description of a Python process: only the ports count.
            "description": description_part(self, text=False),
        }

    def details(self) -> dict[str, str]:
        target = getattr(self.fn, "__wrapped__", self.fn)
        return {"function": f"{getattr(target, '__module__', '?')}."
                            f"{getattr(target, '__qualname__', self.name)}"}

    def _call(self, inputs: dict[str, Any], *, timeout: float | None,
              cancel: threading.Event | None, on_log: LogSink | None,
              on_progress: ProgressSink | None = None) -> Execution:
        if timeout is None:
            # No thread of its own: a cancelled run abandons the call (see runner._abandon).
            return Execution(self._wrap(self._invoke(inputs)))
        # A Python thread cannot be killed: on timeout or cancel the call is abandoned.
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["value"] = self._invoke(inputs)
            except BaseException as exc:  # noqa: BLE001 - carried to the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=target, name=f"process {self.name}", daemon=True)
        thread.start()
        waited = 0.0
        step = 0.05
        while thread.is_alive():
            thread.join(step)
            waited += step
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled while running", process=self.name)
            if timeout is not None and waited >= timeout and thread.is_alive():
                raise ProcessTimeout(
                    f"timed out after {timeout:g} s", process=self.name, timeout=timeout
                )
        if "error" in box:
            raise box["error"]
        return Execution(self._wrap(box["value"]))

    def _invoke(self, inputs: dict[str, Any]) -> Any:
        try:
            return self.fn(**inputs)
        except ProcessError:
            raise
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            raise ProcessFailed(
                f"{type(exc).__name__}: {exc} (at {frame.filename}:{frame.lineno}, "
                f"in {frame.name})",
                process=self.name, log=traceback.format_exc(),
            ) from exc

    def _wrap(self, value: Any) -> Any:
        if not isinstance(value, Mapping) and len(self.outputs) == 1:
            return {next(iter(self.outputs)): value}
        return dict(value) if isinstance(value, Mapping) else value


def _ports_from_signature(fn: Callable[..., Any]) -> dict[str, Any]:
    ports: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is not param.empty:
            ports[param.name] = param.default
            continue
        annotation = param.annotation
        if isinstance(annotation, str):
            annotation = {"float": float, "int": int, "str": str, "bool": bool,
                          "File": File}.get(annotation)
        if annotation is File:  # a file port without an extension hint
            ports[param.name] = {"$file": "file"}
            continue
        if annotation not in _EXAMPLE_FOR_ANNOTATION:
            raise TypeError(
                f"{fn.__name__}: parameter {param.name!r} needs a default value or a "
                "float/int/str/bool/list/dict/File annotation to give its port an example"
            )
        ports[param.name] = _EXAMPLE_FOR_ANNOTATION[annotation]
    return ports


def process(
    fn: Callable[..., Any] | None = None,
    *,
    outputs: Mapping[str, Any],
    name: str | None = None,
    description: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    cache: bool = True,
    version: str | None = None,
) -> Any:
    """Decorator making a function an in-process ``PythonProcess``.

    Inputs come from the signature (defaults are the examples); ``outputs`` maps each output
    port to an example value. ``cache=False`` marks a non-deterministic process (never reused
    from the cache); ``version`` invalidates cached results when bumped.
    ``@process(outputs={"n": 0.5}, name="random float", cache=False)``.
    """

    def wrap(f: Callable[..., Any]) -> PythonProcess:
        return PythonProcess(f, outputs=outputs, name=name, description=description,
                             inputs=inputs, cache=cache, version=version)

    return wrap(fn) if fn is not None else wrap
