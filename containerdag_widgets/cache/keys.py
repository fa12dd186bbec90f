"""Cache keys: canonical JSON, a stable hash of Python code, and a node's key from its parts.

A key is a sha256 over separately kept *parts* (a plain JSON-able dict), so that a later run
can say which part changed (see :mod:`.reasons`). Each kind of process gives its own parts
(``Process.key_parts``); all count but the ``LABELS`` (the image tag and the process name),
kept for messages only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypedDict

from ..model.files import key_form, map_files

__all__ = [
    "LABELS",
    "KEY_VERSION",
    "KeyParts",
    "canonical_json",
    "code_hash",
    "node_key",
    "pick_env",
    "process_parts",
    "description_part",
    "with_inputs",
]

#: Bumped when the way keys are computed changes, so old results are never wrongly reused.
KEY_VERSION = 1


class KeyParts(TypedDict, total=False):
    """The parts of a node's key; which ones exist depends on ``kind``."""

    kind: str  # "container" | "python"
    name: str  # the process name (messages only)
    image: str  # the image tag (messages only, never hashed)
    image_id: str  # the image's content ID, "sha256:..."
    argv: list[str]
    description: dict[str, Any]  # {"description", "inputs", "outputs"} of the process
    env: dict[str, str]  # the allow-listed environment variables, sorted
    qualname: str  # "module.function" of a Python process
    code: str  # code_hash() of the function
    python: str  # "3.11": bytecode differs between Python versions
    version: str | None  # the author's version= of a Python process
    inputs: str  # canonical_json() of the resolved inputs


#: The parts kept for messages only (a tag and a name can change without the code changing):
#: every other part goes into the hash.
LABELS: frozenset[str] = frozenset({"name", "image"})


# ---- canonical JSON --------------------------------------------------------------------------


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)
_SCALARS = (str, bool, int, type(None))


def _check(value: Any, path: str) -> None:
    """Raise for what JSON cannot say exactly: NaN/inf, non-string keys, non-JSON types."""
    if isinstance(value, _SCALARS):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path or 'value'} is {value!r}: no canonical JSON for NaN/inf")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
    elif isinstance(value, (dict, Mapping)):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path or 'value'} has a non-string key {key!r}")
            _check(item, f"{path}.{key}" if path else key)
    else:
        raise TypeError(f"{path or 'value'} is a {type(value).__name__}, not JSON")


def _plain(value: Any) -> bool:
    """Fast path: whether ``value`` is made of exact JSON types only, with finite floats."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:  # loops, not all(): this runs for every node of every run
        for key, item in value.items():  # noqa: SIM110
            if type(key) is not str or not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:  # noqa: SIM110
            if not _plain(item):
                return False
        return True
    return False


def canonical_json(value: Any) -> str:
    """One text per JSON value: sorted keys, no whitespace, floats as their exact repr.

    Raises ValueError for NaN or infinity and TypeError for non-JSON values or non-string keys,
    so two different values never share a text (``{1: ..}`` and ``{"1": ..}`` would).
    """
    if not _plain(value):
        _check(value, "")  # raises with the path, or passes subclasses and other mappings
    if isinstance(value, Mapping) and not isinstance(value, dict):
        value = dict(value)
    return _ENCODER.encode(value)


# ---- code hash -------------------------------------------------------------------------------


def _const_token(value: Any) -> str:
    """A text for one constant of a code object that never contains an address or line."""
    if isinstance(value, types.CodeType):
        return "code:" + _code_digest(value)
    if isinstance(value, tuple):
        return "tuple(" + ",".join(_const_token(v) for v in value) + ")"
    if isinstance(value, frozenset):  # iteration order follows string hashing: sort
        return "frozenset(" + ",".join(sorted(_const_token(v) for v in value)) + ")"
    return f"{type(value).__name__}:{value!r}"  # None, bool, int, float, complex, str, bytes


@functools.lru_cache(maxsize=4096)
def _code_digest(code: types.CodeType) -> str:
    """sha256 of what a code object does: bytecode, constants, names; not lines or files."""
    h = hashlib.sha256()
    for text in (
        code.co_code.hex(),
        str((code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount, code.co_flags)),
        ",".join(_const_token(c) for c in code.co_consts),
        ",".join(code.co_names),
        ",".join(code.co_varnames),
        ",".join(code.co_freevars),
        ",".join(code.co_cellvars),
        getattr(code, "co_exceptiontable", b"").hex(),  # Python >= 3.11; offsets, not lines
    ):
        h.update(text.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def _names(code: types.CodeType) -> set[str]:
    """The global and attribute names a code object and its nested code objects use."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _value_token(value: Any, seen: set[int]) -> str:
    """A stable text for a default, closure cell or global the function reads."""
    if isinstance(value, types.FunctionType):
        return "fn:" + _function_digest(value, seen)
    if isinstance(value, types.ModuleType):
        return "module:" + value.__name__
    try:
        return "json:" + canonical_json(value)
    except (TypeError, ValueError):
        if isinstance(value, float):  # NaN/inf
            return f"float:{value!r}"
        return "type:" + type(value).__qualname__  # opaque objects: their type only


def _function_digest(fn: types.FunctionType, seen: set[int]) -> str:
    """The digest of a function: code, defaults, closure, and the same-module globals it reads."""
    if id(fn) in seen:
        return "recursive"
    seen.add(id(fn))
    code = fn.__code__
    consts = code.co_consts
    if isinstance(fn.__doc__, str) and consts and consts[0] == fn.__doc__:
        # The docstring is documentation, like a comment: it does not change what runs.
        code = code.replace(co_consts=(None, *consts[1:]))
    parts = ["code:" + _code_digest(code)]
    parts.append("defaults:" + ",".join(_value_token(v, seen) for v in fn.__defaults__ or ()))
    kwdefaults = sorted((fn.__kwdefaults__ or {}).items())
    parts.append("kwdefaults:" + ",".join(f"{k}={_value_token(v, seen)}" for k, v in kwdefaults))
    cells = []
    for name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=False):
        try:
            cells.append(f"{name}={_value_token(cell.cell_contents, seen)}")
        except ValueError:  # an empty cell
            cells.append(f"{name}=<empty>")
    parts.append("closure:" + ",".join(cells))
    module_globals = fn.__globals__
    read = []
    for name in sorted(_names(code)):
        if name not in module_globals or name.startswith("__"):
            continue
        value = module_globals[name]
        if isinstance(value, types.FunctionType) and value.__globals__ is not module_globals:
            continue  # imported functions: their module's version is not ours to track
        if isinstance(value, type):
            continue  # classes: their methods are not hashed (use version=)
        read.append(f"{name}={_value_token(value, seen)}")
    parts.append("globals:" + ",".join(read))
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def code_hash(fn: Callable[..., Any]) -> str:
    """A sha256 hex of what ``fn`` does, which comments, formatting and line moves leave alone.

    It covers the bytecode, constants (nested code objects hashed the same way), names, local
    names, defaults, closure values, and the plain values and functions of its own module that
    it reads by name. Not covered (use ``version=``): classes, imported code, mutable state.
    """
    fn = getattr(fn, "__wrapped__", fn)
    if isinstance(fn, types.MethodType):
        return code_hash(fn.__func__)
    if isinstance(fn, functools.partial):  # the function and the arguments bound to it
        bound = [_value_token(v, set()) for v in fn.args]
        bound += [f"{k}={_value_token(v, set())}" for k, v in sorted(fn.keywords.items())]
        text = code_hash(fn.func) + "\n" + ",".join(bound)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    if not isinstance(fn, types.FunctionType):
        call = vars(type(fn)).get("__call__")  # a callable object: hash its __call__
        if isinstance(call, types.FunctionType):
            return code_hash(call)
        raise TypeError(f"cannot hash the code of {fn!r}: not a Python function")
    return _function_digest(fn, set())


# ---- parts and key ---------------------------------------------------------------------------


def pick_env(names: Iterable[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allow-listed environment variables that are set, as a sorted dict."""
    environ = os.environ if environ is None else environ
    return {name: environ[name] for name in sorted(set(names)) if name in environ}


def _example(file: Any) -> dict[str, str]:
    return {"$file": file.name}


def process_parts(
    proc: Any,
    inputs: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    deterministic: bool | None = None,
) -> KeyParts | None:
    """The key parts of a call of ``proc``: what the process says of its own code
    (``Process.key_parts()``, each kind its own) plus the allow-listed ``env``; None when it
    must never be cached (``cacheable=False``, unless ``deterministic=True`` asks for the
    parts anyway, as the history does) or cannot be keyed. ``inputs`` (resolved values) are
    added with :func:`with_inputs`; NaN/inf raise ValueError.
    """
    if not (proc.cacheable if deterministic is None else deterministic):
        return None
    own = proc.key_parts()
    if own is None:
        return None
    parts: KeyParts = {**own, "env": dict(sorted((env or {}).items()))}
    canonical_json(parts.get("description"))  # fail early on an example JSON cannot hold
    return with_inputs(parts, inputs) if inputs is not None else parts


def description_part(proc: Any, *, text: bool = True) -> dict[str, Any]:
    """A process's description as a key part: its ports' examples (a ``File`` example counts by
    its name: it is a type, not a value) and, with ``text``, its description."""
    part = {
        "inputs": map_files(dict(proc.inputs), _example, json_form=False),
        "outputs": map_files(dict(proc.outputs), _example, json_form=False),
    }
    return {"description": proc.description or "", **part} if text else part


def with_inputs(parts: KeyParts, inputs: Mapping[str, Any]) -> KeyParts:
    """A copy of ``parts`` with the resolved inputs as canonical JSON (NaN/inf: ValueError);
    a ``File`` counts by its contents' hash, never its path or time."""
    return {**parts, "inputs": canonical_json(key_form(dict(inputs)))}


def node_key(parts: Mapping[str, Any]) -> str:
    """The sha256 hex of every part but the ``LABELS`` (and ``KEY_VERSION``)."""
    if not isinstance(parts.get("kind"), str):
        raise ValueError(f"key parts without a kind: {sorted(parts)!r}")
    if "inputs" not in parts:
        raise ValueError("key parts without inputs: add them with with_inputs()")
    hashed = {name: value for name, value in parts.items() if name not in LABELS}
    hashed["key_version"] = KEY_VERSION
    return hashlib.sha256(canonical_json(hashed).encode("ascii")).hexdigest()
