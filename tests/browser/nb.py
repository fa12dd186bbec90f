"""Notebooks for the browser tests: set-up cells, run-then-click flow, and Cytoscape probes.

A notebook is ``setup`` + ``cells`` + ``after`` + ``close``: ``start()`` runs up to ``after``,
the test acts in the page (and may run single cells with ``lab.run_cell``), ``finish()`` runs
the rest. Afterwards no container of the registry's session may be left.
"""

from __future__ import annotations

import contextlib
import re

from containerdag_widgets.docker import leftovers

#: The images the browser tests use, named: the engine may hold other labelled images.
IMAGES = ["containerdag/add_subtract:latest", "containerdag/multiply_divide:latest",
          "containerdag/testkit:latest"]

#: A registry of the example images and the test kit (needs Docker); prints its session for
#: the leak check.
SETUP = f"""\
import json
from containerdag_widgets import Graph, GraphWidget, RegistryWidget, OutputTable, process
from containerdag_widgets.standard import standard_registry
reg = standard_registry({IMAGES!r})
print("SESSION=" + reg.session)
"""

#: An in-process registry: fast, for tests about the widget rather than the containers.
PY_SETUP = """\
import json, time
from containerdag_widgets import Graph, GraphWidget, OutputTable, Registry, process

@process(outputs={"z": 1.0}, cache=False)
def add(x: float = 1.0, y: float = 1.0):
    '''z = x + y.'''
    return {"z": x + y}

@process(outputs={"z": 1.0}, cache=False)
def divide(a: float = 1.0, b: float = 1.0):
    '''z = a / b.'''
    return {"z": a / b}

@process(outputs={"z": 1.0}, cache=False)
def nap(x: float = 1.0, seconds: float = 0.3):
    '''z = x, after a nap.'''
    time.sleep(seconds)
    return {"z": x}

reg = Registry([add, divide, nap])
print("SESSION=" + reg.session)
"""
CLOSE = "reg.close()"

# JS: the i-th Cytoscape core of the page (same lookup as lab.py).
CY = """((i) => [...document.querySelectorAll('.custom-widget')]
    .filter(el => el._cyreg && el._cyreg.cy).map(el => el._cyreg.cy)[i])"""
STATUSES = ["pending", "running", "done", "cached", "failed", "skipped", "cancelled"]


class Notebook:
    def __init__(self, lab, name: str, cells: list[str], after: list[str] = (),
                 setup: str = SETUP):
        self.lab, self.name = lab, name
        self.cells = [setup, *cells, *after, CLOSE]
        self.split = 1 + len(cells)  # index of the first cell run by finish()
        self.finished = False
        self.session = ""

    def start(self, timeout: float = 60_000, before_run=None) -> None:
        self.lab.write_notebook(self.name, self.cells)
        self.lab.open(self.name)
        if before_run is not None:
            before_run()
        self.lab.run_above(self.split, timeout=timeout)
        m = re.search(r"SESSION=(\w+)", self.lab.cell_output_text(0))
        assert m, self.lab.cell_output_text(0)
        self.session = m.group(1)

    def run(self, after_index: int, timeout: float | None = None) -> str:
        """Run the ``after_index``-th cell of ``after`` alone; return its printed output."""
        self.lab.run_cell(self.split + after_index, timeout=timeout)
        return self.output(after_index)

    def finish(self) -> None:
        self.finished = True
        self.lab.run_from(self.split)

    def output(self, after_index: int) -> str:
        """Printed output of the ``after_index``-th cell of ``after``."""
        return self.lab.cell_output_text(self.split + after_index)


@contextlib.contextmanager
def notebook(lab, docker_client, name, cells, after=(), setup=SETUP):
    # A notebook on the engine needs the test's docker_client (its marker, the leak check).
    assert docker_client is not None or "standard_registry" not in setup, name
    nb = Notebook(lab, name, cells, after, setup)
    try:
        yield nb
        if not nb.finished:
            nb.finish()
    except BaseException:
        if nb.session and not nb.finished:  # best effort: do not leak containers
            with contextlib.suppress(Exception):
                lab.run_from(-1, timeout=20_000, raise_on_error=False)
        raise
    if nb.session and docker_client is not None:
        assert leftovers(docker_client, nb.session) == []


def wait_statuses(lab, expected: dict[str, str], timeout: float = 30_000, index: int = 0):
    """Wait until each node id has exactly the status class given (and no other status)."""
    lab.wait_for_js(
        f"""([exp, statuses, i]) => {{
            const cy = {CY}(i);
            if (!cy) return false;
            return Object.entries(exp).every(([id, st]) => {{
                const n = cy.getElementById(id);
                return n.nonempty() && statuses.every(s => n.hasClass(s) === (s === st));
            }});
        }}""",
        [expected, STATUSES, index],
        timeout=timeout,
    )


def wait_drawn(lab, ids: list[str], index: int = 0, timeout: float = 30_000) -> None:
    """Wait until widget ``index`` draws exactly the nodes ``ids``, laid out (finite, distinct
    positions), and its helper has seen a layout of them."""
    lab.wait_for_js(
        f"""([ids, i]) => {{
            const cy = {CY}(i);
            if (!cy) return false;
            const have = cy.nodes().map(n => n.id()).sort();
            if (JSON.stringify(have) !== JSON.stringify([...ids].sort())) return false;
            const keys = new Set(cy.nodes().map(n => {{
                const p = n.position();
                return Number.isFinite(p.x) && Number.isFinite(p.y)
                    ? p.x.toFixed(1) + ',' + p.y.toFixed(1) : 'bad'; }}));
            return !keys.has('bad') && keys.size === ids.length;
        }}""",
        [ids, index],
        timeout=timeout,
    )


def edges(lab, index: int = 0) -> list[list[str]]:
    """``[source, target, label]`` of each edge drawn by widget ``index``, sorted."""
    return sorted(lab.evaluate(
        f"(i) => {CY}(i).edges().map(e => [e.source().id(), e.target().id(), e.data('label')])",
        index))


def node_classes(lab, index: int = 0) -> dict[str, str]:
    return {n["id"]: n["classes"] for n in lab.cy_nodes(index)}


def inner_text(lab, selector: str) -> str:
    return lab.page.locator(selector).first.inner_text()


#: What names the toolkit in an error's text or stack: ipycytoscape's bundle, Cytoscape, the
#: canvas helper (anywidget), the widgets' classes.
TOOLKIT = ("cytoscape", "anywidget", "cdw", "containerdag", "ipycytoscape")


def toolkit_console_problems(console: list[str]) -> list[str]:
    """Errors of the toolkit, and Cytoscape's warnings (deprecated or invalid styles, duplicate
    ids), leaving out the known harmless ones of the front ends (see browser-here.md) and
    errors of the front ends themselves (nothing of the toolkit in their text or stack)."""
    harmless = ("Unsatisfied version", "custom wheel sensitivity")
    return [line for line in console
            if ((line.startswith(("error", "pageerror"))
                 and any(t in line.lower() for t in TOOLKIT))
                or "deprecated" in line or "is invalid" in line or "second element" in line)
            and not any(h in line for h in harmless)]
