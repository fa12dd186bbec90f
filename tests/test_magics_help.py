"""Help while typing (issue 8, item 13): hints, did-you-mean, stand-ins, Tab completion."""

import pytest
from IPython.core.error import UsageError
from IPython.testing import globalipapp

from containerdag_widgets import Graph, Registry, process
from containerdag_widgets.magics import load_ipython_extension, unload_ipython_extension
from containerdag_widgets.magics.help import LOAD_HINT, NotLoadedMagics, offer_magics


@process(outputs={"z": 1.0}, name="h_add")
def h_add(x: float = 1.0, y: float = 1.0):
    """z = x + y."""
    return {"z": x + y}


@process(outputs={"mean": 1.0}, name="h_stats")
def h_stats(x: float = 1.0):
    """Never added to a registry."""
    return {"mean": x}


@pytest.fixture
def ip():
    shell = globalipapp.start_ipython() or globalipapp.get_ipython()
    shell.user_ns["reg"] = Registry([h_add])
    offer_magics()
    yield shell
    unload_ipython_extension(shell)


def test_a_node_cell_before_load_ext_says_what_to_run(ip):
    if "ContainerDagMagics" in ip.magics_manager.registry:
        pytest.skip("the extension is loaded in this shell")
    assert "NotLoadedMagics" in ip.magics_manager.registry or isinstance(
        ip.magics_manager.magics["cell"].get("node").__self__, NotLoadedMagics)
    with pytest.raises(UsageError, match="%load_ext containerdag_widgets"):
        ip.run_cell_magic("node", "a", "process: h_add")
    assert "c.InteractiveShellApp.extensions" in LOAD_HINT


def test_hints_in_node_bodies(ip):
    load_ipython_extension(ip)
    ip.run_line_magic("dag", "use reg")
    ip.run_cell_magic("node", "stats", "process: h_add\ninputs: {x: 1.0, y: 1.0}")
    with pytest.raises(UsageError, match=r"write x: \{from: stats, output: mean\}"):
        ip.run_cell_magic("node", "b", "process: h_add\ninputs: {x: stats.mean, y: 1.0}")
    with pytest.raises(UsageError, match=r"no input 'xx' \(did you mean 'x'\?\)"):
        ip.run_cell_magic("node", "b", "process: h_add\ninputs: {xx: 1.0, y: 1.0}")
    with pytest.raises(UsageError, match=r"never added to this registry: registry.add\(h_stats"):
        ip.run_cell_magic("node", "b", "process: h_stats\ninputs: {x: 1.0}")


def test_the_api_gives_the_same_hints():
    g = Graph.from_spec({"a": {"process": "h_stats", "inputs": {"x": 1.0}}})
    [problem] = g.problems(Registry([h_add]))
    assert "registry.add(h_stats)" in problem.detail


def test_tab_completion(ip):
    load_ipython_extension(ip)
    ip.run_line_magic("dag", "use reg")
    ip.run_cell_magic("node", "node a", "process: h_add\ninputs: {x: 1.0, y: 1.0}")

    def complete(line):
        return ip.Completer.complete(line_buffer=line, cursor_pos=len(line))[1]

    assert complete("%dag r") == ["remove", "run"]
    assert complete("%dag remove no") == ["node a"]
    assert complete("%dag remove node ") == ["a"]
    assert complete("%dag use r") == ["reg"]
