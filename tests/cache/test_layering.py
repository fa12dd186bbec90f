"""The cache's foundation is pure core: the standard library, ``..model.errors`` and
``..model.files`` (itself the standard library only) only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CACHE = Path(__file__).resolve().parents[2] / "containerdag_widgets" / "cache"
MODULES = ["__init__", "failures", "keys", "paths", "reasons", "records", "safe", "schema",
           "store", "artifacts", "rows"]
ALLOWED_RELATIVE = {"..model.errors", "..model.files"} | {f".{m}" for m in MODULES}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (relative ones with their dots)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names.add("." * node.level + (module if node.level else module.split(".")[0]))
    return names


def test_cache_modules_import_only_the_standard_library_and_errors():
    for name in MODULES:
        imported = _imports(CACHE / f"{name}.py")
        relative = {m for m in imported if m.startswith(".")}
        absolute = imported - relative - {"__future__"}
        assert relative <= ALLOWED_RELATIVE, (name, relative - ALLOWED_RELATIVE)
        assert absolute <= sys.stdlib_module_names, (name, absolute - sys.stdlib_module_names)
