"""One port checker: the same mistake gets the same message from a call and from a graph."""

import pytest

from containerdag_widgets import (
    Graph,
    GraphValidationError,
    InputError,
    ProtocolError,
    Registry,
    process,
)
from containerdag_widgets.model.ports import port_problems

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


@pytest.mark.parametrize(("value", "words"), [
    (float("nan"), "nan (JSON has no NaN or infinity)"),
    ([1.0, float("inf")], "inf (JSON has no NaN or infinity) at x[1]"),
    ({"a": {1, 2}}, "a set {1, 2} (not a JSON value) at x.a"),
    ([b"raw"], "a bytes b'raw' (not a JSON value) at x[0]"),
    ({"k": (i for i in range(3))}, "a generator"),
    ({1: "one"}, "a int key 1 (JSON keys are strings)"),
])
def test_values_json_cannot_carry_are_named_with_their_port(value, words):
    graph = Graph.from_spec({"n": {"process": "add", "inputs": {"x": value, "y": 1.0}}})
    with pytest.raises(GraphValidationError) as check:
        graph.validate(Registry([add]))
    [problem] = check.value.problems
    assert (problem.kind, problem.node, problem.field) == ("bad_value", "n", "inputs.x")
    assert words in problem.detail and "input 'x' of process 'add'" in problem.detail
    with pytest.raises(InputError, match="input 'x' of process 'add' holds"):
        add.run({"x": value, "y": 1.0})


def test_an_input_over_the_size_limit_is_refused_with_its_size(monkeypatch):
    monkeypatch.setattr("containerdag_widgets.model.ports.MAX_INPUT_BYTES", 1000)
    graph = Graph.from_spec({"n": {"process": "add", "inputs": {"x": [1.0] * 400, "y": 1.0}}})
    with pytest.raises(GraphValidationError, match="input 'x' of process 'add' is 2000 bytes "
                                                   "of JSON, over the limit of 1000"):
        graph.validate(Registry([add]))


def test_a_python_process_returning_the_wrong_type_fails_at_that_node():

    @process(outputs={"z": 1.0})
    def wrong(x: float = 1.0):
        return {"z": "not a number"}

    graph = Graph.from_spec({"w": {"process": "wrong", "inputs": {"x": 1.0}},
                             "after": {"process": "add", "inputs": {"x": ("w", "z"), "y": 1.0}}})
    result = graph.run(Registry([wrong, add]))
    assert result.status == {"w": "failed", "after": "skipped"}
    assert isinstance(result.errors["w"], ProtocolError)
    assert "output 'z' of process 'wrong' is string 'not a number', expected number" in str(
        result.errors["w"])
    assert result.errors["w"].port == "z"


def test_an_output_breaking_its_integer_type_fails_at_its_producer():
    """One type rule for outputs and inputs: 1.5 on a port declared integer is refused where
    it is made (it was "done", and its reader failed with an InputError blaming itself)."""
    @process(outputs={"n": 1})
    def half(x: float = 1.0):
        return {"n": x / 2}

    @process(outputs={"m": 1})
    def reader(n: int = 1):
        return {"m": n}

    graph = Graph.from_spec({"h": {"process": "half", "inputs": {"x": 3.0}},
                             "r": {"process": "reader", "inputs": {"n": ("h", "n")}}})
    result = graph.run(Registry([half, reader]), cache=False)
    assert result.status == {"h": "failed", "r": "skipped"}
    error = result.errors["h"]
    assert isinstance(error, ProtocolError) and error.node == "h" and error.port == "n"
    assert "output 'n' of process 'half' is number 1.5, expected integer" in str(error)


def test_a_wrong_input_lists_at_most_twenty_ports_of_a_huge_process():
    ports = {f"p{i}": 1.0 for i in range(10_000)}
    problems = port_problems("huge", ports, {"nope": 1.0, **{p: 1.0 for p in ports}})
    assert len(problems) == 1 and problems[0].kind == "unknown_input"
    assert len(problems[0].detail) < 400
    assert "and 9980 more" in problems[0].detail
