"""GraphEditor: build and change a graph by hand beside its canvas.

A palette of the registry's processes (grouped by image, filtered), a two-click connect mode
offering only the type-compatible (output, input) pairs, typed editors for the selected node's
literal inputs, rename, delete (button or the Delete key in the canvas), undo and redo, and
exports
(YAML and PNG). Every edit goes through the ``Graph`` API, so the graph in the kernel, ``%dag
spec`` and every widget showing the graph follow it; refusals are rendered from the same
``Problem`` data validation gives.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import ipywidgets as W
from traitlets import Bool, Int, Unicode

from ..editing import Undo, connect_choices, connection_problems, example_inputs, unique_name
from ..model.errors import ContainerDagError
from ..model.node import Ref
from ..model.ports import json_type, type_problem
from .closing import close_tree
from .html import esc, pre

__all__ = ["GraphEditor", "port_class"]


def port_class(port: str) -> str:
    """The CSS class of the editor of input ``port`` (for tests and styling)."""
    return "cdw-port-" + "".join(c if c.isalnum() else "-" for c in port)


class GraphEditor(W.VBox):
    """The editing panel of a ``GraphWidget`` (``widget.editor``)."""

    connecting = Bool(False, help="two-click connect mode: the next node clicked feeds the "
                                  "one clicked after it")
    source = Unicode("", help="in connect mode, the upstream node clicked first")
    target = Unicode("", help="in connect mode, the downstream node clicked second")
    edits = Int(0, help="edits made through this editor (observe it to react)")
    yaml_text = Unicode("", help="the graph as YAML with its ``layout:`` (where the nodes stand "
                                 "on the canvas), kept current: what the YAML link offers")
    said = Unicode("", help="the editor's last message (a refusal's reason), as text")

    def __init__(self, widget: Any, **kwargs: Any):  # the GraphWidget that holds it
        self.widget, self.graph = widget, widget.graph
        self.undo_stack = Undo()
        self._shape: tuple | None = None  # what the node panel was built for
        self._editors: dict[str, W.Widget] = {}  # port -> the editor of its literal value
        self._updating = False
        #: The last PNG of the canvas the page sent back (bytes), after ``png()``.
        self.png_bytes: bytes | None = None
        button = W.Layout(width="auto")
        self.filter = W.Text(placeholder="filter processes", continuous_update=True,
                             layout=W.Layout(width="auto"))  # stretched, margins inside
        self.palette = W.Select(options=[], rows=6, layout=W.Layout(width="auto"))
        self.palette.add_class("cdw-palette")
        self.add_button = W.Button(description="Add", icon="plus", layout=button,
                                   tooltip="Add a node of the selected process")
        self.connect_button = W.ToggleButton(description="Connect", icon="link", layout=button,
                                             tooltip="Click the upstream node, then the "
                                                     "downstream node")
        self.pairs = W.Dropdown(options=[], layout=W.Layout(width="auto"))
        self.pairs.add_class("cdw-connect-pairs")
        self.connect_ok = W.Button(description="Connect these", layout=button, disabled=True)
        self.undo_button = W.Button(description="Undo", icon="undo", layout=button,
                                    disabled=True, tooltip="Undo the last edit made here")
        self.redo_button = W.Button(description="Redo", icon="repeat", layout=button,
                                    disabled=True, tooltip="Make the last undone edit again")
        self.redo_button.add_class("cdw-redo")
        self.png_button = W.Button(description="PNG", icon="image", layout=button,
                                   tooltip="Download the canvas as a PNG")
        self.yaml_link = W.HTML("")
        self.message = W.HTML("")
        self.message.add_class("cdw-edit-message")
        self.node_panel = W.VBox([])
        self.node_panel.add_class("cdw-node-editor")
        self.add_button.on_click(lambda _: self.add(self.palette.value) if self.palette.value
                                 else None)
        self.connect_ok.on_click(lambda _: self._connect_chosen())
        self.undo_button.on_click(lambda _: self.undo())
        self.redo_button.on_click(lambda _: self.redo())
        self.png_button.on_click(lambda _: self.png())
        self.filter.observe(lambda _: self._fill_palette(), "value")
        W.link((self.connect_button, "value"), (self, "connecting"))
        self.connect_row = W.HBox([self.pairs, self.connect_ok])
        self.connect_row.layout.display = "none"
        #: The edge clicked last, (source, target), offered for deletion.
        self.edge: tuple[str, str] | None = None
        self.edge_label = W.Label("")
        delete_edge = W.Button(description="Delete edge", icon="cut", layout=button)
        delete_edge.on_click(lambda _: self.delete_edge(*self.edge) if self.edge else None)
        self.edge_row = W.HBox([self.edge_label, delete_edge])
        self.edge_row.add_class("cdw-edge-editor")
        self.edge_row.layout.display = "none"
        self.observe(self._on_connecting, "connecting")
        super().__init__([
            self.filter, self.palette,
            W.HBox([self.add_button, self.connect_button, self.undo_button, self.redo_button,
                    self.png_button, self.yaml_link], layout=W.Layout(flex_flow="row wrap")),
            self.connect_row, self.edge_row, self.message, self.node_panel], **kwargs)
        self.add_class("cdw-editor")
        self._fill_palette()
        self.refresh()
        widget.observe(self._selected_changed, "selected")
        widget.pane.helper.on_msg(self._page_message)
        widget.pane.helper.observe(lambda _: self._refresh_yaml(), "positions")

    # ---- edits (each through the Graph API) ------------------------------------------------

    def _edit(self, change: Any) -> bool:
        """Run ``change()`` after a snapshot for undo; show a refusal instead of raising."""
        self.undo_stack.record(self.graph)
        try:
            change()
        except ContainerDagError as exc:  # a refused edit; a bug is raised
            self.undo_stack.revert(self.graph)
            self.say(str(exc), error=True)
            return False
        self.edits += 1
        self._history_buttons()
        return True

    def add(self, process: str, name: str | None = None) -> str:
        """Add a node of ``process`` with its example inputs; return its (unique) name."""
        registry = self._registry()
        name = name or unique_name(self.graph, process)
        if self._edit(lambda: self.graph.add(name, process, example_inputs(registry, process))):
            self.say(f"added {name!r}")
            self.widget.select(name, center=False)  # the new layout shows it already
        return name

    def connect(self, up: str, output: str, down: str, port: str) -> bool:
        """Feed input ``port`` of ``down`` from ``output`` of ``up`` (replacing what it had);
        refused, with validation's message, when the types or the graph do not allow it."""
        problems = connection_problems(self.graph, self._registry(), up, output, down, port)
        if problems:
            self.say("\n".join(p.message for p in problems), error=True)
            return False
        done = self._edit(lambda: self.graph.set_input(down, port, Ref(up, output)))
        if done:
            self.say(f"{up}.{output} -> {down}.{port}")
        return done

    def disconnect(self, down: str, port: str) -> None:
        """Give input ``port`` of ``down`` its example value back (its edge goes)."""
        self._edit(lambda: self._to_examples([(down, port)]))

    def delete_edge(self, up: str, down: str) -> None:
        """Remove every reference of ``down`` to ``up`` (the drawn edge between them)."""
        if self._edit(lambda: self._to_examples(self._readers(up, only=down))):
            self.edge = None
            self.edge_row.layout.display = "none"

    def set_value(self, name: str, port: str, value: Any) -> bool:
        """Set a literal input, refused (with validation's message) if its type does not fit."""
        current = self.graph[name].inputs.get(port)
        if current == value and type(current) is type(value):
            return True
        example = self._registry().get(self.graph[name].process).inputs.get(port)
        process = self.graph[name].process
        if port in self.graph[name].scatter and isinstance(value, list):
            # A scattered input: a list, each element of the port's type.
            problem = next((p for v in value
                            if (p := type_problem(name, process, port, example, v)) is not None),
                           None)
        elif port in self.graph[name].scatter:
            problem = type_problem(name, process, port, [], value)  # "expected array"
        else:
            problem = type_problem(name, process, port, example, value)
        if problem is not None:
            self.say(problem.message, error=True)
            return False
        return self._edit(lambda: self.graph.set_input(name, port, value))

    def set_scatter(self, name: str, ports: list[str], method: str = "dotproduct") -> bool:
        """Make node ``name`` scatter over ``ports`` (a call per element of their lists)."""
        return self._edit(lambda: self.graph.set_scatter(name, ports, method))

    def rename(self, old: str, new: str) -> bool:
        """Rename a node; references to it follow."""
        if self._edit(lambda: self.graph.rename(old, new)):
            self.widget.select(new, center=False)
            return True
        return False

    def delete(self, name: str) -> None:
        """Delete node ``name``; inputs that read from it get their example values back."""
        def change() -> None:
            self._to_examples(self._readers(name))
            self.graph.remove(name)
        if self._edit(change):
            self.say(f"deleted {name!r}")
            if self.widget.selected == name:
                self.widget.selected = ""

    def _readers(self, up: str, *, only: str | None = None) -> list[tuple[str, str]]:
        """(node, input) pairs that read an output of ``up`` (in node ``only``, if given)."""
        return [(name, port) for name, node in self.graph.nodes.items()
                if only is None or name == only
                for port, value in node.inputs.items()
                if isinstance(value, Ref) and value.node == up]

    def _to_examples(self, inputs: list[tuple[str, str]]) -> None:
        """Set each (node, input) to its process's example value."""
        registry = self._registry()
        for name, port in inputs:
            example = registry.get(self.graph[name].process).inputs.get(port)
            self.graph.set_input(name, port, example)

    def undo(self) -> bool:
        """Undo the last edit made here."""
        done = self.undo_stack.undo(self.graph)
        self._history_buttons()
        if done:
            self.edits += 1
            self.say("undone")
        return done

    def redo(self) -> bool:
        """Make the last undone edit again (until a new edit: then there is nothing to redo).
        Refused when the graph was edited elsewhere since the undo (redo would lose that)."""
        could = self.undo_stack.redoable
        done = self.undo_stack.redo(self.graph)
        self._history_buttons()
        if done:
            self.edits += 1
            self.say("redone")
        elif could:
            self.say("nothing to redo: the graph was edited since the undo", error=True)
        return done

    def _history_buttons(self) -> None:
        self.undo_button.disabled = not len(self.undo_stack)
        self.redo_button.disabled = not self.undo_stack.redoable

    def png(self) -> None:
        """Ask the page for a PNG of the canvas: it offers the file and sends it here."""
        self.widget.pane.helper.command("png", filename="graph.png")

    # ---- the page ---------------------------------------------------------------------------

    def _page_message(self, _helper: Any, content: dict, _buffers: Any) -> None:
        # (The Delete key's ``delete-node`` is the GraphWidget's.)
        if content.get("event") == "png" and isinstance(content.get("data"), str):
            self.png_bytes = base64.b64decode(content["data"].split(",", 1)[-1])

    def node_clicked(self, name: str) -> None:
        """A node clicked on the canvas: in connect mode, the source and then the target."""
        self.edge = None
        self.edge_row.layout.display = "none"
        if not self.connecting or name not in self.graph:
            return
        if not self.source or self.target:
            self.source, self.target = name, ""
            self.connect_row.layout.display = "none"
            self.say(f"connect from {name!r}: now click the node it feeds")
        elif name != self.source:
            self.target = name
            self._offer_pairs()

    def edge_clicked(self, source: str, target: str) -> None:
        """An edge clicked on the canvas: offer to delete it."""
        if source in self.graph and target in self.graph:
            self.edge = (source, target)
            self.edge_label.value = f"{source} → {target}"
            self.edge_row.layout.display = ""

    def _on_connecting(self, change: dict) -> None:
        self.source = self.target = ""
        self.connect_row.layout.display = "none"
        if change["new"]:
            self.say("click the node whose output to use, then the node it feeds")

    def _selected_changed(self, _change: dict) -> None:
        self._refresh_node()

    def _offer_pairs(self) -> None:
        registry, up, down = self._registry(), self.source, self.target
        pairs = connect_choices(self.graph, registry, up, down)
        self.pairs.options = [(f"{out} -> {port}", (out, port)) for out, port in pairs]
        self.connect_ok.disabled = not pairs
        self.connect_row.layout.display = "" if pairs else "none"
        if pairs:
            self.say(f"{up!r} -> {down!r}: choose which output feeds which input")
            return
        outputs = registry.get(self.graph[up].process).outputs
        inputs = registry.get(self.graph[down].process).inputs
        why = [p.message for out in outputs for port in inputs
               for p in connection_problems(self.graph, registry, up, out, down, port)][:3]
        self.say(f"no output of {up!r} fits an input of {down!r}:\n" + "\n".join(why),
                 error=True)

    def _connect_chosen(self) -> None:
        if self.pairs.value is None:
            return
        output, port = self.pairs.value
        if self.connect(self.source, output, self.target, port):
            self.connect_row.layout.display = "none"
            self.source = self.target = ""
            self.connecting = False

    # ---- drawing the panel -----------------------------------------------------------------

    def say(self, text: str, *, error: bool = False) -> None:
        """Show a line (or a refusal) above the node editor (``said`` keeps it as text)."""
        self.said = text
        self.message.value = pre(text, "cdw-error") if error else f"<i>{esc(text)}</i>"

    def _registry(self) -> Any:
        registry = self.widget.registry
        if registry is None:
            raise ContainerDagError("no registry: pass one to GraphWidget to edit the graph")
        return registry

    def _fill_palette(self) -> None:
        registry = self.widget.registry
        needle = self.filter.value.strip().lower()
        options = []
        for source, procs in ({} if registry is None else registry.by_source()).items():
            where = "python" if source == "python" else source.rsplit("/", 1)[-1]
            options += [(f"{p.name}  ({where})", p.name) for p in procs
                        if not needle or needle in p.name.lower() or needle in source.lower()]
        self.palette.options = options

    def refresh(self) -> None:
        """The YAML and the node panel after the graph changed. The widget calls it when it
        redraws, so a burst of edits (a loop in code) costs one refresh, not one per edit."""
        self._refresh_yaml()
        self._refresh_node()

    def _refresh_yaml(self) -> None:
        """The YAML link: the graph and where its nodes stand (``GraphWidget.to_yaml``), so a
        downloaded file draws them there again. Also after a layout or a drag in the page."""
        self.yaml_text = self.widget.to_yaml() if len(self.graph) else ""
        data = base64.b64encode(self.yaml_text.encode()).decode()
        self.yaml_link.value = (f'<a class="cdw-yaml-link" download="graph.yaml" '
                                f'title="Download the graph as YAML" '
                                f'style="color: var(--jp-content-link-color, #1976d2); '
                                f'text-decoration: underline; padding: 0 6px" '
                                f'href="data:text/yaml;base64,{data}">YAML</a>')

    def _refresh_node(self) -> None:
        name = self.widget.selected
        node = self.graph.nodes.get(name)
        shape = None if node is None else (
            name, node.process, node.scatter, node.scatter_method,
            tuple((p, str(v) if isinstance(v, Ref) else json_type(v))
                  for p, v in node.inputs.items()))
        if shape is not None and shape == self._shape:
            self._update_values(node.inputs)  # same editors: no lost focus or typing
            return
        old, self._shape, self._editors = self.node_panel.children, shape, {}
        self.node_panel.children = ()
        for row in old:
            close_tree(row)
        if node is None:
            return
        registry = self.widget.registry
        examples = registry.get(node.process).inputs if registry and node.process in registry \
            else {}
        new_name = W.Text(value=name, continuous_update=False,
                          layout=W.Layout(flex="1 1 auto", width="auto", min_width="80px"))
        new_name.add_class("cdw-rename")
        fixed = W.Layout(width="auto", flex="0 0 auto")  # the name box shrinks, not these
        rename = W.Button(description="Rename", layout=fixed)
        rename.on_click(lambda _: self.rename(name, new_name.value.strip()))
        delete = W.Button(description="Delete", icon="trash", button_style="danger",
                          layout=fixed, tooltip=f"Delete node {name!r}")
        delete.on_click(lambda _: self.delete(name))
        rows = [W.HBox([new_name, rename, delete])]
        for port, value in node.inputs.items():
            example = [] if port in node.scatter else examples.get(port, value)
            rows.append(self._input_row(name, port, value, example))
        rows.append(self._scatter_row(name, node))
        self.node_panel.children = rows

    def _scatter_row(self, name: str, node: Any) -> W.Widget:
        """Which inputs the node scatters over, and how their lists pair up."""
        ports = W.SelectMultiple(options=list(node.inputs), value=list(node.scatter), rows=3,
                                 layout=W.Layout(width="40%"))
        method = W.Dropdown(options=["dotproduct", "flat_crossproduct"],
                            value=node.scatter_method, layout=W.Layout(width="auto"))

        def changed(_change: dict) -> None:
            if not self._updating:
                self.set_scatter(name, list(ports.value), method.value)
        ports.observe(changed, "value")
        method.observe(changed, "value")
        row = W.HBox([W.Label("scatter over", layout=W.Layout(width="30%")), ports, method])
        row.add_class("cdw-scatter-editor")
        return row

    def _input_row(self, name: str, port: str, value: Any, example: Any) -> W.Widget:
        label = W.Label(port, layout=W.Layout(width="30%"))
        if isinstance(value, Ref):
            unlink = W.Button(description="disconnect", icon="unlink",
                              layout=W.Layout(width="auto"))
            unlink.on_click(lambda _: self.disconnect(name, port))
            row = W.HBox([label, W.Label(f"\u2190 {value}"), unlink])
        else:
            editor = self._editors[port] = _value_editor(json_type(example), value)

            def changed(change: dict) -> None:
                if self._updating:
                    return
                new = change["new"]
                if isinstance(editor, W.Textarea):
                    try:
                        new = json.loads(new)
                    except ValueError as exc:
                        self.say(f"node {name!r}: input {port!r} is not JSON: {exc} "
                                 f"(got {change['new']!r:.60})", error=True)
                        return
                self.set_value(name, port, new)
            editor.observe(changed, "value")
            row = W.HBox([label, editor])
        row.add_class(port_class(port))
        return row

    def _update_values(self, inputs: dict[str, Any]) -> None:
        self._updating = True
        try:
            for port, editor in self._editors.items():
                value = inputs.get(port)
                shown = json.dumps(value) if isinstance(editor, W.Textarea) else value
                if editor.value != shown:
                    editor.value = shown
        finally:
            self._updating = False


def _value_editor(kind: str, value: Any) -> W.Widget:
    """An editor fitting the example's JSON type: number, integer, boolean, text or JSON."""
    layout = W.Layout(width="65%")
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return W.FloatText(value=float(value), layout=layout)
    if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return W.IntText(value=value, layout=layout)
    if kind == "boolean" and isinstance(value, bool):
        return W.Checkbox(value=value, indent=False, layout=layout)
    if kind == "string" and isinstance(value, str):
        return W.Text(value=value, continuous_update=False, layout=layout)
    return W.Textarea(value=json.dumps(value), continuous_update=False, rows=1, layout=layout)
