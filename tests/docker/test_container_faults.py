"""A warm container killed under a call, by us or by someone else."""

import threading
import time

from containerdag_widgets import Graph, ProcessFailed, Registry
from containerdag_widgets.docker import exec as exec_module
from containerdag_widgets.docker import leftovers

from ..conftest import TESTKIT


def test_a_container_killed_mid_call_is_named_and_replaced(registry, docker_client):
    graph = Graph.from_spec({"s": {"process": "slow", "inputs": {"seconds": 20.0, "tag": "x"}}})
    handle = graph.start(registry)
    deadline = time.monotonic() + 60  # a bound for a stuck start, never reached
    while time.monotonic() < deadline:
        found = docker_client.containers.list(
            filters={"label": f"containerdag.session={registry.session}"})
        tops = [c for c in found if "testkit" in c.name]
        if tops and any("slow" in " ".join(p) for p in tops[0].top()["Processes"]):
            break
        time.sleep(0.1)
    else:
        handle.cancel()
        raise AssertionError("the slow call never ran in its container")
    tops[0].kill()
    result = handle.wait(60)
    error = result.errors["s"]
    assert isinstance(error, ProcessFailed)
    assert "its warm container was killed" in str(error)
    assert "the next call starts a fresh one" in str(error)
    again = Graph.from_spec({"e": {"process": "echo", "inputs": {"text": "hi"}}}).run(registry)
    assert again.status == {"e": "done"}


def test_killing_the_container_to_stop_one_call_reruns_its_siblings(docker_client, monkeypatch):
    # As on a remote engine: the exec's host PID cannot be reached, so a timeout kills the
    # whole container. The other call in that container must run again, not fail. The exec
    # path (the resident runner stops a call without killing the container).
    monkeypatch.setenv("CONTAINERDAG_RUNNER", "0")
    monkeypatch.setattr(exec_module, "_pid_in_container", lambda pid, container_id: False)
    graph = Graph.from_spec({
        "stopped": {"process": "slow", "inputs": {"seconds": 30.0, "tag": "a"}, "timeout": 2},
        "sibling": {"process": "slow", "inputs": {"seconds": 8.0, "tag": "b"}},
    })
    since = time.time()
    with Registry.from_docker(images=[TESTKIT]) as registry:  # made after the variable is set
        result = graph.run(registry, max_workers=2)
    assert result.status == {"stopped": "failed", "sibling": "done"}
    assert "timed out after 2 s" in str(result.errors["stopped"])
    assert result.outputs["sibling"]["tag"] == "b"
    died = list(docker_client.events(  # the container really was killed under the sibling
        since=since, until=time.time() + 0.5, decode=True,
        filters={"type": "container", "event": "die",
                 "label": f"containerdag.session={registry.session}"}))
    assert len(died) >= 1, "no container of the run died: nothing was killed"
    assert leftovers(docker_client, registry.session) == []
    assert threading.active_count() < 50


def test_stopping_an_exec_that_has_ended_never_kills_its_container(docker_client, monkeypatch):
    # Also as on a remote engine (host PIDs out of reach): an exec that ran and ended has
    # nothing to stop, whether or not the engine has recorded its exit code yet.
    container = docker_client.containers.run("containerdag/testkit:latest",
                                             ["sleep", "infinity"], detach=True, remove=True)
    try:
        api = docker_client.api
        for remote in (False, True):
            if remote:
                monkeypatch.setattr(exec_module, "_pid_in_container", lambda pid, cid: False)
            for _ in range(10):
                exec_id = api.exec_create(container.id, ["true"])["Id"]
                api.exec_start(exec_id)
                assert exec_module._kill(api, exec_id, container.id) == "pid"
            container.reload()
            assert container.status == "running"
    finally:
        container.kill()
