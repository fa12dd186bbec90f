"""Reasons: one sentence per node and run saying why it ran or was reused from the cache.

``explain`` compares a node's key parts with those of the last run of the same node name;
the other reasons are constants or small helpers, so every message has one spelling.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Mapping
from typing import Any

from .keys import LABELS

__all__ = [
    "CACHE_DISABLED",
    "FORCED",
    "NO_EARLIER",
    "cached",
    "changes",
    "explain",
    "not_cacheable",
    "short_id",
]

NO_EARLIER = "ran: no earlier result"
FORCED = "ran: forced"
CACHE_DISABLED = "ran: cache disabled"
_LIMIT = 40  # characters of a value or command shown in a reason
_SUCCESS = ("done", "cached")


def not_cacheable(process: str) -> str:
    """``ran: not cacheable (random float)``: the process is marked non-deterministic."""
    return f"ran: not cacheable ({process})"


def short_id(image_id: str | None) -> str:
    """``sha256:`` and the first 12 hex digits of an image ID (``?`` when unknown)."""
    if not image_id:
        return "?"
    digest = image_id.split(":", 1)[1] if ":" in image_id else image_id
    return f"sha256:{digest[:12]}"


def _clip(text: str) -> str:
    """``text``, cut to ``_LIMIT`` characters with ``...`` when longer."""
    return text if len(text) <= _LIMIT else text[: _LIMIT - 3] + "..."


def _json_text(value: Any) -> str:
    """The JSON text of a value for a reason, clipped."""
    return _clip(json.dumps(value, sort_keys=True, separators=(",", ":")))


def _same(a: Any, b: Any) -> bool:
    """Whether two JSON values have the same text (so ``1`` and ``1.0`` differ, as in keys)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _inputs(parts: Mapping[str, Any]) -> dict[str, Any]:
    """The resolved inputs of key parts (stored as canonical JSON text)."""
    text = parts.get("inputs")
    if not isinstance(text, str):
        return dict(text or {})
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _label(parts: Mapping[str, Any]) -> str:
    """The process name to show: ``name``, else the last part of the qualified name."""
    return parts.get("name") or str(parts.get("qualname") or "?").rsplit(".", 1)[-1]


def _process_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Clauses for what changed in the process itself (not its inputs)."""
    name, old_name = _label(new), _label(old)
    if old.get("kind") != new.get("kind") or old_name != name:
        kinds = {"container": "an image", "python": "a Python function"}
        if old_name == name:
            return [f"process {name} changed from {kinds.get(old.get('kind'), '?')} "
                    f"to {kinds.get(new.get('kind'), '?')}"]
        return [f"process changed {old_name} -> {name}"]
    out = []
    if new.get("kind") == "container":
        if old.get("image_id") != new.get("image_id"):
            ids = f"({short_id(old.get('image_id'))} -> {short_id(new.get('image_id'))})"
            tag, old_tag = new.get("image") or "?", old.get("image") or "?"
            out.append(f"image {tag} rebuilt {ids}" if tag == old_tag
                       else f"image changed {old_tag} -> {tag} {ids}")
        if old.get("argv") != new.get("argv"):
            argv = [shlex.join(p.get("argv") or []) for p in (old, new)]
            out.append(f"command changed {_clip(argv[0])} -> {_clip(argv[1])}")
    elif new.get("kind") == "python":
        if old.get("qualname") != new.get("qualname"):
            out.append(f"function changed {old.get('qualname')} -> {new.get('qualname')}")
        elif old.get("code") != new.get("code"):
            out.append(f"code of {name} changed")
        if old.get("python") != new.get("python"):
            out.append(f"Python changed {old.get('python')} -> {new.get('python')}")
        if old.get("version") != new.get("version"):
            versions = [p.get("version") or "none" for p in (old, new)]
            out.append(f"version of {name} changed {versions[0]} -> {versions[1]}")
    else:  # a kind of its own: each part it keys on, by name
        common = ("kind", "description", "env", "inputs", *LABELS)
        out.extend(f"{part} of {name} changed" for part in sorted({*old, *new} - set(common))
                   if old.get(part) != new.get(part))
    if old.get("description") != new.get("description"):
        out.append(f"description of {name} changed")
    old_env, new_env = old.get("env") or {}, new.get("env") or {}
    changed_env = sorted(k for k in {*old_env, *new_env} if old_env.get(k) != new_env.get(k))
    if changed_env:  # names only: values may be secrets
        out.append(f"environment changed ({', '.join(changed_env)})")
    return out


def _input_changes(old: Mapping[str, Any], new: Mapping[str, Any],
                   references: Mapping[str, tuple[str, str]]) -> list[str]:
    """Clauses for each input whose resolved value changed, naming the upstream node if any."""
    before, after = _inputs(old), _inputs(new)
    out = []
    for port in sorted({*before, *after}):
        if port in before and port in after and _same(before[port], after[port]):
            continue
        ref = references.get(port)
        if port not in after:
            out.append(f"input {port} removed (was {_json_text(before[port])})")
        elif ref is not None:
            was = _json_text(before[port]) if port in before else "unset"
            out.append(f"upstream node {ref[0]} gave {ref[1]}={_json_text(after[port])} "
                       f"(was {was})")
        elif port not in before:
            out.append(f"input {port} added ({_json_text(after[port])})")
        else:
            out.append(f"input {port} changed {_json_text(before[port])} -> "
                       f"{_json_text(after[port])}")
    return out


def changes(old: Mapping[str, Any], new: Mapping[str, Any],
            references: Mapping[str, tuple[str, str]] | None = None) -> list[str]:
    """Every clause saying how ``new`` key parts differ from ``old``; empty when they agree."""
    out = _process_changes(old, new)
    if out and out[0].startswith("process "):
        return out  # another process: comparing its parts says nothing more
    return out + _input_changes(old, new, references or {})


def explain(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    *,
    references: Mapping[str, tuple[str, str]] | None = None,
    last_status: str | None = None,
) -> str:
    """Why a node with key parts ``new`` ran, given ``old``, the parts of its last run.

    ``references`` maps an input port to the ``(upstream node, output port)`` it reads, so a
    changed value is blamed on that node; ``last_status`` is the status of that last run.
    """
    if old is None:
        return NO_EARLIER
    found = changes(old, new, references)
    if found:
        return "ran: " + "; ".join(found)
    if last_status is None:
        return NO_EARLIER
    if last_status in _SUCCESS:
        return "ran: earlier result no longer cached"
    return f"ran: last run {last_status}"


def _when(created: float, now: float | None = None) -> str:
    """Local ``HH:MM`` of ``created``, with the date in front when it is not today."""
    then = time.localtime(created)
    today = time.localtime(time.time() if now is None else now)
    if then[:3] == today[:3]:
        return time.strftime("%H:%M", then)
    return time.strftime("%Y-%m-%d %H:%M", then)


def cached(parts: Mapping[str, Any], run_id: int | None, created: float, *,
           now: float | None = None) -> str:
    """``cached: same image sha256:1a2b3c4d5e6f, same inputs (from run 41, 10:42)``.

    For a Python process ``same code``; the time is local, with the date when not today.
    """
    same = (f"same image {short_id(parts.get('image_id'))}"
            if parts.get("kind") == "container" else "same code")
    source = f"run {run_id}, " if run_id is not None else ""
    return f"cached: {same}, same inputs (from {source}{_when(created, now)})"
