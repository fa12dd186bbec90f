"""Redo in the canvas editor (issue 24): undo and redo sequences through the editing API the
buttons call; a new edit forgets what could be redone; an edit elsewhere after an undo makes
redo refuse rather than lose it. ``editing.Undo`` alone, too."""

import html

from containerdag_widgets import Graph, GraphWidget, Registry
from containerdag_widgets.editing import Undo
from containerdag_widgets.model.node import Ref

from ..processes import add, divide


def buttons(e) -> tuple[bool, bool]:
    """Whether Undo and Redo can be pressed."""
    return not e.undo_button.disabled, not e.redo_button.disabled


def test_undo_and_redo_walk_the_edits_back_and_forth():
    w = GraphWidget(Graph(), Registry([add, divide]))
    e = w.editor
    assert buttons(e) == (False, False)
    e.add("add")
    e.add("divide")
    assert e.connect("add", "z", "divide", "a")
    assert e.set_value("add", "x", 5.0)
    states = [Graph(), None, None, None, w.graph.copy()]  # after 0, ..., 4 edits
    assert buttons(e) == (True, False)

    assert e.undo() and w.graph.to_spec()["add"]["inputs"]["x"] == 1.0
    assert buttons(e) == (True, True)
    states[3] = w.graph.copy()
    assert e.undo() and w.graph["divide"].inputs["a"] == 1.0  # the connection undone
    states[2] = w.graph.copy()
    assert e.undo() and list(w.graph) == ["add"]
    states[1] = w.graph.copy()
    assert e.undo() and list(w.graph) == []
    assert not e.undo() and buttons(e) == (False, True)

    for n in (1, 2, 3, 4):  # each redo makes the next edit again
        assert e.redo() and w.graph == states[n], n
    assert html.unescape(e.message.value) == "<i>redone</i>"
    assert w.graph["divide"].inputs["a"] == Ref("add", "z")
    assert w.graph["add"].inputs["x"] == 5.0
    assert not e.redo() and buttons(e) == (True, False)

    assert e.undo() and e.undo() and w.graph == states[2]  # back two, forward one
    assert e.redo() and w.graph == states[3]
    assert e.undo() and e.undo() and w.graph == states[1]
    assert w.edited == e.edits == 4 + 4 + 4 + 2 + 1 + 2
    w.close()


def test_a_new_edit_forgets_what_could_be_redone_and_a_refused_one_does_not():
    w = GraphWidget(Graph(), Registry([add, divide]))
    e = w.editor
    e.add("add")
    e.add("divide")
    e.add("add")
    assert e.undo() and buttons(e) == (True, True)
    assert not e.connect("add", "z", "add", "x")  # refused (a cycle): no edit made
    assert buttons(e) == (True, True)
    assert not e.rename("add", "divide")  # refused by the graph, after the snapshot
    assert buttons(e) == (True, True)
    assert e.redo() and list(w.graph) == ["add", "divide", "add 2"]
    assert e.undo()
    assert e.undo() and e.set_value("add", "y", 2.0)  # a new edit
    assert buttons(e) == (True, False) and not e.redo()
    assert list(w.graph) == ["add"] and w.graph["add"].inputs["y"] == 2.0
    assert e.undo() and e.undo() and list(w.graph) == []
    w.close()


def test_redo_refuses_after_an_edit_made_elsewhere():
    g = Graph()
    w = GraphWidget(g, Registry([add, divide]))
    e = w.editor
    e.add("add")
    e.add("divide")
    assert e.undo() and list(g) == ["add"]
    g.set_input("add", "x", 7.0)  # from code (or %%node, another widget): not the editor's
    assert not e.redo()
    assert "edited since the undo" in html.unescape(e.message.value)
    assert list(g) == ["add"] and g["add"].inputs["x"] == 7.0  # the edit elsewhere stays
    assert buttons(e)[1] is False
    w.close()


def test_the_undo_stack_alone():
    g = Graph()
    stack = Undo(depth=3)
    for i in range(5):
        stack.record(g)
        g.add(f"add {i}", "add", {"x": float(i), "y": 1.0})
    assert len(stack) == 3 and stack.redoable == 0
    assert stack.undo(g) and stack.undo(g) and stack.undo(g) and not stack.undo(g)
    assert list(g) == ["add 0", "add 1"] and stack.redoable == 3
    assert stack.redo(g) and list(g) == ["add 0", "add 1", "add 2"]
    assert stack.undo(g) and stack.redo(g) and stack.redo(g) and stack.redo(g)
    assert not stack.redo(g) and list(g) == [f"add {i}" for i in range(5)]
    assert len(stack) == 3  # redone edits are undoable again, as deep as before
    stack.record(g)  # an edit: nothing to redo after it
    g.remove("add 4")
    assert stack.undo(g) and stack.redoable == 1
    stack.record(g)
    assert stack.redoable == 0
    stack.revert(g)  # a refused edit: what could be redone still can
    assert stack.redoable == 1 and stack.redo(g) and "add 4" not in g
