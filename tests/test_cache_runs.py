"""The result cache in runs: reuse what did not change, run what did, and say why."""

import pytest

from containerdag_widgets import Graph, OptionError, Registry, process
from containerdag_widgets.cache import SafeStore

from .processes import CallLog, add

calls = CallLog()


@process(outputs={"z": 1.0})
def counted(x: float = 1.0, y: float = 1.0):
    """x + y, counting its calls."""
    calls.append("counted")
    return {"z": x + y}


@process(outputs={"n": 0.5}, cache=False)
def dice(seed: float = 1.0):
    """Not deterministic: never reused."""
    calls.append("dice")
    return {"n": seed}


SPEC = {
    "a": {"process": "counted", "inputs": {"x": 1.0, "y": 2.0}},
    "b": {"process": "counted", "inputs": {"x": ("a", "z"), "y": 10.0}},
    "r": {"process": "dice", "inputs": {"seed": 1.0}},
    "c": {"process": "counted", "inputs": {"x": ("r", "n"), "y": 0.0}},
}


@pytest.fixture
def registry():
    calls.clear()
    return Registry([counted, dice, add])


def test_a_second_run_reuses_deterministic_nodes_and_says_why(registry):
    graph = Graph.from_spec(SPEC)
    first = graph.run(registry)
    assert first.status == dict.fromkeys(SPEC, "done")
    assert first.reasons["a"] == "ran: no earlier result"
    assert first.reasons["r"] == "ran: not cacheable (dice)"
    calls.clear()
    second = graph.run(registry)
    assert second.status == {"a": "cached", "b": "cached", "r": "done", "c": "cached"}
    assert calls == ["dice"]  # c's input from r came out the same, so c was reused
    assert second.reasons["a"].startswith(f"cached: same code, same inputs (from run "
                                          f"{first.run_id}, ")
    assert second.outputs == first.outputs
    assert second.run_id == first.run_id + 1


def test_changing_a_literal_reruns_that_node_and_what_its_change_reaches(registry):
    graph = Graph.from_spec(SPEC)
    graph.run(registry)
    graph.set_input("a", "x", 2.0)
    calls.clear()
    result = graph.run(registry)
    assert result.status == {"a": "done", "b": "done", "r": "done", "c": "cached"}
    assert result.reasons["a"] == "ran: input x changed 1.0 -> 2.0"
    assert result.reasons["b"] == "ran: upstream node a gave z=4.0 (was 3.0)"


def test_force_and_no_cache(registry):
    graph = Graph.from_spec(SPEC)
    graph.run(registry)
    forced = graph.run(registry, force=["a"])
    assert forced.status["a"] == "done" and forced.reasons["a"] == "ran: forced"
    assert forced.status["b"] == "cached"  # a gave the same z: b's inputs did not change
    off = graph.run(registry, cache=False)
    assert set(off.status.values()) == {"done"}
    assert off.reasons["a"] == "ran: cache disabled"
    with pytest.raises(OptionError, match="option force='q'"):
        graph.run(registry, force=["q"])


def test_failed_nodes_are_never_cached(registry):
    graph = Graph.from_spec({"d": {"process": "add", "inputs": {"x": 1.0, "y": "x"}}})
    with pytest.raises(Exception, match="expected number"):
        graph.run(registry)

    @process(outputs={"z": 1.0})
    def flaky(x: float = 1.0):
        raise RuntimeError("boom")

    g = Graph.from_spec({"f": {"process": "flaky", "inputs": {"x": 1.0}}})
    reg = Registry([flaky])
    assert g.run(reg).status == {"f": "failed"}
    again = g.run(reg)
    assert again.status == {"f": "failed"} and again.reasons["f"] == "ran: last run failed"


def test_editing_a_process_body_reruns_it_but_editing_its_comments_does_not():
    namespace: dict = {}
    source = ("from containerdag_widgets import process\n"
              "@process(outputs={'z': 1.0})\n"
              "def step(x: float = 1.0):\n"
              "    # double it\n"
              "    return {'z': x * 2}\n")
    exec(compile(source, "<cell 1>", "exec"), namespace)
    graph = Graph.from_spec({"s": {"process": "step", "inputs": {"x": 1.0}}})
    assert graph.run(Registry([namespace["step"]])).status == {"s": "done"}
    exec(compile(source.replace("# double it", "# twice the input, as before"), "<cell 2>",
                 "exec"), namespace)
    assert graph.run(Registry([namespace["step"]])).status == {"s": "cached"}
    exec(compile(source.replace("x * 2", "x * 3"), "<cell 3>", "exec"), namespace)
    result = graph.run(Registry([namespace["step"]]))
    assert result.status == {"s": "done"} and result.outputs["s"] == {"z": 3.0}
    assert result.reasons["s"] == "ran: code of step changed"


def test_the_plan_agrees_with_the_run(registry):
    graph = Graph.from_spec(SPEC)
    plan = graph.plan(registry)
    assert (plan.nodes("run"), plan.nodes("depends")) == (["a", "r"], ["b", "c"])
    assert plan["b"].reason == "depends: runs unless node 'a' gives the same outputs as before"
    assert calls == []  # planning runs nothing
    graph.run(registry)
    graph.set_input("a", "x", 5.0)
    plan = graph.plan(registry)
    assert (plan["a"].action, plan["b"].action, plan["r"].action, plan["c"].action) == (
        "run", "depends", "run", "depends")
    assert plan["a"].reason == "ran: input x changed 1.0 -> 5.0"
    result = graph.run(registry)
    for step in plan:
        if step.action == "reuse":
            assert result.status[step.node] == "cached"
        elif step.action == "run":
            assert result.status[step.node] == "done" and result.reasons[step.node] == step.reason
    assert result.status["b"] == "done" and result.status["c"] == "cached"  # the depends
    graph.set_input("a", "x", 1.0)
    graph.run(registry)
    plan = graph.plan(registry, force=["b"])
    assert (plan["a"].action, plan["b"].action) == ("reuse", "run")


def test_a_corrupt_database_warns_once_and_the_run_goes_on(registry, tmp_path):
    path = tmp_path / "broken.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.warns(UserWarning, match="broken.sqlite") as warned:
        store = SafeStore.open(path)
        result = Graph.from_spec(SPEC).run(registry, cache=store)
    assert result.ok and len(warned) == 1


def test_the_plan_table_lines_up_under_its_header(registry):
    """Short node names: the header's 'node' sets the column (its rule was one dash wide)."""
    table = Graph.from_spec(SPEC).plan(registry).table(header=True).splitlines()
    assert table[0].split() == ["node", "action", "reason"]
    assert table[1].split() == ["----", "-------", "------"]
    assert all(line.index("run") == table[0].index("action")
               for line in table[2:] if " run " in line)
