"""A corpus of bad inputs: each gives its specific error, naming the node, field and value.

Spec and YAML mistakes raise ``SpecError``; graph mistakes ``GraphValidationError`` with one
``Problem`` each; run options ``OptionError``; all before anything runs.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from containerdag_widgets import (
    Graph,
    GraphValidationError,
    Registry,
    SpecError,
    process,
)

from ..processes import add


@process(outputs={"s": "text"})
def shout(word: str = "hi"):
    """The word in capitals."""
    return {"s": word.upper()}


REGISTRY = Registry([add, shout])
OK = "  process: add\n  inputs: {x: 1.0, y: 2.0}\n"

# (case id, YAML text, words the message must contain, node, field)
SPEC_CASES = [
    ("node twice", f"a:\n{OK}a:\n{OK}", ["node 'a' is written twice (lines 1 and 4)"],
     None, None),
    ("input twice", "a:\n  process: add\n  inputs:\n    x: 1\n    x: 2\n    y: 1\n",
     ["'x' is written twice (lines 4 and 5)"], "a", "inputs.x"),
    ("field twice", "a:\n  process: add\n  process: add\n  inputs: {x: 1, y: 2}\n",
     ["'process' is written twice"], "a", "process"),
    ("alias bomb", "l0: &a [x, x, x, x, x, x, x, x, x, x]\n"
     + "".join(f"l{i}: &{chr(97 + i)} [*{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, "
               f"*{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}, "
               f"*{chr(96 + i)}, *{chr(96 + i)}, *{chr(96 + i)}]\n" for i in range(1, 8)),
     ["expands to more than", "refused"], None, None),
    ("syntax", "a:\n  process: add\n   inputs: x\n", ["YAML error"], None, None),
    ("not a mapping", "- a\n- b\n", ["a graph is a mapping of node name to node"], None, None),
    ("node not a mapping", "a: 3\n", ["a node is a mapping"], "a", None),
    ("unknown field", "a:\n  proces: add\n", ["unknown field(s) 'proces'"], "a", "proces"),
    ("process not text", "a:\n  process: [add]\n  inputs: {}\n",
     ["field 'process' must name a process, got ['add']"], "a", "process"),
    ("inputs not mapping", "a:\n  process: add\n  inputs: [1, 2]\n",
     ["field 'inputs' must be a mapping"], "a", "inputs"),
    ("timeout zero", f"a:\n{OK}  timeout: 0\n", ["'timeout' must be a positive number, got 0"],
     "a", "timeout"),
    ("timeout negative", f"a:\n{OK}  timeout: -3\n", ["got -3"], "a", "timeout"),
    ("timeout text", f"a:\n{OK}  timeout: soon\n", ["got 'soon'"], "a", "timeout"),
    ("timeout bool", f"a:\n{OK}  timeout: true\n", ["got True"], "a", "timeout"),
    ("timeout infinite", f"a:\n{OK}  timeout: .inf\n", ["got inf"], "a", "timeout"),
    ("reference without output", "a:\n  process: add\n  inputs: {x: {from: b}, y: 1}\n",
     ["exactly the keys 'from' and 'output'"], "a", "inputs.x"),
    ("reference not text", "a:\n  process: add\n  inputs: {x: {from: 1, output: z}, y: 1}\n",
     ["with string values"], "a", "inputs.x"),
    ("node name a number", f"1:\n{OK}", ["node names are non-empty strings, got 1"],
     None, None),
]


@pytest.mark.parametrize(("text", "words", "node", "field"),
                         [c[1:] for c in SPEC_CASES], ids=[c[0] for c in SPEC_CASES])
def test_bad_yaml_gives_a_spec_error_naming_what_is_wrong(text, words, node, field):
    with pytest.raises(SpecError) as info:
        Graph.from_yaml(text)
    for word in words:
        assert word in str(info.value)
    assert (info.value.node, info.value.field) == (node, field)
    assert info.value.line is not None


@pytest.mark.parametrize("value", [("b", "z", "w"), ("b",), (1, "z"), {"from": "b"},
                                   {"from": "b", "output": "z", "x": 1},
                                   {"from": 1, "output": "z"}])
def test_a_reference_of_the_wrong_shape_names_node_and_port_in_its_message(value):
    with pytest.raises(SpecError) as info:
        Graph.from_spec({"a": {"process": "add", "inputs": {"x": value, "y": 1}}})
    assert (info.value.node, info.value.field) == ("a", "inputs.x")
    assert str(info.value).startswith("node 'a': input 'x': a reference")


def deep(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


# (case id, inputs of node "n" (process add unless given), problem kind, field, words)
GRAPH_CASES = [
    ("unknown process", {"process": "ad", "inputs": {"x": 1.0, "y": 1.0}}, "unknown_process",
     "process", "unknown process 'ad' (did you mean 'add'?)"),
    ("unknown input", {"inputs": {"x": 1.0, "y": 1.0, "w": 2}}, "unknown_input", "inputs.w",
     "process 'add' has no input 'w'"),
    ("missing input", {"inputs": {"x": 1.0}}, "missing_input", "inputs.y",
     "missing input 'y' of process 'add'"),
    ("text for number", {"inputs": {"x": "one", "y": 1.0}}, "type_mismatch", "inputs.x",
     "is string 'one', expected number"),
    ("bool for number", {"inputs": {"x": True, "y": 1.0}}, "type_mismatch", "inputs.x",
     "is boolean True, expected number"),
    ("array for number", {"inputs": {"x": [1.0], "y": 1.0}}, "type_mismatch", "inputs.x",
     "is array [1.0]"),
    ("number for text", {"process": "shout", "inputs": {"word": 3}}, "type_mismatch",
     "inputs.word", "input 'word' of process 'shout' is integer 3, expected string"),
    ("NaN", {"inputs": {"x": float("nan"), "y": 1.0}}, "bad_value", "inputs.x",
     "holds nan (JSON has no NaN or infinity)"),
    ("infinity", {"inputs": {"x": float("-inf"), "y": 1.0}}, "bad_value", "inputs.x",
     "holds -inf"),
    ("set in array", {"process": "shout", "inputs": {"word": ["a", {1}]}}, "bad_value",
     "inputs.word", "a set {1} (not a JSON value) at word[1]"),
    ("bytes in object", {"process": "shout", "inputs": {"word": {"b": b"x"}}}, "bad_value",
     "inputs.word", "a bytes b'x' (not a JSON value) at word.b"),
    ("generator", {"process": "shout", "inputs": {"word": [(i for i in ())]}}, "bad_value",
     "inputs.word", "a generator"),
    ("object key not text", {"process": "shout", "inputs": {"word": {2: "x"}}}, "bad_value",
     "inputs.word", "a int key 2 (JSON keys are strings)"),
    ("nested too deep", {"process": "shout", "inputs": {"word": deep(300)}}, "bad_value",
     "inputs.word", "nesting deeper than 200 levels"),
    ("too large", {"process": "shout", "inputs": {"word": "x" * (17 * 2**20)}}, "bad_value",
     "inputs.word", "bytes of JSON, over the limit of 16777216"),
    ("unknown upstream", {"inputs": {"x": ("up", "z"), "y": 1.0}}, "unknown_node", "inputs.x",
     "reads from unknown node 'up'"),
]


@pytest.mark.parametrize(("node", "kind", "field", "words"),
                         [c[1:] for c in GRAPH_CASES], ids=[c[0] for c in GRAPH_CASES])
def test_bad_graph_gives_one_problem_naming_node_field_and_value(node, kind, field, words):
    graph = Graph.from_spec({"n": {"process": node.get("process", "add"),
                                   "inputs": node["inputs"]}})
    with pytest.raises(GraphValidationError) as info:
        graph.run(REGISTRY)
    [problem] = info.value.problems
    assert (problem.kind, problem.node, problem.field) == (kind, "n", field)
    assert words in str(info.value)


REF_CASES = [
    ("unknown output", ("a", "zz"), "unknown_output",
     "reads output 'zz' of node 'a', but process 'add' has outputs z"),
    ("reference type", ("s", "s"), "type_mismatch", "is number, but s.s is string"),
]


@pytest.mark.parametrize(("ref", "kind", "words"), [c[1:] for c in REF_CASES],
                         ids=[c[0] for c in REF_CASES])
def test_bad_references_name_the_input(ref, kind, words):
    graph = Graph.from_spec({
        "a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
        "s": {"process": "shout", "inputs": {"word": "hi"}},
        "n": {"process": "add", "inputs": {"x": ref, "y": 1.0}},
    })
    with pytest.raises(GraphValidationError) as info:
        graph.validate(REGISTRY)
    [problem] = info.value.problems
    assert (problem.kind, problem.node, problem.field) == (kind, "n", "inputs.x")
    assert words in problem.detail


@pytest.mark.parametrize("spec", [
    {"a": {"process": "add", "inputs": {"x": ("b", "z"), "y": 1.0}},
     "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}}},
    {"a": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}}},
], ids=["cycle", "self cycle"])
def test_cycles_are_named(spec):
    with pytest.raises(GraphValidationError) as info:
        Graph.from_spec(spec).run(REGISTRY)
    assert info.value.cycle is not None and info.value.cycle[0] == info.value.cycle[-1]
    assert "cycle: 'a' -> " in str(info.value)


CLI_CASES = [
    ("not UTF-8", b"a:\n  process: add\n  inputs: {x: 1, y: \xe9}\n", [],
     "is not UTF-8 text: byte 0xe9"),
    ("max workers zero", b"{}\n", ["--max-workers", "0"], "expected an integer > 0, got '0'"),
    ("timeout negative", b"{}\n", ["--timeout", "-1"], "expected a number > 0, got '-1'"),
    ("YAML error", b"a:\n  process: add\n   inputs: x\n", [], "line 3: YAML error"),
    ("missing file", None, [], "No such file or directory"),
]


@pytest.mark.parametrize(("content", "extra", "words"), [c[1:] for c in CLI_CASES],
                         ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, content, extra, words):
    spec = tmp_path / "spec.yaml"
    if content is not None:
        spec.write_bytes(content)
    # --image of no engine call: these are refused before discovery.
    proc = subprocess.run([sys.executable, "-m", "containerdag_widgets.cli", "run", str(spec),
                           *extra], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert words in lines[-1] and len([ln for ln in lines if "error" in ln]) == 1
    assert "Traceback" not in proc.stderr

