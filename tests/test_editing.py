"""Editing a graph by hand: rename, restore, undo, which outputs fit which inputs."""

import pytest

from containerdag_widgets import Graph, Registry, SpecError, process
from containerdag_widgets.editing import (
    Undo,
    connect_choices,
    connection_problems,
    example_inputs,
    unique_name,
)
from containerdag_widgets.model.graph import GraphEdited
from containerdag_widgets.model.node import Ref

from .processes import add, divide


@process(outputs={"text": "a", "n": 1})
def label(name: str = "x"):
    """A text and a count."""
    return {"text": name, "n": len(name)}


REG = Registry([add, divide, label])


def chain() -> Graph:
    return Graph.from_spec({
        "a": {"process": "add", "inputs": {"x": 1.0, "y": 2.0}},
        "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}},
        "c": {"process": "divide", "inputs": {"a": ("a", "z"), "b": ("b", "z")}},
    })


def test_rename_keeps_the_place_and_references_follow():
    g = chain()
    seen = []
    g.watch(seen.append)
    g.rename("a", "start")
    assert list(g) == ["start", "b", "c"]
    assert g["b"].inputs["x"] == Ref("start", "z") and g["c"].inputs["a"] == Ref("start", "z")
    assert seen == [GraphEdited("rename", ("a", "start"))]
    assert g.run(REG).outputs["c"] == {"z": 0.75}
    assert Graph.from_yaml(g.to_yaml()) == g


@pytest.mark.parametrize("new, why", [("b", "exists already"), ("", "non-empty"),
                                      (" a2", "surrounding spaces"), (3, "non-empty")])
def test_a_bad_rename_names_the_node_and_the_value_and_changes_nothing(new, why):
    g = chain()
    with pytest.raises(SpecError, match=why) as info:
        g.rename("a", new)
    assert info.value.node == "a" and info.value.field == "name" and info.value.value == new
    assert g == chain()


def test_undo_restores_the_graph_before_each_edit_in_turn():
    g, undo = chain(), Undo()
    undo.record(g)
    g.remove("c")
    undo.record(g)
    g.set_input("b", "y", 10.0)
    undo.record(g)
    g.rename("b", "bee")
    assert undo.undo(g) and list(g) == ["a", "b"] and g["b"].inputs["y"] == 10.0
    assert undo.undo(g) and g["b"].inputs["y"] == 1.0
    assert undo.undo(g) and g == chain()
    assert not undo.undo(g) and len(undo) == 0


def test_new_nodes_get_unique_names_and_the_examples_as_inputs():
    g = chain()
    assert unique_name(g, "add") == "add"
    g.add("add", "add", example_inputs(REG, "add"))
    assert unique_name(g, "add") == "add 2"
    assert g["add"].inputs == {"x": 1.0, "y": 1.0}


def test_only_type_compatible_pairs_are_offered():
    g = chain()
    g.add("l", "label", {"name": "abc"})
    assert connect_choices(g, REG, "a", "b") == [("z", "x"), ("z", "y")]
    assert connect_choices(g, REG, "l", "a") == [("n", "x"), ("n", "y")]  # an int fits a float
    assert connect_choices(g, REG, "a", "l") == []


def test_a_refused_connection_has_the_message_validation_gives():
    g = chain()
    g.add("l", "label", {"name": "abc"})
    problems = connection_problems(g, REG, "a", "z", "l", "name")
    assert [p.kind for p in problems] == ["type_mismatch"]
    g2 = g.copy()
    g2.set_input("l", "name", ("a", "z"))
    assert [p.message for p in g2.problems(REG)] == [p.message for p in problems]
    assert [p.kind for p in connection_problems(g, REG, "c", "z", "a", "x")] == ["cycle"]
    assert connection_problems(g, REG, "a", "z", "c", "b") == []
    assert g["l"].inputs["name"] == "abc"  # nothing changed


def test_the_yaml_export_loads_back_into_an_equal_graph_literals_keep_their_types():
    from .seed import SEED_GRAPH

    g = Graph.from_spec(SEED_GRAPH)
    g.add("odd", "add", {"x": "yes", "y": "null", "s": "1e3", "t": "node a.z", "e": "",
                         "f": 1.0, "i": 3, "b": True, "l": [["a", "z"]], "o": {"k": None}},
          timeout=2.5)
    back = Graph.from_yaml(g.to_yaml())
    assert back == g and list(back) == list(g)
    assert {p: type(v) for p, v in back["odd"].inputs.items()} == \
        {p: type(v) for p, v in g["odd"].inputs.items()}
