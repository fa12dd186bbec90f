"""The layers you can see in the folders: imports point toward the model, and the core imports
neither Docker nor Jupyter."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "containerdag_widgets"
#: Each top-level module or package of the package, by layer: a module may import its own
#: layer and the layers below it, never above.
RANK = {
    "model": 0,          # graph as data, nodes, ports (the one type rule), files, errors
    "cache": 1,          # keys, reasons, the SQLite store, the artifact store
    "processes": 2,      # Process and its kinds, the registry
    "random_values": 2,
    "run": 3,            # options, session, scheduler, plan, events, result, execution
    "editing": 3,        # edits of a graph against a registry (pure functions)
    "docker": 4,         # backends
    "executors": 4,
    "export": 5,
    "graph": 6,          # Graph: the model's graph with its fronts (run, plan, export)
    "standard": 6,
    "widgets": 7,        # front ends
    "magics": 7,
    "cli": 7,
}
#: Imports against the grain, each with its reason.
EXCEPTIONS = {
    # File.from_bytes/from_text (how a @process makes an output file) store the new file in
    # the artifact store, which gives Files back: the one import cycle of the package.
    ("containerdag_widgets.model.files", "containerdag_widgets.cache.artifacts"),
    # Registry.from_docker(), the contract's way to discover images, imports the Docker
    # backend when it is called (never at import: the core loads no Docker).
    ("containerdag_widgets.processes.registry", "containerdag_widgets.docker"),
}
CORE = ["model", "cache", "processes", "random_values", "run", "editing", "graph", "export"]
OUTER = ("docker", "ipywidgets", "ipycytoscape", "IPython", "ipykernel", "traitlets", "dask",
         "distributed")


def _module(path: Path) -> str:
    """``containerdag_widgets.cache.keys`` for .../containerdag_widgets/cache/keys.py."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Absolute names of the modules imported (at module level only, if asked)."""
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    for node in nodes:
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


def _files(names: list[str]) -> list[Path]:
    files = []
    for name in names:
        path = PACKAGE / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
    return files


def test_importing_the_package_loads_no_docker_or_jupyter():
    code = (
        "import sys, containerdag_widgets\n"
        f"loaded = [m for m in {OUTER!r} if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_every_module_has_a_layer():
    found = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__")
             or (p.is_dir() and (p / "__init__.py").exists())}
    assert found == set(RANK)


def test_imports_point_toward_the_model():
    wrong = []
    for path in _files(list(RANK)):
        here = _module(path)
        layer = here.split(".")[1]
        for imported in _imports(path, top_level_only=False):
            parts = imported.split(".")
            if parts[0] != "containerdag_widgets" or len(parts) < 2:
                continue
            if parts[1] not in RANK or parts[1] == layer:
                continue
            if any(here == src and imported.startswith(dst) for src, dst in EXCEPTIONS):
                continue
            if RANK[parts[1]] > RANK[layer]:
                wrong.append(f"{here} imports {imported}")
    assert wrong == []


def test_the_core_imports_neither_docker_nor_jupyter_at_module_level():
    for path in _files(CORE):
        for imported in _imports(path, top_level_only=True):
            assert imported.split(".")[0] not in OUTER, (path.name, imported)
            assert not imported.startswith(("containerdag_widgets.docker",
                                            "containerdag_widgets.widgets",
                                            "containerdag_widgets.magics")), (path, imported)
