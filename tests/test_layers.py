"""The core imports neither Docker nor Jupyter; imports point inward."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "containerdag_widgets"
CORE = ["errors", "status", "ports", "yaml_source", "process", "graph", "events", "result",
        "execution", "runner", "registry", "random_values", "standard", "display"]
OUTER = ("docker", "ipywidgets", "ipycytoscape", "IPython", "ipykernel", "traitlets")


def test_importing_the_package_loads_no_docker_or_jupyter():
    code = (
        "import sys, containerdag_widgets\n"
        f"loaded = [m for m in {OUTER!r} if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def _imports(path: Path) -> set[str]:
    """Top-level and relative module names imported at module level (not inside functions)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is None:  # from . import x
            names.update(("." * node.level) + alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + node.module)
    return names


def test_core_modules_import_only_the_core():
    for name in CORE:
        imported = _imports(PACKAGE / f"{name}.py")
        assert not imported & set(OUTER), (name, imported)
        relative = {m for m in imported if m.startswith(".")}
        assert relative <= {f".{c}" for c in CORE}, (name, relative)
