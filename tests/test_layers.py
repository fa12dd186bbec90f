"""The core imports neither Docker nor Jupyter; imports point inward."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "containerdag_widgets"
CORE = ["errors", "status", "ports", "yaml_source", "process", "node", "graph", "events", "result",
        "options", "execution", "scheduler", "session", "registry", "random_values", "standard",
        "display", "cache", "plan", "files"]
OUTER = ("docker", "ipywidgets", "ipycytoscape", "IPython", "ipykernel", "traitlets", "dask",
         "distributed")


def test_importing_the_package_loads_no_docker_or_jupyter():
    code = (
        "import sys, containerdag_widgets\n"
        f"loaded = [m for m in {OUTER!r} if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def _module(path: Path) -> str:
    """``containerdag_widgets.cache.keys`` for .../containerdag_widgets/cache/keys.py."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the modules imported at module level (not inside functions)."""
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names.add(node.module or "")
                continue
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            if node.module:
                names.add(f"{base}.{node.module}")
            else:  # from . import x
                names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _core_files() -> list[Path]:
    files = []
    for name in CORE:
        path = PACKAGE / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
    return files


def test_core_modules_import_only_the_core():
    core = {f"containerdag_widgets.{name}" for name in CORE}
    for path in _core_files():
        for imported in _imports(path):
            top = imported.split(".")[0]
            assert top not in OUTER, (path.name, imported)
            if top == "containerdag_widgets" and imported != "containerdag_widgets":
                inside = imported.split(".")[1]
                assert f"containerdag_widgets.{inside}" in core, (path.name, imported)
