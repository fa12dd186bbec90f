"""Events from container nodes: live logs while a node runs; bad options start nothing."""

import pytest

from containerdag_widgets import Graph, NodeFinished, NodeLog, NodeStarted, OptionError
from containerdag_widgets.docker import leftovers

from ..test_options import BAD_OPTIONS


def test_node_log_events_arrive_while_the_node_runs(registry):
    graph = Graph.from_spec({"ticks": {"process": "log_ticks",
                                       "inputs": {"seconds": 2.0, "interval": 0.2}}})
    events = []
    result = graph.run(registry, listeners=[events.append])
    assert result.status == {"ticks": "done"}
    logs = [e for e in events if isinstance(e, NodeLog)]
    started = next(e for e in events if isinstance(e, NodeStarted))
    finished = next(e for e in events if isinstance(e, NodeFinished))
    # Lines are written every 0.2 s for 2 s: most arrive well before the node ends.
    early = [e for e in logs if e.time < finished.time - 0.5]
    assert len(early) >= 4, [round(e.time - started.time, 2) for e in logs]
    assert all(started.time <= e.time <= finished.time for e in logs)
    # Batched: at most about ten a second.
    assert len(logs) <= 10 * (finished.time - started.time) + 2
    # Nothing lost, nothing doubled: the chunks add up to the final log.
    assert "".join(e.text for e in logs) == result.logs["ticks"] == finished.log
    assert result.logs["ticks"].count("tick ") == result.outputs["ticks"]["n"] >= 8


@pytest.mark.parametrize(("options", "option"), BAD_OPTIONS)
def test_a_bad_option_starts_no_container(registry, docker_client, options, option):
    graph = Graph.from_spec({"a": {"process": "python_add", "inputs": {"x": 1.0, "y": 2.0}}})
    before = leftovers(docker_client, registry.session)  # discovery's own warm containers
    with pytest.raises(OptionError) as info:
        graph.run(registry, **options)
    assert info.value.option == option
    assert leftovers(docker_client, registry.session) == before  # nothing new started
