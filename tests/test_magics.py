"""The cell magics against an in-process registry: %%node, %dag, %registry (no Docker)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from IPython.core.error import UsageError
from IPython.testing import globalipapp

from containerdag_widgets import Graph, Registry, RunResult, process
from containerdag_widgets.magics import ContainerDagMagics, current_magics

from .processes import add, divide

A = "process: add\ninputs:\n  x: 1\n  y: 16.5\n"
B = "process: add\ninputs:\n  x: {from: a, output: z}\n  y: 2\n"
C = "process: divide\ninputs:\n  a: {from: a, output: z}\n  b: {from: b, output: z}\n"




@process(outputs={"text": "a"})
def shout(word: str = "a"):
    """The word in capitals."""
    return {"text": word.upper()}


def shell_instance():
    """The test shell (``start_ipython`` creates it once, then returns None)."""
    return globalipapp.start_ipython() or globalipapp.get_ipython()


@pytest.fixture
def ip():
    """A shell with the extension loaded and ``reg`` (in-process) chosen with %dag use."""
    shell = shell_instance()
    shell.run_line_magic("load_ext", "containerdag_widgets")
    shell.user_ns["reg"] = Registry([add, divide, shout])
    shell.run_line_magic("dag", "use reg")
    yield shell
    shell.run_line_magic("unload_ext", "containerdag_widgets")
    shell.user_ns.pop("reg", None)
    shell.user_ns.pop("result", None)


def graph(ip) -> Graph:
    return current_magics(ip).graph


def node(ip, name: str, body: str) -> None:
    ip.run_cell_magic("node", name, body)


def abc(ip) -> None:
    node(ip, "a", A)
    node(ip, "b", B)
    node(ip, "c", C)


def refused(ip, name: str, body: str) -> str:
    """The UsageError message of a refused %%node cell; checks the graph did not change."""
    before = graph(ip).to_spec()
    with pytest.raises(UsageError) as info:
        node(ip, name, body)
    assert graph(ip).to_spec() == before
    return str(info.value)


# ---- loading -----------------------------------------------------------------------------------


def test_load_ext_registers_the_magics(ip):
    magics = current_magics(ip)
    assert isinstance(magics, ContainerDagMagics)
    assert ip.magics_manager.registry["ContainerDagMagics"] is magics
    assert {"dag", "registry"} <= set(ip.magics_manager.magics["line"])
    assert "node" in ip.magics_manager.magics["cell"]
    assert len(magics.graph) == 0


def test_importing_the_package_does_not_import_ipython():
    code = "import sys, containerdag_widgets; sys.exit('IPython' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_unload_removes_the_magics_and_closes_only_their_own_registry(monkeypatch):
    shell = shell_instance()
    own = Registry([add])
    monkeypatch.setattr(Registry, "current", classmethod(lambda cls: None))
    made = []
    monkeypatch.setattr("containerdag_widgets.standard.standard_registry",
                        lambda: made.append(own) or own)
    shell.run_line_magic("load_ext", "containerdag_widgets")
    try:
        shell.run_cell_magic("node", "a", A)  # needs a registry: the magics create one
        shell.run_cell_magic("node", "b", B)
        assert current_magics(shell).registry is own
        assert made == [own]  # created once, then reused
    finally:
        shell.run_line_magic("unload_ext", "containerdag_widgets")
    assert own.closed
    assert current_magics(shell) is None
    assert "dag" not in shell.magics_manager.magics["line"]
    assert "node" not in shell.magics_manager.magics["cell"]


def test_unload_leaves_a_user_registry_open(ip):
    user_registry = ip.user_ns["reg"]
    ip.run_line_magic("unload_ext", "containerdag_widgets")
    assert not user_registry.closed
    ip.run_line_magic("load_ext", "containerdag_widgets")  # for the fixture's unload


def test_magics_push_nothing_into_the_namespace(ip):
    names = {k for k in ip.user_ns if not k.startswith("_")}
    for cell in ["%%node a\n" + A, "%dag spec", "%dag run --quiet", "%dag graph", "%dag clear"]:
        assert ip.run_cell(cell).success
    assert {k for k in ip.user_ns if not k.startswith("_")} == names


# ---- %%node ------------------------------------------------------------------------------------


def test_node_adds_a_node(ip):
    result = ip.run_cell("%%node a\n" + A)
    assert result.error_in_exec is None
    assert graph(ip).to_spec() == {"a": {"process": "add", "inputs": {"x": 1, "y": 16.5}}}


def test_node_name_is_the_whole_line_quotes_optional(ip):
    node(ip, "  node alpha  ", A)
    node(ip, '"node beta"', B.replace("from: a", "from: node alpha"))
    assert list(graph(ip)) == ["node alpha", "node beta"]
    assert graph(ip)["node beta"].upstream == ["node alpha"]


def test_rerunning_a_node_replaces_it_in_place(ip):
    abc(ip)
    node(ip, "b", "process: add\ninputs:\n  x: {from: a, output: z}\n  y: -4\n")
    assert list(graph(ip)) == ["a", "b", "c"]
    assert graph(ip)["b"].inputs["y"] == -4


def test_timeout_is_kept(ip):
    node(ip, "a", A + "timeout: 2.5\n")
    assert graph(ip)["a"].timeout == 2.5


def test_yaml_error_names_the_line(ip):
    abc(ip)
    message = refused(ip, "b", "process: add\ninputs:\n  x: [1\n  y: 2\n")
    assert message.startswith("node 'b' not replaced: line 4: YAML error")


@pytest.mark.parametrize(("body", "line", "field", "words"), [
    ("process: nope\ninputs:\n  x: 1\n", 1, "process", "unknown process 'nope'"),
    ("process: add\ninputs:\n  x: 1\n  y: 2\n  w: 3\n", 5, "inputs.w", "has no input 'w'"),
    ("process: add\ninputs:\n  x: 1\n", 2, "inputs.y", "missing input 'y'"),
    ("process: add\ninputs:\n  x: {from: q, output: z}\n  y: 2\n", 3, "inputs.x",
     "unknown node 'q'"),
    ("process: add\ninputs:\n  y: 2\n  x: {from: a,\n      output: n}\n", 5, "inputs.x",
     "reads output 'n' of node 'a'"),
    ("process: add\ninputs:\n  x: hello\n  y: 2\n", 3, "inputs.x", "is string 'hello'"),
    ("process: add\ninputs:\n  x: {from: s, output: text}\n  y: 2\n", 3, "inputs.x",
     "is number, but s.text is string"),
    ("process: add\nimputs:\n  x: 1\n", 2, "imputs", "unknown field"),
    ("process: add\ninputs:\n  x: {from: a}\n  y: 2\n", 3, "inputs.x", "keys 'from' and 'output'"),
    ("process: add\ntimeout: 0\ninputs: {x: 1, y: 2}\n", 2, "timeout", "positive number"),
    ("process: add\ninputs:\n  x: 1\n  x: 2\n  y: 2\n", 4, "inputs.x", "written twice"),
])
def test_a_bad_node_gives_one_message_naming_line_and_field(ip, body, line, field, words):
    node(ip, "a", A)
    node(ip, "s", "process: shout\ninputs: {word: hi}\n")
    message = refused(ip, "d", body)
    assert message.startswith(f"node 'd' not added: line {line} ({field}): ")
    assert words in message
    assert "\n" in message and message.count("line ") == 1  # one problem, its source quoted
    assert "d" not in graph(ip)


def test_a_bad_edit_keeps_the_old_node(ip):
    abc(ip)
    message = refused(ip, "b", "process: nope\ninputs: {}\n")
    assert message.startswith("node 'b' not replaced: line 1 (process): unknown process")
    assert graph(ip)["b"].inputs["y"] == 2


def test_every_problem_of_the_node_is_reported_together(ip):
    node(ip, "a", A)
    message = refused(ip, "b", "process: add\ninputs:\n  x: {from: q, output: z}\n  w: 1\n")
    assert message.startswith("node 'b' not added (3 problems):")
    assert "line 2 (inputs.y): missing input 'y'" in message
    assert "line 3 (inputs.x):" in message and "unknown node 'q'" in message
    assert "line 4 (inputs.w):" in message and "no input 'w'" in message


def test_a_cycle_through_the_node_is_refused_naming_it(ip):
    abc(ip)
    message = refused(ip, "a", "process: add\ninputs:\n  x: {from: c, output: z}\n  y: 1\n")
    assert message.startswith("node 'a' not replaced: line 3 (inputs.x): cycle: 'a' -> 'c' -> 'a'")
    message = refused(ip, "b", "process: add\ninputs:\n  x: {from: b, output: z}\n  y: 1\n")
    assert "cycle: 'b' -> 'b'" in message


def test_empty_body_and_missing_name_are_usage_errors(ip):
    assert "body is empty" in refused(ip, "a", "  \n")
    assert "a YAML mapping" in refused(ip, "a", "- 1\n- 2\n")
    with pytest.raises(UsageError, match=r"usage: %%node NAME"):
        node(ip, " '' ", A)


def test_usage_error_prints_one_line_not_a_traceback(ip, capsys):
    result = ip.run_cell("%%node a\nprocess: nope\ninputs: {}\n")
    assert isinstance(result.error_in_exec, UsageError)
    err = capsys.readouterr().err
    assert "UsageError: node 'a' not added: line 1 (process): unknown process 'nope'" in err
    assert "Traceback" not in err


def test_replacing_a_node_warns_about_readers_it_breaks(ip, capsys):
    abc(ip)
    node(ip, "a", "process: shout\ninputs: {word: x}\n")  # has no output z any more
    err = capsys.readouterr().err
    assert "warning: node 'b': input 'x' reads output 'z' of node 'a'" in err
    assert graph(ip)["a"].process == "shout"


# ---- %dag --------------------------------------------------------------------------------------


def test_dag_spec_returns_the_spec(ip, capsys):
    abc(ip)
    spec = ip.run_line_magic("dag", "spec")
    assert spec == graph(ip).to_spec()
    assert spec["b"]["inputs"]["x"] == {"from": "a", "output": "z"}
    assert Graph.from_spec(spec) == graph(ip)
    assert ip.run_line_magic("dag", "spec --yaml") is None
    assert Graph.from_yaml(capsys.readouterr().out) == graph(ip)


def test_result_of_dag_run_is_the_run_result(ip, capsys):
    abc(ip)
    assert ip.run_cell("result = %dag run --max-workers 2 --timeout 30").success
    result = ip.user_ns["result"]
    assert isinstance(result, RunResult) and result.ok
    assert result.outputs["a"] == {"z": 17.5}
    assert result.outputs["b"] == {"z": 19.5}
    assert result.outputs["c"] == {"z": 17.5 / 19.5}
    out = capsys.readouterr().out
    assert "status" in out and "z=19.5" in out  # the table
    assert ip.run_line_magic("dag", "run --quiet").outputs == result.outputs
    assert capsys.readouterr().out == ""


def test_dag_run_reports_every_validation_problem(ip):
    abc(ip)
    ip.user_ns["small"] = Registry([add])
    ip.run_line_magic("dag", "use small")
    with pytest.raises(UsageError, match="unknown process 'divide'"):
        ip.run_line_magic("dag", "run")
    with pytest.raises(UsageError, match="--max-workers: expected an integer > 0"):
        ip.run_line_magic("dag", "run --max-workers 0")
    ip.run_line_magic("dag", "clear")
    with pytest.raises(UsageError, match="graph is empty"):
        ip.run_line_magic("dag", "run")


def test_dag_clear_and_remove(ip):
    abc(ip)
    with pytest.raises(UsageError, match="'a' is read by 'b', 'c'"):
        ip.run_line_magic("dag", "remove a")
    with pytest.raises(UsageError, match="no node 'q'"):
        ip.run_line_magic("dag", "remove q")
    ip.run_line_magic("dag", "remove c")
    assert list(graph(ip)) == ["a", "b"]
    node(ip, "node x", A)
    ip.run_line_magic("dag", "remove node x")
    ip.run_line_magic("dag", "clear")
    assert len(graph(ip)) == 0


def test_dag_graph_is_the_live_graph(ip):
    g = ip.run_line_magic("dag", "graph")
    node(ip, "a", A)
    ip.run_line_magic("dag", "clear")
    node(ip, "b", A)
    assert g is graph(ip) and list(g) == ["b"]


def test_dag_use_checks_the_variable(ip):
    ip.user_ns["not_a_registry"] = 3
    with pytest.raises(UsageError, match="no variable 'missing'"):
        ip.run_line_magic("dag", "use missing")
    with pytest.raises(UsageError, match="is a int, not a Registry"):
        ip.run_line_magic("dag", "use not_a_registry")
    del ip.user_ns["not_a_registry"]
    node(ip, "a", A)
    ip.user_ns["other"] = Registry([shout])
    ip.run_line_magic("dag", "use other")
    with pytest.raises(UsageError, match="unknown process 'add'"):
        node(ip, "b", A)
    del ip.user_ns["other"]


def test_dag_rejects_misplaced_options_and_arguments(ip):
    for line, words in [("bogus", "invalid choice"), ("spec --quiet", "--quiet applies to"),
                        ("run --yaml", "--yaml applies to"), ("clear now", "takes no argument"),
                        ("remove", "usage: %dag remove NAME")]:
        with pytest.raises(UsageError, match=words):
            ip.run_line_magic("dag", line)


def test_dag_help_documents_subcommands_and_options():
    doc = ContainerDagMagics.dag.__doc__
    for word in ["show", "run", "clear", "spec", "remove", "use", "graph",
                 "--max-workers", "--timeout", "--quiet", "--yaml", "result = %dag run"]:
        assert word in doc
    assert "--refresh" in ContainerDagMagics.registry_magic.__doc__
    assert "%registry" in ContainerDagMagics.registry_magic.__doc__


def test_show_and_registry_return_the_widgets(ip):
    pytest.importorskip("containerdag_widgets.widgets")
    node(ip, "a", A)
    assert type(ip.run_line_magic("dag", "show")).__name__ == "GraphWidget"
    assert type(ip.run_line_magic("dag", "")).__name__ == "GraphWidget"
    assert type(ip.run_line_magic("registry", "")).__name__ == "RegistryWidget"


def test_dag_plan_and_run_with_cache_flags(ip, capsys):
    abc(ip)
    plan = ip.run_line_magic("dag", "plan")
    assert plan.nodes("run") == ["a"] and "depends" in capsys.readouterr().out
    first = ip.run_line_magic("dag", "run --quiet")
    again = ip.run_line_magic("dag", "run --quiet --force b")
    assert set(first.status.values()) == {"done"}
    assert again.status == {"a": "cached", "b": "done", "c": "cached"}
    assert again.reasons["b"] == "ran: forced"
    off = ip.run_line_magic("dag", "run --quiet --no-cache")
    assert set(off.status.values()) == {"done"}
    assert ip.run_line_magic("dag", "plan").nodes("reuse") == ["a", "b", "c"]
    with pytest.raises(UsageError, match="--force applies to %dag run and %dag plan only"):
        ip.run_line_magic("dag", "spec --force a")


def test_a_node_cell_can_scatter(ip):
    ip.run_cell_magic("node", "adds", "process: add\ninputs:\n  x: [1.0, 2.0, 3.0]\n  y: 10.0\n"
                                      "scatter: [x]\n")
    result = ip.run_line_magic("dag", "run --quiet")
    assert result.outputs["adds"] == {"z": [11.0, 12.0, 13.0]}
    assert ip.run_line_magic("dag", "spec")["adds"]["scatter"] == ["x"]
    with pytest.raises(UsageError, match="scatter_method"):
        ip.run_cell_magic("node", "bad", "process: add\ninputs: {x: [1.0], y: 1.0}\n"
                                         "scatter: [x]\nscatter_method: zip\n")
