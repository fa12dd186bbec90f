"""The loop across a restart: Run All, press Run, restart the kernel, Run All again in the same
page, press Run, edit a node after the widget is shown, press Run again. The widget of the new
kernel must draw, run and redraw like the first, and show the edited node's new output."""

from __future__ import annotations

import pytest

from tests.browser.nb import PY_SETUP, notebook, toolkit_console_problems, wait_drawn, wait_statuses

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext containerdag_widgets\n%dag use reg",
    "%%node a\nprocess: add\ninputs: {x: 1.0, y: 2.0}",
    "%%node b\nprocess: add\ninputs:\n  x: {from: a, output: z}\n  y: 1.0",
    "%dag show",
]
EDIT = "%%node b\nprocess: divide\ninputs:\n  a: {from: a, output: z}\n  b: 8.0"
DONE = {"a": "done", "b": "done"}
PENDING = {"a": "pending", "b": "pending"}


def test_restart_then_run_all_then_edit_and_run_again(lab):
    with notebook(lab, None, "restart-loop.ipynb", CELLS, [EDIT], setup=PY_SETUP) as nb:
        nb.start()
        wait_drawn(lab, ["a", "b"])
        lab.click_button("Run")
        wait_statuses(lab, DONE)

        lab.evaluate("() => window.__cdagPanel.sessionContext.session.kernel.restart()")
        lab.wait_kernel_idle(60_000)
        lab.run_above(nb.split)  # Run All (up to the edit) in the new kernel, same page
        wait_drawn(lab, ["a", "b"])
        assert lab.cy_count() == 1  # the new widget replaced the old kernel's view
        wait_statuses(lab, PENDING)
        lab.click_button("Run")
        wait_statuses(lab, DONE)
        lab.wait_for_text("2/2 done", selector=".cdw-progress")

        nb.run(0)  # %%node b again, another process: the shown widget redraws it; a, not
        wait_statuses(lab, {"a": "done", "b": "pending"})  # edited, keeps its result
        lab.wait_for_text("1/2 done", selector=".cdw-progress")
        lab.click_button("Run")
        wait_statuses(lab, DONE)
        lab.click_cy_node("b")
        lab.wait_for_text("0.375", selector=".cdw-inspector")  # (1 + 2) / 8
        lab.screenshot("restart-loop.png", selector=".cdw-graph-widget")
    assert toolkit_console_problems(lab.console) == []
