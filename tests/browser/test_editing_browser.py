"""Issue 13: the seed graph built from an empty widget by clicks in the page only, run, then
renamed, deleted and exported, with the kernel's graph (``%dag spec``) following every edit."""

from __future__ import annotations

import base64
import json
import re

import pytest

from containerdag_widgets import Graph
from tests.browser.nb import SETUP, notebook, toolkit_console_problems, wait_drawn
from tests.seed import SEED_GRAPH

pytestmark = [pytest.mark.browser, pytest.mark.docker]

CELLS = ["%load_ext containerdag_widgets\n%dag use reg", "w = %dag show\nw"]
AFTER = [
    # 0: what the page built, against the seed spec, and the run's outputs
    """\
g = %dag graph
seed = Graph.from_spec(SEED)
out, res = {}, w.result
o = {n: res.outputs.get(n, {}) for n in g}
out["spec_equal"] = norm(g) == norm(seed)
out["relations"] = (
    abs(o["node a"]["z"] - (o["node alpha"]["choice"] + 16.5)) < 1e-9
    and abs(o["node b"]["z"] - (o["node a"]["z"] + o["node beta"]["n"])) < 1e-9
    and abs(o["node c"]["z"] - o["node a"]["z"] / o["node b"]["z"]) < 1e-6)
again = seed.run(reg, cache=False).outputs
out["seed_relations"] = abs(again["node a"]["z"] - (again["node alpha"]["choice"] + 16.5)) < 1e-9
out["status"] = set(res.status.values()) <= {"done", "cached"}
print("CHECK=" + json.dumps(out))""",
    "%dag spec --yaml",  # 1: after the rename
    "%dag spec --yaml",  # 2: after the delete
    # 3: the exported YAML loads back into an equal graph
    "g = %dag graph\nprint('ROUNDTRIP=' + str(Graph.from_yaml(w.editor.yaml_text) == g))",
    # 4: the PNG the page sent back
    "print('PNG=' + repr(w.editor.png_bytes[:8]) + ' ' + str(len(w.editor.png_bytes)))",
]
SETUP_SEED = f"SEED = {SEED_GRAPH!r}\n"
#: The seed names processes by their aliases (process.python_add): compare without them.
NORM = """
def norm(graph):
    return {n: {**v, "process": v["process"].removeprefix("process.")}
            for n, v in graph.to_spec().items()}
"""


def norm(graph: Graph) -> dict:
    return {n: {**v, "process": v["process"].removeprefix("process.")}
            for n, v in graph.to_spec().items()}


def editor(lab, selector: str):
    return lab.page.locator(f".cdw-editor {selector}").first


def add_node(lab, process: str, name: str, values: dict[str, str]) -> None:
    """Filter the palette, select, Add, rename the new node, type its literal inputs."""
    editor(lab, "input[placeholder='filter processes']").fill(process)
    lab.page.wait_for_function(
        """(p) => { const s = document.querySelector('.cdw-editor .cdw-palette select');
                    return s && s.options.length
                        && s.options[0].text.replace(/\u00a0/g, ' ').startsWith(p); }""",
        arg=process, timeout=20_000)
    editor(lab, ".cdw-palette select").select_option(index=0)
    lab.click_button("Add")
    rename = editor(lab, ".cdw-rename input")
    lab.page.wait_for_function(
        "(p) => { const i = document.querySelector('.cdw-editor .cdw-rename input');"
        " return i && i.value.startsWith(p); }", arg=process, timeout=20_000)
    rename.fill(name)
    lab.evaluate("() => { window.__cdwPanel = document.querySelector("
                 "'.cdw-editor .cdw-rename input'); }")
    lab.click_button("Rename")
    # The panel of the renamed node is a new one (the old input shows the typed name too).
    lab.wait_for_js("(n) => { const i = document.querySelector('.cdw-editor .cdw-rename input');"
                    " return i && i !== window.__cdwPanel && i.value === n; }", name,
                    timeout=20_000)
    for port, text in values.items():
        box = editor(lab, f".cdw-port-{port} input, .cdw-editor .cdw-port-{port} textarea")
        box.fill(text)
        box.press("Tab")
        lab.wait_for_js(f"""(t) => {{ const b = document.querySelector(
            '.cdw-editor .cdw-port-{port} input, .cdw-editor .cdw-port-{port} textarea');
            return b && JSON.stringify(JSON.parse(b.value)) === JSON.stringify(JSON.parse(t));
            }}""", text, timeout=20_000)


def connect(lab, up: str, down: str, pair: str) -> None:
    """Connect mode, click the two nodes, choose the pair, confirm."""
    lab.click_button("Fit")
    lab.click_button("Connect")
    lab.click_cy_node(up)
    lab.click_cy_node(down)
    pairs = editor(lab, ".cdw-connect-pairs select")
    pairs.wait_for(state="visible", timeout=20_000)
    pairs.select_option(label=pair)
    lab.click_button("Connect these")
    lab.wait_for_text(f"{up}.{pair.split(' -> ')[0]} -> {down}.{pair.split(' -> ')[1]}",
                      selector=".cdw-edit-message", timeout=20_000)


def test_build_the_seed_graph_by_clicks_run_rename_delete_export(lab, docker_client):
    with notebook(lab, docker_client, "editing.ipynb", CELLS, AFTER,
                  setup=SETUP + SETUP_SEED + NORM) as nb:
        nb.start()
        lab.wait_for_selector(".cdw-editor")
        add_node(lab, "random choice", "node alpha", {"choices": "[1.2, 5.4, 6.7]"})
        add_node(lab, "random float", "node beta", {"min": "-5", "max": "5"})
        add_node(lab, "python_add", "node a", {"y": "16.5"})
        add_node(lab, "python_add", "node b", {})
        add_node(lab, "c_divide", "node c", {})
        connect(lab, "node alpha", "node a", "choice -> x")
        connect(lab, "node a", "node b", "z -> x")
        connect(lab, "node beta", "node b", "n -> y")
        connect(lab, "node a", "node c", "z -> a")
        connect(lab, "node b", "node c", "z -> b")
        wait_drawn(lab, list(SEED_GRAPH))

        # An invalid connection: its reason shows in the page, and nothing changes.
        lab.click_button("Connect")
        lab.click_cy_node("node c")
        lab.click_cy_node("node alpha")
        lab.wait_for_text("no output of 'node c' fits an input of 'node alpha'",
                          selector=".cdw-edit-message", timeout=20_000)
        lab.wait_for_text("is array, but node c.z is number", selector=".cdw-edit-message")
        lab.click_button("Connect")  # leave connect mode
        lab.screenshot("issue13-built.png", selector=".cdw-graph-widget")

        lab.click_button("Run")
        lab.wait_for_text("5/5 done", selector=".cdw-progress", timeout=60_000)
        check = json.loads(re.search(r"CHECK=(.*)", nb.run(0)).group(1))
        assert check == {"spec_equal": True, "relations": True, "seed_relations": True,
                         "status": True}, check

        lab.click_cy_node("node c")
        lab.wait_for_js("() => document.querySelector('.cdw-editor .cdw-rename input')?.value"
                        " === 'node c'", timeout=20_000)  # the panel of node c, not the last
        editor(lab, ".cdw-rename input").fill("node c2")
        lab.click_button("Rename")
        wait_drawn(lab, [*list(SEED_GRAPH)[:4], "node c2"])
        spec = nb.run(1)
        assert "node c2:" in spec and "node c:" not in spec

        lab.click_cy_node("node c2")  # the canvas is active: the Delete key deletes the node
        lab.page.keyboard.press("Delete")
        wait_drawn(lab, list(SEED_GRAPH)[:4])
        assert "node c2" not in nb.run(2)

        href = editor(lab, "a.cdw-yaml-link").get_attribute("href")
        text = base64.b64decode(href.split(",", 1)[1]).decode()
        assert norm(Graph.from_yaml(text)) == norm(Graph.from_spec(
            {k: v for k, v in SEED_GRAPH.items() if k != "node c"}))
        assert "ROUNDTRIP=True" in nb.run(3)
        lab.screenshot("issue13-edited.png", selector=".cdw-graph-widget")
        with lab.page.expect_download() as download:
            lab.click_button("PNG")
        assert download.value.suggested_filename == "graph.png"
        png = nb.run(4)  # (the page sent the PNG before this cell's request: same channel)
        assert "PNG=b'\\x89PNG\\r\\n\\x1a\\n'" in png, png
        nb.finished = True  # the checks above ran their cells; close the registry only
        lab.run_cell(-1)
    assert toolkit_console_problems(lab.console) == []
