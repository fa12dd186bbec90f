"""How the store's rows are written: the columns of a node's record, the upserts, and the
history's JSON (never failing on a value JSON cannot hold; files in their stored form)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..model.files import loads_stored, stored_json
from .records import NodeRecord

__all__ = ["NODE_COLUMNS", "JSON_COLUMNS", "UPSERT_RESULT", "UPSERT_NODE", "SHA256", "dump",
           "load", "node_row", "node_record"]

NODE_COLUMNS = ("node", "process", "status", "key", "key_parts", "inputs", "outputs", "error",
                 "error_type", "log", "duration", "started", "ended", "image_id", "worker",
                 "reason")
JSON_COLUMNS = frozenset({"key_parts", "inputs", "outputs"})
UPSERT_RESULT = (
    "INSERT INTO results (key, outputs, run_id, node, created, last_used, size) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET outputs = excluded.outputs, "
    "run_id = excluded.run_id, node = excluded.node, created = excluded.created, "
    "last_used = excluded.last_used, size = excluded.size"
)
UPSERT_NODE = (  # an update keeps the row (and so the node's place in the run's order)
    f"INSERT INTO node_runs (run_id, {', '.join(NODE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * (len(NODE_COLUMNS) + 1))}) ON CONFLICT (run_id, node) DO UPDATE "
    f"SET {', '.join(f'{c} = excluded.{c}' for c in NODE_COLUMNS[1:])}"
)


def dump(value: Any) -> str | None:
    """JSON for the history: never fails (non-JSON values become their repr)."""
    if value is None:
        return None
    return stored_json(value, other=repr)


#: A file's hash in its stored JSON form (``to_stored``: keys sorted, no spaces).
SHA256 = re.compile(r'"sha256":"([0-9a-f]{64})"')


def load(text: str | None) -> Any:
    """The value of a history JSON column (None when absent or unreadable)."""
    if text is None:
        return None
    try:
        return loads_stored(text)
    except ValueError:
        return None


def node_row(run_id: int, record: NodeRecord) -> list[Any]:
    """The values of a node_runs row for ``record`` of run ``run_id`` (JSON columns dumped)."""
    return [run_id] + [dump(getattr(record, name)) if name in JSON_COLUMNS
                       else getattr(record, name) for name in NODE_COLUMNS]


def node_record(row: Sequence[Any]) -> NodeRecord:
    """A NodeRecord from ``run_id`` followed by the ``NODE_COLUMNS`` of a node_runs row."""
    values = {name: load(v) if name in JSON_COLUMNS else v
              for name, v in zip(NODE_COLUMNS, row[1:], strict=True)}
    values["log"] = values["log"] or ""
    return NodeRecord(run_id=row[0], **values)
