"""Result cache and run history on embedded SQLite: keys, reasons, and the store.

Pure core: the standard library and ``..errors`` only, no Docker or Jupyter.
"""

from .keys import (
    KEY_VERSION,
    LABELS,
    KeyParts,
    canonical_json,
    code_hash,
    description_part,
    node_key,
    pick_env,
    process_parts,
    with_inputs,
)
from .paths import DATABASE_NAME, cache_root, database_path, remove_database
from .reasons import (
    CACHE_DISABLED,
    FORCED,
    NO_EARLIER,
    cached,
    changes,
    explain,
    not_cacheable,
    short_id,
)
from .records import CachedResult, NodeRecord, RunRecord, RunSummary
from .safe import SafeStore
from .schema import MIGRATIONS, SchemaError
from .store import (
    CacheError,
    CacheUnavailable,
    CacheWarning,
    RunNotFound,
    Store,
    UnstorableValue,
)

__all__ = [
    "CACHE_DISABLED", "DATABASE_NAME", "FORCED", "KEY_VERSION", "LABELS", "MIGRATIONS",
    "NO_EARLIER", "CacheError", "CacheUnavailable", "CacheWarning", "CachedResult", "KeyParts",
    "NodeRecord", "RunNotFound", "RunRecord", "RunSummary", "SafeStore", "SchemaError", "Store",
    "UnstorableValue", "cache_root", "cached", "canonical_json", "changes", "code_hash",
    "database_path", "description_part", "explain", "node_key", "not_cacheable", "pick_env",
    "process_parts", "remove_database", "short_id", "with_inputs",
]
