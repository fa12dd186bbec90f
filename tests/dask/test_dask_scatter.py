"""Scatter on Dask: each element is a task of its own, spread over the workers, and cached
on its own as on threads."""

from __future__ import annotations

from containerdag_widgets import Graph

from .test_dask_runs import workers_of


def test_the_elements_of_a_scattered_container_node_spread_over_the_workers(registry, executor,
                                                                           client):
    graph = Graph.from_spec({"s": {"process": "slow",
                                   "inputs": {"seconds": 0.5,
                                              "tag": [f"e{i}" for i in range(8)]},
                                   "scatter": ["tag"]}})
    result = graph.run(registry, executor=executor, max_workers=executor.slots)
    assert result.status["s"] == "done", result.table()
    assert result.outputs["s"]["tag"] == [f"e{i}" for i in range(8)]
    assert {e["worker"] for e in result.elements["s"]} == workers_of(client)
    again = graph.run(registry, executor=executor, max_workers=executor.slots)
    assert again.status["s"] == "cached"
