"""One port checker: the same mistake gets the same message from a call and from a graph."""

import pytest

from containerdag_widgets import Graph, GraphValidationError, InputError, Registry

from .processes import add

MISTAKES = [
    ({"x": "one", "y": 2.0}, "type_mismatch", "inputs.x"),
    ({"x": 1.0}, "missing_input", "inputs.y"),
    ({"x": 1.0, "y": 2.0, "w": 3}, "unknown_input", "inputs.w"),
    ({"x": [1], "y": 2.0}, "type_mismatch", "inputs.x"),
]


@pytest.mark.parametrize(("inputs", "kind", "field"), MISTAKES)
def test_process_run_and_graph_validate_say_the_same(inputs, kind, field):
    with pytest.raises(InputError) as call:
        add.run(inputs)
    graph = Graph.from_spec({"n": {"process": "add", "inputs": inputs}})
    with pytest.raises(GraphValidationError) as check:
        graph.validate(Registry([add]))
    [from_call] = call.value.problems
    [from_graph] = check.value.problems
    assert (from_call.kind, from_call.field) == (kind, field)
    assert (from_graph.kind, from_graph.field, from_graph.node) == (kind, field, "n")
    assert from_call.detail == from_graph.detail
    assert from_call.detail in str(call.value) and from_graph.detail in str(check.value)


def test_yaml_problems_carry_line_and_column():
    graph = Graph.from_yaml("n:\n  process: add\n  inputs:\n    x: 1.0\n    y: 'two'\n")
    with pytest.raises(GraphValidationError) as info:
        graph.validate(Registry([add]))
    [problem] = info.value.problems
    assert (problem.node, problem.field, problem.line, problem.column) == ("n", "inputs.y", 5, 5)
    assert str(problem).startswith("line 5: node 'n': input 'y' of process 'add' is string")


def test_unknown_process_suggests_the_closest_name():
    graph = Graph.from_spec({"n": {"process": "ad", "inputs": {}}})
    with pytest.raises(GraphValidationError,
                       match=r"unknown process 'ad' \(did you mean 'add'\?\)"):
        graph.validate(Registry([add]))
