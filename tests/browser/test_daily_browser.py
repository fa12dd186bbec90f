"""Issue 24, daily use in JupyterLab: the kernel-side features of tests/widgets/
test_graph_widget_daily.py driven from the page as a user would (clicks, typing in the
editor): Re-run failed after a fix, Auto mode, validation marks, the OutputTable's errors and
the segmented progress bar."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.nb import (
    CY,
    PY_SETUP,
    inner_text,
    notebook,
    toolkit_console_problems,
    wait_drawn,
    wait_statuses,
)

pytestmark = pytest.mark.browser

#: The one image the re-run test uses (c_divide, c_multiply).
IMAGES = ["containerdag/multiply_divide:latest"]
DOCKER_SETUP = f"""\
import json
from containerdag_widgets import Graph, GraphWidget, OutputTable, process
from containerdag_widgets.standard import standard_registry
reg = standard_registry({IMAGES!r})
print("SESSION=" + reg.session)
"""


# ---- helpers: the editor, as a user uses it --------------------------------------------------

def open_editor(lab) -> None:
    """Open the 'Edit the graph' section (a click on its title) unless open."""
    header = lab.page.locator(".cdw-edit-box .jupyter-widget-Collapse-header").filter(
        has_text="Edit the graph").first
    if not lab.evaluate("() => !!document.querySelector("
                        "'.cdw-edit-box .jupyter-widget-Collapse-open')"):
        header.click()
    lab.wait_for_selector(".cdw-edit-box .cdw-editor")


def select_in_editor(lab, node: str) -> None:
    """Click the node on the canvas; wait until the editor shows its panel."""
    lab.click_cy_node(node)
    lab.wait_for_js("(n) => document.querySelector('.cdw-editor .cdw-rename input')?.value"
                    " === n", node, timeout=20_000)


def type_value(lab, port: str, text: str) -> None:
    """Type ``text`` into input ``port``'s box of the selected node (select all, type, Tab:
    the box sends its value when it loses focus)."""
    box = lab.page.locator(f".cdw-editor .cdw-port-{port} input, "
                           f".cdw-editor .cdw-port-{port} textarea").first
    box.click()
    box.press("Control+a")
    box.press_sequentially(text, delay=20)
    box.press("Tab")


def progress(lab) -> str:
    return inner_text(lab, ".cdw-graph-widget .cdw-progress").strip()


def bar_segments(lab) -> dict[str, int]:
    """status -> count of the progress bar's segments."""
    return dict(lab.evaluate("""() => [...document.querySelectorAll(
        '.cdw-graph-widget .cdw-bar .cdw-bar-seg')].map(s => [s.dataset.status,
        Number(s.dataset.count)])"""))


def table_row(lab, node: str) -> str:
    return inner_text(lab, f'.cdw-output-table tr[data-node="{node}"]')


# ---- 1 and 4: Re-run failed after a fix; the OutputTable's errors, the segmented bar ---------

RERUN = """\
@process(outputs={"z": 1.0}, name="broken", cache=False)
def broken(a: float = 1.0):
    '''Always fails.'''
    raise RuntimeError("always fails, whatever its input")

reg.add(broken)
g = Graph.from_spec({
    "ratio": {"process": "c_divide", "inputs": {"a": 3.0, "b": 0.0}},
    "doubled": {"process": "c_multiply", "inputs": {"a": ("ratio", "z"), "b": 2.0}},
    "bad": {"process": "broken", "inputs": {"a": 1.0}},
})
w = GraphWidget(g, reg)
display(w)
OutputTable(w)
"""
CHECK = ('print("CHECK=" + json.dumps({"status": w.status, "result": w.result.status, '
         '"doubled": w.outputs.get("doubled"), "b": g.nodes["ratio"].inputs["b"]}))')


def test_rerun_failed_after_a_fix_typed_in_the_editor(lab, docker_client):
    """Images: containerdag/multiply_divide (c_divide, c_multiply)."""
    with notebook(lab, docker_client, "daily-rerun.ipynb", [RERUN], [CHECK],
                  setup=DOCKER_SETUP) as nb:
        nb.start()
        wait_drawn(lab, ["ratio", "doubled", "bad"])
        lab.click_button("Run")
        wait_statuses(lab, {"ratio": "failed", "doubled": "skipped", "bad": "failed"},
                      timeout=90_000)
        lab.wait_for_text("2 failed, 1 skipped of 3", selector=".cdw-progress")

        # 4. The OutputTable says why each row has no outputs; the bar has a segment a status.
        lab.wait_for_selector('.cdw-output-table tr[data-node="bad"] .cdw-error')
        errors = {n: inner_text(lab, f'.cdw-output-table tr[data-node="{n}"] .cdw-error')
                  for n in ("ratio", "doubled", "bad")}
        assert "always fails, whatever its input" in errors["bad"], errors
        assert "upstream node 'ratio' failed" in errors["doubled"], errors
        assert errors["ratio"].strip(), errors
        assert bar_segments(lab) == {"failed": 2, "skipped": 1}
        widths = lab.evaluate("""() => [...document.querySelectorAll(
            '.cdw-graph-widget .cdw-bar .cdw-bar-seg')].map(s => Math.round(100
            * s.getBoundingClientRect().width / s.parentElement.getBoundingClientRect().width))""")
        assert widths == [67, 33], widths  # as wide as their shares
        lab.page.mouse.move(0, 0)
        lab.screenshot("daily-rerun-failed-run.png", selector=".cdw-graph-widget")
        lab.screenshot("daily-rerun-output-table.png", selector=".cdw-output-table")

        # 1. Fix ratio.b in the editor, as a user would, then Re-run failed.
        open_editor(lab)
        select_in_editor(lab, "ratio")
        type_value(lab, "b", "2")
        wait_statuses(lab, {"ratio": "pending"})  # the edit is drawn: its result is gone
        lab.click_button("Re-run failed")
        wait_statuses(lab, {"ratio": "done", "doubled": "done", "bad": "failed"},
                      timeout=90_000)
        lab.wait_for_text("2 done, 1 failed of 3", selector=".cdw-progress")
        assert progress(lab) == "2 done, 1 failed of 3"
        assert bar_segments(lab) == {"done": 2, "failed": 1}
        lab.wait_for_js("""() => { const r = document.querySelector(
            '.cdw-output-table tr[data-node="doubled"]');
            return r && !r.querySelector('.cdw-error') && r.innerText.includes('3.0'); }""")
        assert "always fails" in table_row(lab, "bad")
        check = json.loads(re.search(r"CHECK=(.*)", nb.run(0)).group(1))
        assert check["b"] == 2.0 and check["doubled"] == {"z": 3.0}, check
        assert check["status"] == {"ratio": "done", "doubled": "done", "bad": "failed"}, check
        assert check["result"] == check["status"], check  # the re-run ran these three
        lab.page.mouse.move(0, 0)
        lab.screenshot("daily-rerun-fixed.png", selector=".cdw-graph-widget")
    assert toolkit_console_problems(lab.console) == []


# ---- 2. Auto mode ----------------------------------------------------------------------------

AUTO = """\
g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 1.0}},
                     "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 10.0}}})
w = GraphWidget(g, reg, auto_delay=0.2)
display(w)
OutputTable(w)
"""
RUNS = """\
runs = []
w.observe(lambda c: runs.append(c["new"]) if c["new"] else None, "running")
"""
REPORT = ('w.settle(10)\nprint("REPORT=" + json.dumps({"runs": len(runs), "auto": w.auto, '
          '"status": w.status, "b": w.outputs.get("b")}))')


def report(nb, index: int) -> dict:
    return json.loads(re.search(r"REPORT=(.*)", nb.run(index)).group(1))


def test_auto_runs_after_an_edit_in_the_editor_and_not_once_off(lab):
    """No images: in-process steps."""
    with notebook(lab, None, "daily-auto.ipynb", [AUTO, RUNS], [REPORT, REPORT],
                  setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, ["a", "b"])
        for label in ("Re-run failed", "Auto", "Fit"):  # each button has its own layout
            assert lab.page.locator("button.jupyter-button").filter(
                has_text=re.compile(rf"^\s*{label}\s*$")).first.is_visible(), label
        auto = lab.page.locator(".cdw-graph-widget button.cdw-auto").first
        auto.click()  # turned on: runs what a run would not reuse (everything, here)
        lab.wait_for_js("() => document.querySelector('.cdw-graph-widget button.cdw-auto')"
                        ".classList.contains('mod-active')")
        wait_statuses(lab, {"a": "done", "b": "done"})
        lab.wait_for_text("12.0", selector='.cdw-output-table tr[data-node="b"]')

        open_editor(lab)
        select_in_editor(lab, "a")
        type_value(lab, "x", "5")  # no click on Run: it runs by itself
        lab.wait_for_text("16.0", selector='.cdw-output-table tr[data-node="b"]',
                          timeout=30_000)
        wait_statuses(lab, {"a": "done", "b": "done"})
        lab.wait_for_text("2/2 done", selector=".cdw-progress")
        first = report(nb, 0)
        assert first["auto"] is True and first["b"] == {"z": 16.0}, first
        assert first["runs"] == 2, first  # turned on, then the edit

        auto.click()  # off: an edit is drawn anew, and nothing runs
        lab.wait_for_js("() => !document.querySelector('.cdw-graph-widget button.cdw-auto')"
                        ".classList.contains('mod-active')")
        type_value(lab, "x", "7")
        # Drawn anew: the edited node's result is gone, its reader's is stale (not run).
        wait_statuses(lab, {"a": "pending", "b": "done"})
        lab.wait_for_node_classes("stale", ["b"])
        lab.page.wait_for_timeout(1500)  # many times auto_delay: what would run, would have
        wait_statuses(lab, {"a": "pending", "b": "done"})
        assert "18.0" not in table_row(lab, "b") and "16.0" in table_row(lab, "b")
        second = report(nb, 1)
        assert second["auto"] is False and second["runs"] == 2, second
        assert second["status"] == {"a": "pending", "b": "done"}, second
        lab.page.mouse.move(0, 0)
        lab.screenshot("daily-auto-off.png", selector=".cdw-graph-widget")
    assert toolkit_console_problems(lab.console) == []


# ---- 3. Validation marks ---------------------------------------------------------------------

INVALID = """\
g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": "two"}},
                     "b": {"process": "add", "inputs": {"x": ("a", "z"), "y": 1.0}}})
w = GraphWidget(g, reg)
display(w)
OutputTable(w)
"""
BORDER = f"""(id) => {{
    const n = {CY}(0).getElementById(id);
    return [n.hasClass('invalid'), n.style('border-style'), n.style('border-color'),
            n.style('border-width')];
}}"""


def test_a_bad_value_marks_its_node_until_fixed_in_the_editor(lab):
    """No images: in-process steps."""
    with notebook(lab, None, "daily-invalid.ipynb", [INVALID], setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, ["a", "b"])
        lab.wait_for_node_classes("invalid", ["a"])
        assert lab.evaluate(BORDER, "a") == [True, "double", "rgb(198,40,40)", "4px"]
        assert lab.evaluate(BORDER, "b")[0] is False

        lab.click_cy_node("a")
        body = '.cdw-inspector-body[data-node="a"]'
        lab.wait_for_text("problems (fix them to run)", selector=body)
        assert "'y'" in inner_text(lab, body)
        lab.click_button("Run")
        lab.wait_for_text("graph has 1 problem", selector=".cdw-message")
        assert lab.page.locator('.cdw-message [data-kind="validation"]').count() == 1
        lab.page.mouse.move(0, 0)
        lab.screenshot("daily-invalid.png", selector=".cdw-graph-widget")

        open_editor(lab)
        select_in_editor(lab, "a")
        type_value(lab, "y", "2")
        lab.wait_for_js(f"() => !{CY}(0).getElementById('a').hasClass('invalid')",
                        timeout=20_000)
        assert lab.evaluate(BORDER, "a")[1:] != ["double", "rgb(198,40,40)", "4px"]
        lab.wait_for_js("() => !(document.querySelector('.cdw-message')?.innerText || '')"
                        ".includes('problem')")
        lab.wait_for_js("(sel) => !document.querySelector(sel)?.innerText"
                        ".includes('problems')", body)
        lab.click_button("Run")
        wait_statuses(lab, {"a": "done", "b": "done"})
        lab.wait_for_text("4.0", selector='.cdw-output-table tr[data-node="b"]')
    assert toolkit_console_problems(lab.console) == []
