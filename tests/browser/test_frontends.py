"""The three example notebooks in Notebook 7 and in Voila (same server as the Lab tests): the
widgets render, Run works, and the page logs no error of the toolkit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser.nb import toolkit_console_problems

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ["01_quickstart", "02_cell_magics", "03_widgets_and_traitlets"]

OPEN_PANEL = """(path) => {
    const app = window.jupyterapp;
    const w = app && app.shell && app.shell.currentWidget;
    if (!w || !w.context || w.context.path !== path || !w.sessionContext) return false;
    const k = w.sessionContext.session && w.sessionContext.session.kernel;
    if (!w.context.isReady || !k || k.status !== 'idle') return false;
    window.__cdagPanel = w;
    return true;
}"""
RUN_DONE = """() => [...document.querySelectorAll('.cdw-graph-widget .cdw-progress')]
    .some(e => / done|failed|skipped/.test(e.innerText) && !/^0\\//.test(e.innerText))"""


@pytest.fixture(scope="module")
def notebooks_served(lab_server):
    for name in NAMES:
        shutil.copyfile(NOTEBOOKS / f"{name}.ipynb", lab_server.root_dir / f"{name}.ipynb")
    return lab_server


def click_first_run(lab) -> None:
    """Press Run on the first graph widget whose Run button is enabled; wait for its end.

    A notebook draws only the cells near the view (windowing): scroll down until one shows.
    """
    find = """() => [...document.querySelectorAll('.cdw-graph-widget button')]
        .some(b => b.innerText.trim() === 'Run' && !b.disabled)"""
    cells = lab.page.evaluate("() => window.__cdagPanel?.content.widgets.length ?? 0")
    for i in range(cells):
        if lab.page.evaluate(find):
            break
        lab.page.evaluate("(i) => window.__cdagPanel.content.scrollToItem(i, 'start')", i)
        lab.page.wait_for_timeout(100)
    lab.page.evaluate("""() => {
        const b = [...document.querySelectorAll('.cdw-graph-widget button')]
            .find(b => b.innerText.trim() === 'Run' && !b.disabled);
        b.scrollIntoView({block: 'center'});
        window.__cdwRun = b.closest('.cdw-graph-widget');
        // Run is disabled while the run goes on: seen however short the run (no polling).
        window.__cdwBusy = false;
        new MutationObserver(() => { if (b.disabled) window.__cdwBusy = true; })
            .observe(b, {attributes: true, attributeFilter: ['disabled']});
        b.click();
    }""")
    # (A notebook may hide the cell while it scrolls: its button then reads as no text.)
    lab.wait_for_js("""() => { const w = window.__cdwRun;
        const t = w.querySelector('.cdw-progress').innerText;
        return window.__cdwBusy
            && [...w.querySelectorAll('button')].find(b => b.innerText.trim() === 'Run')
                ?.disabled === false && /(\\d+)\\/\\1 done|of \\d+/.test(t) && t; }""",
                    timeout=60_000)


@pytest.mark.parametrize("name", NAMES)
def test_notebook7(lab, notebooks_served, name):
    server = notebooks_served
    lab.page.goto(f"{server.url}/notebooks/{name}.ipynb?token={server.token}",
                  wait_until="domcontentloaded")
    lab.page.wait_for_function(OPEN_PANEL, arg=f"{name}.ipynb", timeout=60_000, polling=100)
    lab.run_all(timeout=180_000)
    lab.wait_for_cy(min_nodes=1)
    click_first_run(lab)
    lab.screenshot(f"notebook7-{name}.png", full_page=False)
    problems = toolkit_console_problems(lab.console)
    assert problems == [], problems


@pytest.mark.parametrize("name", NAMES)
def test_voila(lab, notebooks_served, name):
    server = notebooks_served
    lab.page.goto(f"{server.url}/voila/render/{name}.ipynb?token={server.token}",
                  wait_until="domcontentloaded", timeout=180_000)
    lab.wait_for_selector(".cdw-graph-widget", timeout=180_000)
    lab.wait_for_cy(min_nodes=1, timeout=60_000)
    click_first_run(lab)
    lab.screenshot(f"voila-{name}.png", full_page=False)
    problems = toolkit_console_problems(lab.console)
    assert problems == [], problems
