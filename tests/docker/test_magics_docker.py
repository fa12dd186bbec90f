"""The seed's graph declared in %%node cells and run on the real registry (Docker images)."""

from __future__ import annotations

import pytest
from IPython.testing import globalipapp

from containerdag_widgets import Registry, RunResult, standard
from containerdag_widgets.docker import leftovers
from containerdag_widgets.magics import current_magics

from ..conftest import EXAMPLE_IMAGES

CELLS = {
    "node alpha": "process: random choice\ninputs:\n  choices: [1.2, 5.4, 6.7]\n",
    "node beta": "process: random float\ninputs:\n  min: -5\n  max: 5\n",
    "node a": "process: process.python_add\ninputs:\n"
              "  x: {from: node alpha, output: choice}\n  y: 16.5\n",
    "node b": "process: python_add\ninputs:\n"
              "  x: {from: node a, output: z}\n  y: {from: node beta, output: n}\n",
    "node c": "process: c_divide\ninputs:\n"
              "  a: {from: node a, output: z}\n  b: {from: node b, output: z}\n",
}


def check_numbers(result: RunResult, y: float) -> None:
    assert result.ok, result.table()
    alpha = result.outputs["node alpha"]["choice"]
    beta = result.outputs["node beta"]["n"]
    assert alpha in (1.2, 5.4, 6.7) and -5 <= beta <= 5
    a = alpha + y
    b = a + beta
    assert result.outputs["node a"]["z"] == pytest.approx(a)
    assert result.outputs["node b"]["z"] == pytest.approx(b)
    assert result.outputs["node c"]["z"] == pytest.approx(a / b)


def test_seed_graph_in_node_cells_runs_edits_and_cleans_up(docker_client, monkeypatch, capsys):
    shell = globalipapp.start_ipython() or globalipapp.get_ipython()
    # No other open registry may be picked up: the magics must create (and own) theirs.
    monkeypatch.setattr(Registry, "current", classmethod(lambda cls: None))
    # ... the standard one, of the images this test uses (the engine may hold others).
    default = standard.standard_registry
    monkeypatch.setattr(standard, "standard_registry",
                        lambda images=None: default(images or [*EXAMPLE_IMAGES]))
    shell.run_line_magic("load_ext", "containerdag_widgets")
    try:
        for name, body in CELLS.items():
            assert shell.run_cell(f"%%node {name}\n{body}").success, capsys.readouterr().err
        magics = current_magics(shell)
        reg = magics.registry
        assert list(magics.graph) == list(CELLS)

        assert shell.run_cell("result = %dag run").success
        check_numbers(shell.user_ns["result"], 16.5)
        assert "node c" in capsys.readouterr().out  # the printed table

        edited = CELLS["node a"].replace("y: 16.5", "y: 10")
        assert shell.run_cell(f"%%node node a\n{edited}").success
        assert list(magics.graph) == list(CELLS)
        assert shell.run_cell("result = %dag run --quiet").success
        check_numbers(shell.user_ns["result"], 10)
        assert leftovers(docker_client, reg.session) != []  # warm containers while loaded
    finally:
        shell.run_line_magic("unload_ext", "containerdag_widgets")
        shell.user_ns.pop("result", None)
    assert reg.closed
    assert leftovers(docker_client, reg.session) == []
