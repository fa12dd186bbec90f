"""The graph widget in JupyterLab with a DaskExecutor: live colours from the workers, and the
inspector naming the worker and linking the Dask dashboard."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.test_widgets_browser import inner_text, notebook, wait_statuses

pytestmark = [pytest.mark.browser, pytest.mark.dask]

CLUSTER = """\
import logging
from dask.distributed import Client, LocalCluster
from containerdag_widgets.executors import DaskExecutor
cluster = LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                       dashboard_address=":0", silence_logs=logging.ERROR)
client = Client(cluster)
executor = DaskExecutor(client)
g = Graph.from_spec({
    "ticks": {"process": "log_ticks", "inputs": {"seconds": 3.0, "interval": 0.2}},
    "add": {"process": "python_add", "inputs": {"x": ("ticks", "n"), "y": 1.0}},
})
w = GraphWidget(g, reg, executor=executor)
w
"""
REPORT = ('print("WORKERS=" + json.dumps(w.result.workers), '
          '"CLUSTER=" + json.dumps(sorted(client.scheduler_info()["workers"])))')
CLOSE_CLUSTER = "executor.close()\nclient.close()\ncluster.close()"


def test_widget_live_on_dask(lab, docker_client):
    with notebook(lab, docker_client, "dask.ipynb", [CLUSTER],
                  after=[REPORT, CLOSE_CLUSTER]) as nb:
        nb.start(timeout=120_000)
        lab.wait_for_cy(min_nodes=2)
        lab.click_button("Run")
        # Live: the page shows the node running on a worker while the other still waits.
        wait_statuses(lab, {"ticks": "running", "add": "pending"}, timeout=30_000)
        wait_statuses(lab, {"ticks": "done", "add": "done"}, timeout=60_000)
        lab.wait_for_text("2/2 done", selector=".cdw-progress")

        lab.click_cy_node("add")
        body = '.cdw-inspector .cdw-inspector-body[data-node="add"]'
        lab.wait_for_selector(f"{body} .cdw-worker")
        shown = inner_text(lab, f"{body} .cdw-worker")
        href = lab.page.locator(f"{body} .cdw-worker a").first.get_attribute("href")
        assert "Dask dashboard" in shown and href and href.endswith("/status"), (shown, href)
        lab.page.mouse.move(0, 0)
        lab.screenshot("graph-dask.png", selector=".cdw-graph-widget")

        nb.finish()
        m = re.search(r"WORKERS=(.*) CLUSTER=(.*)", nb.output(0))
        assert m, nb.output(0)
        workers, cluster = json.loads(m.group(1)), json.loads(m.group(2))
        assert set(workers) == {"ticks", "add"} and set(workers.values()) <= set(cluster)
        assert f"worker {workers['add']}" in shown
