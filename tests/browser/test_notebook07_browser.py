"""The example notebook 07 in JupyterLab: its gnuplot picture shows in the OutputTable and the
graph widget's inspector as an <img> with a data: URI that the browser decoded."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from containerdag_widgets.docker import leftovers
from tests.browser.nb import toolkit_console_problems
from tests.browser.test_pictures_browser import _pictures

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAME = "07_files_and_pictures.ipynb"


def _copy_without_outputs(target: Path) -> None:
    """The notebook with no stored outputs nor widget state: what shows is what this run made."""
    nb = nbformat.read(NOTEBOOKS / NAME, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, target)


def test_the_example_notebook_shows_its_picture(lab, docker_client):
    root = lab.server.root_dir
    _copy_without_outputs(root / NAME)
    shutil.copytree(NOTEBOOKS / "data", root / "data", dirs_exist_ok=True)
    lab.open(NAME)
    assert lab.page.locator(".cdw-output-table").count() == 0
    lab.run_all(timeout=180_000)
    session = re.search(r"session ([0-9a-f]{12})", lab.cell_output_text(1))
    assert session, lab.cell_output_text(1)  # cell 0 is the title

    # The smoothed CSV's first rows, the temperatures' line plot and plot_csv's PNG, 640x400
    # shown at 240 px; the only picture of the table.
    table = _pictures(lab, ".cdw-output-table")
    assert [p[0] for p in table] == ["data:image/png;base64,"], table
    assert table[0][1] > 1000 and table[0][2:] == [240, 150], table
    assert lab.page.locator(".cdw-output-table .cdw-preview-table tbody tr").count() >= 1
    assert lab.page.locator(".cdw-output-table svg.cdw-sparkline polyline").count() == 1
    # The plot node is selected: the inspector shows the picture at 480 px.
    inspector = _pictures(lab, '.cdw-inspector .cdw-inspector-body[data-node="plot"]')
    assert inspector[0][0] == "data:image/png;base64," and inspector[0][2:] == [480, 300]
    lab.page.mouse.move(0, 0)
    lab.screenshot("notebook07-inspector.png", selector=".cdw-graph-widget")
    lab.screenshot("notebook07-output-table.png", selector=".cdw-output-table")
    assert toolkit_console_problems(lab.console) == []
    assert leftovers(docker_client, session.group(1)) == []  # its last cell closes the registry
