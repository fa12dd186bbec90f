"""Scatter on the real engine: a container process over many inputs, each element its own
call in the warm container, cached on its own (execs counted by the engine's events)."""

from __future__ import annotations

import pytest

from containerdag_widgets import Graph

from .test_cache_docker import ExecCounter

pytestmark = pytest.mark.docker


@pytest.fixture(autouse=True)
def _one_exec_per_call(monkeypatch):
    """Calls take the exec path, so the engine's exec events count them."""
    monkeypatch.setenv("CONTAINERDAG_RUNNER", "0")


def test_a_container_process_over_a_list_runs_and_caches_each_element(registry,
                                                                        docker_client):
    execs = ExecCounter(docker_client, registry.session)
    graph = Graph.from_spec({
        "div": {"process": "c_divide", "inputs": {"a": [2.0, 9.0, 5.0], "b": 2.0},
                "scatter": ["a"]},
        "add": {"process": "python_add", "inputs": {"x": ("div", "z"), "y": 1.0},
                "scatter": ["x"]},
    })
    first = graph.run(registry)
    assert first.status == {"div": "done", "add": "done"}
    assert first.outputs == {"div": {"z": [1.0, 4.5, 2.5]}, "add": {"z": [2.0, 5.5, 3.5]}}
    assert execs.count() == 6
    assert graph.run(registry).status == {"div": "cached", "add": "cached"}
    assert execs.count() == 0
    graph.set_input("div", "a", [2.0, 9.0, 5.0, 8.0])  # one more sample: one call each
    more = graph.run(registry)
    assert more.outputs["add"] == {"z": [2.0, 5.5, 3.5, 5.0]}
    assert more.reasons["div"] == "1 of 4 ran: new 8.0; 3 reused"
    assert execs.count() == 2


def test_a_failed_container_element_keeps_the_others(registry):
    graph = Graph.from_spec({"div": {"process": "c_divide", "inputs": {"a": 1.0,
                                                                       "b": [2.0, 0.0, 4.0]},
                                     "scatter": ["b"]}})
    result = graph.run(registry)
    assert result.status["div"] == "failed"
    assert result.outputs["div"] == {"z": [0.5, None, 0.25]}
    assert set(result.errors["div"].failed) == {1}
    assert result.elements["div"][1]["status"] == "failed"
