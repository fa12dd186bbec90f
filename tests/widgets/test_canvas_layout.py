"""Kernel side of issue 24's second pass on the canvas: positions kept in the widget (the page
writes them, a rename keeps a node's place), a fresh layout only for a new view or Re-layout,
what the page says (a click on the empty canvas, Delete on the node selected there, Enter in
the search box), and search stepping through its matches at a readable zoom. The page's side
is checked in JupyterLab by tests/browser/test_canvas_browser.py."""

from __future__ import annotations

import time

import pytest

from containerdag_widgets import Graph, GraphWidget, Registry
from containerdag_widgets.model.errors import SpecError
from containerdag_widgets.model.node import Ref
from containerdag_widgets.widgets.canvas import OVERLAY_STYLE, CanvasPane
from containerdag_widgets.widgets.graph_widget import SEARCH_ZOOM

from ..processes import add, wait


def page_says(w: GraphWidget, content: dict) -> None:
    """A message from the page to the canvas helper, as its comm delivers it."""
    w.pane.helper._handle_custom_msg(content, [])


def sent(w: GraphWidget) -> list[dict]:
    """Record the commands the widget sends to the page from now on."""
    out: list[dict] = []
    w.pane.helper.send = lambda content, buffers=None: out.append(content)
    return out


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert predicate()


def chain() -> Graph:
    return Graph.from_spec({
        "a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
        "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}},
        "c": {"process": "add", "inputs": {"x": ("b", "z"), "y": 1.0}},
        "b side": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
    })


def test_the_pane_keeps_positions_and_marks_a_fresh_drawing():
    pane = CanvasPane([{"selector": "node", "style": {}}], height="100px")
    assert pane.helper.stylesheet[-len(OVERLAY_STYLE):] == OVERLAY_STYLE  # lineage, filter
    pane.positions = {"a": {"x": 1, "y": 2}}
    assert pane.helper.positions == {"a": {"x": 1.0, "y": 2.0}}
    pane.draw([{"data": {"id": "a"}}, {"data": {"id": "b"}}], [])
    assert pane.helper.fresh is False and pane.positions == {"a": {"x": 1.0, "y": 2.0}}
    pane.draw([{"data": {"id": "a"}}], [], fresh=True)
    assert pane.helper.fresh is True
    pane.rename("a", "z")
    assert pane.positions == {"z": {"x": 1.0, "y": 2.0}}
    pane.rename("nowhere", "y")
    assert pane.positions == {"z": {"x": 1.0, "y": 2.0}}
    pane.set_stylesheet([])
    assert pane.helper.stylesheet == OVERLAY_STYLE
    pane.close()


def test_an_edit_keeps_places_a_new_view_is_fresh_and_relayout_asks_the_page():
    g = chain()
    w = GraphWidget(g, Registry([add]))
    assert w.pane.helper.fresh is False  # the first drawing: the page lays it all out
    # The page wrote where the nodes stand; a rename keeps the node's place.
    w.pane.helper.positions = {n: {"x": 10.0 * i, "y": 5.0} for i, n in enumerate(g)}
    g.rename("b", "bee")
    wait_for(lambda: "bee" in w.pane.nodes)
    assert w.positions["bee"] == {"x": 10.0, "y": 5.0} and "b" not in w.positions
    revision = w.pane.helper.revision
    g.add("d", "add", {"x": ("c", "z"), "y": 1.0})
    wait_for(lambda: w.pane.helper.revision > revision)
    assert w.pane.helper.fresh is False  # placed near its neighbours by the page
    w.select("bee", center=False)
    w.focus = True  # a new view: laid out afresh
    assert w.pane.helper.fresh is True
    w.focus = False
    assert w.pane.helper.fresh is True
    w.select("", center=False)
    g.set_input("a", "y", 2.0)
    wait_for(lambda: w.pane.helper.fresh is False)
    commands = sent(w)
    w.relayout_button.click()
    assert commands == [{"cmd": "relayout"}]
    assert w.children[1].children[:2] == (w.controls.fit, w.relayout_button)
    w.close()


def test_a_click_on_the_empty_canvas_deselects_and_delete_needs_the_node_selected_now():
    g = chain()
    w = GraphWidget(g, Registry([add]))
    w.select("c", center=False)
    page_says(w, {"event": "background"})
    assert w.selected == ""
    # Delete from a page that still shows "c" selected, after the kernel deselected it: no.
    page_says(w, {"event": "delete-node", "id": "c"})
    assert "c" in g
    w.select("c", center=False)
    page_says(w, {"event": "delete-node", "id": "b"})  # not the node selected now
    assert "b" in g
    page_says(w, {"event": "delete-node", "id": "c"})
    assert "c" not in g and w.selected == ""
    w.close()


def test_search_shows_a_match_at_a_readable_zoom_and_enter_steps_through_them():
    g = chain()
    w = GraphWidget(g, Registry([add]))
    commands = sent(w)
    w.controls.search.value = "b"  # typed, then Enter or a click elsewhere
    assert w.selected == "b"  # the exact name first
    assert commands[-1] == {"cmd": "center", "id": "b", "zoom": SEARCH_ZOOM}
    assert "1 of 2" in w.controls.found.value
    page_says(w, {"event": "search", "text": "b"})  # Enter again: the next match
    assert w.selected == "b side" and "2 of 2" in w.controls.found.value
    assert commands[-1] == {"cmd": "center", "id": "b side", "zoom": SEARCH_ZOOM}
    page_says(w, {"event": "search", "text": "b"})
    assert w.selected == "b"  # round again
    # Enter on new text searches it (its value change, which follows, does not step again).
    page_says(w, {"event": "search", "text": "c"})
    assert w.selected == "c"
    w.controls.search.value = "c"
    assert w.selected == "c" and w.controls.found.value == ""
    page_says(w, {"event": "search", "text": "zzz"})
    assert w.selected == "c" and "no node matches" in w.controls.found.value
    assert w.search("") == "" and w.controls.found.value == ""
    w.close()


def test_positions_go_to_yaml_in_a_layout_section_and_load_back_into_a_widget():
    g = chain()
    w = GraphWidget(g, Registry([add]))
    w.pane.helper.positions = {"a": {"x": 0.0, "y": 0.0}, "b": {"x": -120.5, "y": 80.0},
                               "c": {"x": 40.0, "y": 200.0}}  # as the page wrote them
    text = w.to_yaml()
    assert text.endswith("layout:\n  a: {x: 0.0, y: 0.0}\n  b: {x: -120.5, y: 80.0}\n"
                         "  c: {x: 40.0, y: 200.0}\n"), text
    loaded = Graph.from_yaml(text)
    assert loaded == g and loaded.layout == w.positions
    assert g.to_yaml() == Graph.from_yaml(g.to_yaml()).to_yaml()  # none asked: none written
    again = GraphWidget(loaded, Registry([add]))
    assert again.positions == w.positions  # the page draws them there, no layout run
    w.close()
    again.close()


def test_a_node_named_layout_is_a_node_and_keeps_the_yaml_without_a_section():
    g = Graph.from_spec({"layout": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}}})
    text = g.to_yaml(layout={"layout": {"x": 1.0, "y": 2.0}})
    assert "x: 1.0, y: 2.0" not in text  # no section: it would be read as the node
    loaded = Graph.from_yaml(text)
    assert loaded == g and loaded.layout == {}
    with pytest.raises(SpecError):  # neither a node nor positions: said, not dropped
        Graph.from_yaml("a:\n  process: add\nlayout:\n  a: {x: 1.0}\n")


def test_a_connection_dragged_from_a_node_lights_the_nodes_it_may_feed_and_connects():
    g = Graph.from_spec({
        "a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
        "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}},
        "c": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
        "w": {"process": "wait", "inputs": {"seconds": 0.1, "tag": "a"}},
    })
    w = GraphWidget(g, Registry([add, wait]))
    commands = sent(w)
    page_says(w, {"event": "link-from", "id": "b"})  # Shift+drag starts on b
    assert commands == [{"cmd": "targets", "source": "b", "ids": ["c", "w"]}]  # a: a cycle
    assert w.link_targets("w") == []  # its text output fits no number input
    assert w.link_targets("nowhere") == []
    page_says(w, {"event": "link-to", "source": "b", "target": "a"})  # refused: a cycle
    assert g["a"].inputs == {"x": 1.0, "y": 1.0}
    page_says(w, {"event": "link-to", "source": "b", "target": "w"})  # one pair fits
    assert g["w"].inputs["seconds"] == Ref("b", "z") and w.editor.edits == 1
    page_says(w, {"event": "link-to", "source": "a", "target": "c"})  # two fit: offered
    assert g["c"].inputs == {"x": 1.0, "y": 1.0} and w.edit_box.selected_index == 0
    assert (w.editor.connecting, w.editor.source, w.editor.target) == (True, "a", "c")
    assert [v for _, v in w.editor.pairs.options] == [("z", "x"), ("z", "y")]
    w.close()
