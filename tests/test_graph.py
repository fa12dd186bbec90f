import pytest

from containerdag_widgets import (
    CycleError,
    Graph,
    GraphValidationError,
    Ref,
    Registry,
    SpecError,
    process,
)

from .processes import add, divide

SEED_SPEC = {
    "node alpha": {"process": "random choice", "inputs": {"choices": [1.2, 5.4, 6.7]}},
    "node beta": {"process": "random float", "inputs": {"min": -5.0, "max": 5.0}},
    "node a": {"process": "process.add", "inputs": {"x": ("node alpha", "choice"), "y": 16.5}},
    "node b": {"process": "process.add",
               "inputs": {"x": ("node a", "z"), "y": ("node beta", "n")}},
    "node c": {"process": "process.divide",
               "inputs": {"a": ("node a", "z"), "b": ("node b", "z")}},
}


@pytest.fixture
def registry():
    @process(outputs={"choice": 1.0}, name="random choice")
    def choice(choices: list = [1, 2, 3, 4]):  # noqa: B006 - an example value
        return {"choice": choices[0]}

    @process(outputs={"n": 0.5}, name="random float")
    def uniform(min: float = 0.0, max: float = 1.0):
        return {"n": (min + max) / 2}

    @process(outputs={"s": "text"})
    def label(text: str = "text"):
        return {"s": text}

    return Registry([choice, uniform, add, divide, label])


def test_seed_spec_parses_tuples_as_refs():
    g = Graph.from_spec(SEED_SPEC)
    assert g["node b"].inputs == {"x": Ref("node a", "z"), "y": Ref("node beta", "n")}
    assert g["node alpha"].inputs == {"choices": [1.2, 5.4, 6.7]}
    assert g["node c"].upstream == ["node a", "node b"]


def test_to_spec_round_trips_through_spec_and_yaml():
    g = Graph.from_spec(SEED_SPEC)
    spec = g.to_spec()
    assert spec["node b"]["inputs"]["x"] == {"from": "node a", "output": "z"}
    assert Graph.from_spec(spec) == g
    assert Graph.from_yaml(g.to_yaml()) == g


def test_yaml_reference_form():
    g = Graph.from_yaml("""
one: {process: add, inputs: {x: 1, y: 2}}
two:
  process: add
  inputs:
    x: {from: one, output: z}
    y: 3
""")
    assert g["two"].inputs["x"] == Ref("one", "z")


def test_yaml_error_names_the_line():
    with pytest.raises(SpecError, match="line 3"):
        Graph.from_yaml("a:\n  process: add\n   inputs: x\n")


def test_bad_node_field_names_node_and_line():
    with pytest.raises(SpecError) as info:
        Graph.from_yaml("a: {process: add, inputs: {x: 1, y: 2}}\nb:\n  proces: add\n")
    assert (info.value.node, info.value.field, info.value.line) == ("b", "proces", 3)
    assert "node 'b'" in str(info.value) and "'proces'" in str(info.value)


def test_half_reference_is_refused():
    with pytest.raises(SpecError, match="exactly the keys 'from' and 'output'"):
        Graph.from_spec({"a": {"process": "add", "inputs": {"x": {"from": "b"}, "y": 1}}})


def test_order_is_topological(registry):
    g = Graph.from_spec(SEED_SPEC)
    order = g.order()
    for up, _, node, _ in g.edges:
        assert order.index(up) < order.index(node)


def test_validate_reports_every_problem_at_once(registry):
    g = Graph.from_spec({
        "a": {"process": "nope", "inputs": {}},
        "b": {"process": "add", "inputs": {"x": 1.0, "w": 2.0}},
        "c": {"process": "add", "inputs": {"x": ("ghost", "z"), "y": ("b", "q")}},
        "d": {"process": "add", "inputs": {"x": "one", "y": ("e", "s")}},
        "e": {"process": "label", "inputs": {"text": "t"}},
    })
    with pytest.raises(GraphValidationError) as info:
        g.validate(registry)
    kinds = sorted((p.kind, p.node) for p in info.value.problems)
    assert kinds == [
        ("missing_input", "b"),
        ("type_mismatch", "d"),
        ("type_mismatch", "d"),
        ("unknown_input", "b"),
        ("unknown_node", "c"),
        ("unknown_output", "c"),
        ("unknown_process", "a"),
    ]
    msg = str(info.value)
    assert "7 problems" in msg
    assert "unknown process 'nope'" in msg
    assert "'ghost'" in msg and "'q'" in msg and "'w'" in msg
    assert "'one'" in msg  # the offending value


def test_cycle_is_named(registry):
    g = Graph.from_spec({
        "a": {"process": "add", "inputs": {"x": ("c", "z"), "y": 1}},
        "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1}},
        "c": {"process": "add", "inputs": {"x": ("b", "z"), "y": 1}},
        "d": {"process": "add", "inputs": {"x": 1, "y": 1}},
    })
    with pytest.raises(CycleError) as info:
        g.validate(registry)
    cycle = info.value.cycle
    assert cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert "cycle:" in str(info.value)
    with pytest.raises(CycleError):
        g.order()


def test_alias_prefix_finds_process(registry):
    assert registry.get("process.add") is registry.get("add")
    assert "process.add" in registry and "process.nope" not in registry


def test_descendants():
    g = Graph.from_spec(SEED_SPEC)
    assert g.descendants("node a") == {"node b", "node c"}
    assert g.descendants("node c") == set()


def test_add_replaces():
    g = Graph()
    g.add("a", "add", {"x": 1, "y": 2})
    g.add("a", "add", {"x": 3, "y": 2})
    assert len(g) == 1 and g["a"].inputs["x"] == 3


def test_every_error_survives_pickle_with_its_data():
    import pickle

    from containerdag_widgets.model import errors
    from containerdag_widgets.model.errors import Problem

    samples = [
        errors.ProcessNotFound("nope", ["add"], hint="did you mean 'add'?"),
        errors.SpecError("not a mapping", node="a", field="inputs", value=[1], line=3),
        errors.OptionError("max_workers", 0, "an int >= 1"),
        errors.ProcessFailed("exit 3", process="p", exit_code=3, node="n", log="oops"),
        errors.UpstreamFailed("a failed", process="p", upstream="a", node="b"),
        errors.InputError([Problem("bad input", node="n", field="x", value="s", detail="not a "
                                   "number")], process="p", node="n"),
        errors.WorkerLost("gone", process="p", worker="tcp://w:1", node="n"),
        errors.DescriptionError("no JSON", process="p", image="i:1"),
    ]
    for error in samples:
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and str(back) == str(error)
        assert back.__dict__ == error.__dict__


def test_an_unknown_process_in_a_large_registry_names_the_closest_only():
    from containerdag_widgets import ProcessNotFound

    procs = [process(outputs={"z": 1.0}, name=f"step_{i:02d}")(lambda: {"z": 1.0})
             for i in range(70)]
    registry = Registry(procs)
    with pytest.raises(ProcessNotFound) as info:
        registry.get("step_7")
    text = str(info.value)
    assert "did you mean" in text and "70 processes" in text and "step_42" not in text
    with pytest.raises(ProcessNotFound) as info:
        registry.get("zzz")
    assert "and 60 more" in str(info.value) and len(str(info.value)) < 300
