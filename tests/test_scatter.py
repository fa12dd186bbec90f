"""Scatter: one node over the elements of its list inputs, each element a call of its own,
cached on its own (issue 23)."""

from __future__ import annotations

import threading

import pytest

from containerdag_widgets import (
    ElementFinished,
    ElementsFailed,
    File,
    Files,
    Graph,
    GraphValidationError,
    Registry,
    ScatterError,
    SpecError,
    process,
)

CALLS: list[float] = []
LOCK = threading.Lock()


@process(outputs={"y": 1.0})
def square(x: float = 1.0):
    with LOCK:
        CALLS.append(x)
    if x == 3:
        raise ValueError("three is not allowed")
    return {"y": x * x}


@process(outputs={"z": 1.0})
def times(a: float = 1.0, b: float = 1.0):
    return {"z": a * b}


@process(outputs={"total": 1.0})
def total(values: list = [1.0]):  # noqa: B006 - an example
    return {"total": float(sum(v for v in values if v is not None))}


@process(outputs={"lines": 0})
def count(data: File = None):
    return {"lines": len(data.read_text().splitlines())}


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()


@pytest.fixture
def reg():
    return Registry([square, times, total, count])


def _graph(xs, **node):
    return Graph.from_spec({
        "sq": {"process": "square", "inputs": {"x": xs}, "scatter": ["x"], **node},
        "sum": {"process": "total", "inputs": {"values": ("sq", "y")}},
    })


def test_each_element_is_a_call_and_the_outputs_are_gathered_in_order(reg):
    events = []
    result = _graph([1.0, 2.0, 4.0]).run(reg, listeners=[events.append])
    assert result.status == {"sq": "done", "sum": "done"}
    assert result.outputs["sq"] == {"y": [1.0, 4.0, 16.0]}
    assert result.outputs["sum"] == {"total": 21.0}
    assert sorted(CALLS) == [1.0, 2.0, 4.0]
    finished = [e for e in events if isinstance(e, ElementFinished)]
    assert sorted(e.index for e in finished) == [0, 1, 2]
    assert [e["label"] for e in result.elements["sq"]] == ["1.0", "2.0", "4.0"]
    assert result.element_counts("sq") == {"done": 3}


def test_each_element_is_cached_on_its_own(reg):
    graph = _graph([1.0, 2.0, 4.0])
    graph.run(reg)
    CALLS.clear()
    again = graph.run(reg)
    assert again.status["sq"] == "cached" and CALLS == []
    assert again.reasons["sq"] == "reused: all 3 elements cached"
    graph.set_input("sq", "x", [1.0, 2.0, 4.0, 5.0])  # one more sample: one call
    more = graph.run(reg)
    assert CALLS == [5.0]
    assert more.reasons["sq"] == "1 of 4 ran: new 5.0; 3 reused"
    assert more.outputs["sq"]["y"] == [1.0, 4.0, 16.0, 25.0]


def test_a_failed_element_fails_the_node_and_the_others_keep_their_results(reg):
    result = _graph([1.0, 3.0, 4.0]).run(reg)
    assert result.status == {"sq": "failed", "sum": "skipped"}
    assert result.outputs["sq"] == {"y": [1.0, None, 16.0]}
    error = result.errors["sq"]
    assert isinstance(error, ElementsFailed) and set(error.failed) == {1}
    assert error.labels == {1: "3.0"} and "three is not allowed" in str(error)
    assert "1 of 3 elements failed: 3.0" in str(error)
    # Re-running runs only the failed element: the others were cached.
    CALLS.clear()
    _graph([1.0, 3.0, 4.0]).run(reg)
    assert CALLS == [3.0]


def test_on_error_continue_gathers_none_and_marks_the_node_partial(reg):
    result = _graph([1.0, 3.0, 4.0], on_error="continue").run(reg)
    assert result.status == {"sq": "partial", "sum": "done"}
    assert result.outputs["sum"] == {"total": 17.0}
    assert result.elements["sq"][1]["status"] == "failed"


def test_an_empty_list_is_done_with_empty_outputs_and_says_so(reg):
    result = _graph([]).run(reg)
    assert result.status == {"sq": "done", "sum": "done"}
    assert result.outputs["sq"] == {"y": []}
    assert result.reasons["sq"] == "no elements: the scattered input is empty"


def test_dotproduct_and_flat_crossproduct(reg):
    spec = {"m": {"process": "times", "inputs": {"a": [1.0, 2.0], "b": [10.0, 20.0]},
                  "scatter": ["a", "b"]}}
    assert Graph.from_spec(spec).run(reg).outputs["m"] == {"z": [10.0, 40.0]}
    spec["m"]["scatter_method"] = "flat_crossproduct"
    assert Graph.from_spec(spec).run(reg).outputs["m"] == {"z": [10.0, 20.0, 20.0, 40.0]}


def test_a_scattered_reference_runs_over_the_upstream_list(reg):
    graph = Graph.from_spec({
        "sq": {"process": "square", "inputs": {"x": [1.0, 2.0]}, "scatter": ["x"]},
        "again": {"process": "square", "inputs": {"x": ("sq", "y")}, "scatter": ["x"]},
    })
    assert graph.run(reg).outputs["again"] == {"y": [1.0, 16.0]}


def test_unequal_lists_from_references_fail_the_node_naming_both_lengths(reg):
    graph = Graph.from_spec({
        "sq": {"process": "square", "inputs": {"x": [1.0, 2.0]}, "scatter": ["x"]},
        "m": {"process": "times", "inputs": {"a": ("sq", "y"), "b": [1.0, 2.0, 4.0]},
              "scatter": ["a", "b"]},
    })
    result = graph.run(reg)
    assert result.status["m"] == "failed" and isinstance(result.errors["m"], ScatterError)
    assert "input 'a' has 2 and input 'b' has 3" in str(result.errors["m"])


@pytest.mark.parametrize(("node", "kind", "words"), [
    ({"inputs": {"x": 1.0}, "scatter": ["nope"]}, "bad_scatter",
     "scatter names input 'nope', which process 'square' does not have"),
    ({"inputs": {"x": 2.0}, "scatter": ["x"]}, "bad_scatter",
     "scatter over input 'x': it is number 2.0, not a list"),
    ({"inputs": {"x": [1.0, "two"]}, "scatter": ["x"]}, "type_mismatch",
     "element 1 of scattered input 'x'"),
])
def test_a_bad_scatter_is_named_before_anything_runs(reg, node, kind, words):
    graph = Graph.from_spec({"sq": {"process": "square", **node}})
    problems = graph.problems(reg)
    assert [p.kind for p in problems] == [kind]
    assert problems[0].node == "sq" and words in problems[0].message
    with pytest.raises(GraphValidationError):
        graph.run(reg)
    assert CALLS == []


def test_unequal_literal_lists_are_a_validation_problem(reg):
    graph = Graph.from_spec({"m": {"process": "times", "inputs": {"a": [1.0], "b": [1.0, 2.0]},
                                   "scatter": ["a", "b"]}})
    [problem] = graph.problems(reg)
    assert problem.kind == "scatter_lengths"
    assert "input 'a' has 1 and input 'b' has 2" in problem.message


def test_a_reader_of_a_scattered_node_reads_a_list(reg):
    graph = Graph.from_spec({
        "sq": {"process": "square", "inputs": {"x": [1.0]}, "scatter": ["x"]},
        "bad": {"process": "square", "inputs": {"x": ("sq", "y")}},  # a list into a number
    })
    [problem] = graph.problems(reg)
    assert problem.kind == "type_mismatch" and "sq.y is array" in problem.message


def test_a_folder_glob_adds_one_element_per_new_file(reg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    for name, lines in (("a.csv", 1), ("b.csv", 2)):
        (tmp_path / "data" / name).write_text("x\n" * lines)
    graph = Graph.from_yaml("n:\n  process: count\n  inputs: {data: {glob: data/*.csv}}\n"
                            "  scatter: [data]\n")
    assert graph.to_spec()["n"]["inputs"]["data"] == {"glob": "data/*.csv"}
    assert graph.run(reg).outputs["n"] == {"lines": [1, 2]}
    (tmp_path / "data" / "c.csv").write_text("x\n" * 3)
    (tmp_path / "data" / "a.csv").write_text("x\n" * 4)
    again = graph.run(reg)
    assert again.outputs["n"] == {"lines": [4, 2, 3]}
    assert again.reasons["n"] == "2 of 3 ran: new c.csv; changed a.csv; 1 reused"
    python = Graph()
    python.add("n", "count", {"data": Files.glob("data/*.csv")}, scatter="data")
    assert python.run(reg).outputs["n"] == {"lines": [4, 2, 3]}


def test_a_glob_that_matches_nothing_names_the_pattern_and_the_folder(reg, tmp_path,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    graph = Graph.from_spec({"n": {"process": "count", "inputs": {"data": {"glob": "in/*.csv"}},
                                   "scatter": ["data"]}})
    [problem] = graph.problems(reg)
    assert problem.kind == "empty_glob"
    assert "the glob 'in/*.csv' matches no file in" in problem.message
    assert str(tmp_path / "in") in problem.message


def test_scatter_fields_are_checked_and_round_trip(reg):
    with pytest.raises(SpecError, match="scatter_method"):
        Graph.from_spec({"m": {"process": "times", "inputs": {}, "scatter": ["a"],
                               "scatter_method": "zip"}})
    spec = {"m": {"process": "times", "inputs": {"a": [1.0], "b": [2.0]},
                  "scatter": ["a", "b"], "scatter_method": "flat_crossproduct",
                  "on_error": "continue"}}
    graph = Graph.from_spec(spec)
    assert graph.to_spec() == spec
    assert Graph.from_yaml(graph.to_yaml()) == graph
    assert graph.copy()["m"].scatter == ("a", "b")


def test_the_plan_of_a_scattered_node(reg):
    graph = _graph([1.0, 2.0])
    assert graph.plan(reg)["sq"].action == "run"
    graph.run(reg)
    CALLS.clear()  # square reads CALLS: its key includes the globals it reads
    assert graph.plan(reg)["sq"].action == "reuse"
    graph.set_input("sq", "x", [1.0, 2.0, 7.0])
    step = graph.plan(reg)["sq"]
    assert (step.action, step.reason) == ("run", "run: 1 of 3 elements (7.0)")
