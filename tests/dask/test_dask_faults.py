"""Stop, timeouts, dying workers and unreachable schedulers on a Dask cluster."""

from __future__ import annotations

import os
import signal
import socket
import time

import docker.errors
import pytest

from containerdag_widgets import (
    ClusterUnavailable,
    Graph,
    NodeLog,
    NodeStarted,
    ProcessTimeout,
    Registry,
    WorkerLost,
)
from containerdag_widgets.docker import cleanup, leftovers
from containerdag_widgets.docker.pool import LABEL_HOST, LABEL_PID, LABEL_SESSION
from containerdag_widgets.executors import DaskExecutor

from ..engine_scope import scoped_client
from ..processes import add
from .conftest import distributed, new_cluster, worker_containers


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    """Poll ``predicate`` until it gives something true; generous, for a loaded machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def running_commands(docker_client, container_id: str) -> list[str]:
    """The command lines of the processes in a container, from the engine (none: it stopped
    or went since it was listed)."""
    try:
        top = docker_client.api.top(container_id, ps_args="-eo pid,args")
    except docker.errors.NotFound:
        return []
    except docker.errors.APIError as exc:
        if exc.status_code == 409:  # "is not running"
            return []
        raise
    return [" ".join(row[1:]) for row in top.get("Processes") or []]


def test_stop_mid_run_kills_every_exec_and_close_removes_the_containers(
        registry, executor, client, docker_client):
    graph = Graph.from_spec({f"t{i}": {"process": "log_ticks",
                                       "inputs": {"seconds": 60.0, "interval": 0.2}}
                             for i in range(6)})
    logged: set[str] = set()
    handle = graph.start(registry, executor=executor, max_workers=6,
                         listeners=[lambda e: isinstance(e, NodeLog) and logged.add(e.node)])
    wait_for(lambda: len(logged) >= executor.slots, what="4 nodes running on the workers")
    began = time.monotonic()
    handle.cancel()
    result = handle.wait(50)
    assert time.monotonic() - began < 50  # the nodes' 60 s were not waited for
    assert set(result.status.values()) == {"cancelled"}, result.table()
    # The nodes that ran say where; the 2 still waiting in Dask never started anywhere.
    assert set(result.workers) == logged and len(logged) == 4
    # No exec keeps running: the workers' warm containers hold only their keep-alive.
    containers = worker_containers(docker_client, client.scheduler_info()["workers"])
    assert containers
    for c in containers:
        commands = running_commands(docker_client, c["Id"])
        assert not [cmd for cmd in commands if "testkit" in cmd], commands
    executor.close()
    assert worker_containers(docker_client, client.scheduler_info()["workers"]) == []


def test_a_node_timeout_kills_its_exec_on_the_worker(registry, executor):
    graph = Graph.from_spec({
        "stuck": {"process": "never_returns", "inputs": {"x": 1.0}, "timeout": 1.0},
        "fine": {"process": "python_add", "inputs": {"x": 1.0, "y": 2.0}},
    })
    result = graph.run(registry, executor=executor)
    assert result.status == {"stuck": "failed", "fine": "done"}
    assert isinstance(result.errors["stuck"], ProcessTimeout)
    assert result.workers["stuck"] != "local"


# ---- dying workers (their own cluster: one thread per worker, so one node per worker) ------


@pytest.fixture(scope="module")
def fragile():
    with new_cluster(threads_per_worker=1) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield client


def kill_worker_running(client, prefix: str) -> str:
    """SIGKILL the worker process running the task whose key starts with ``prefix``."""
    def find():
        for address, keys in client.processing().items():
            if any(str(k).startswith(prefix) for k in keys):
                return address
        return None

    address = wait_for(find, what=f"a worker processing {prefix}")
    pid = client.run(os.getpid, workers=[address])[address]
    os.kill(pid, signal.SIGKILL)
    return address


def branchy_graph(victim_seconds: float) -> Graph:
    return Graph.from_spec({
        "victim": {"process": "log_ticks",
                   "inputs": {"seconds": victim_seconds, "interval": 0.2}},
        "after victim": {"process": "python_add", "inputs": {"x": ("victim", "n"), "y": 1.0}},
        "q": {"process": "python_add", "inputs": {"x": 1.0, "y": 2.0}},
        "slow": {"process": "slow", "inputs": {"seconds": 2.0, "tag": "s"}},
        "after q": {"process": "python_add", "inputs": {"x": ("q", "z"), "y": 1.0}},
    })


def test_a_worker_killed_mid_node_fails_only_its_node(fragile, registry, docker_client):
    fragile.wait_for_workers(2, timeout=60)
    events = []
    with DaskExecutor(fragile) as executor:
        handle = branchy_graph(120.0).start(registry, executor=executor, max_workers=2,
                                            listeners=[events.append])
        wait_for(lambda: any(isinstance(e, NodeLog) and e.node == "victim" for e in events),
                 what="the victim's first log line")
        dead = kill_worker_running(fragile, "victim-")
        killed = time.monotonic()
        result = handle.wait(100)
        assert time.monotonic() - killed < 100  # the victim's 120 s were not waited for
    assert result.status == {"victim": "failed", "after victim": "skipped", "q": "done",
                             "slow": "done", "after q": "done"}, result.table()
    error = result.errors["victim"]
    assert isinstance(error, WorkerLost) and error.worker == dead
    assert f"Dask worker {dead} died while running the node" in str(error)
    assert result.workers["victim"] == dead
    # The surviving worker removed the containers the dead one left on the engine, and the
    # rerun that Dask had started elsewhere was cancelled: no exec of the victim goes on.
    wait_for(lambda: worker_containers(docker_client, dead) == [], 60,
             "the dead worker's containers to be removed")
    wait_for(lambda: not [cmd for c in worker_containers(
                              docker_client, {dead, *fragile.scheduler_info()["workers"]})
                          for cmd in running_commands(docker_client, c["Id"])
                          if "log_ticks" in cmd], 60, "no log_ticks exec left")


def test_with_retries_a_node_whose_worker_died_runs_again_elsewhere(fragile, registry):
    fragile.wait_for_workers(2, timeout=60)
    events = []
    with DaskExecutor(fragile, retries=1) as executor:
        handle = branchy_graph(3.0).start(registry, executor=executor, max_workers=2,
                                          listeners=[events.append])
        wait_for(lambda: any(isinstance(e, NodeLog) and e.node == "victim" for e in events),
                 what="the victim's first log line")
        dead = kill_worker_running(fragile, "victim-")
        result = handle.wait(60)
    assert result.ok, result.table()
    assert result.workers["victim"] != dead
    retry_logs = [e.text for e in events if isinstance(e, NodeLog) and "retry 1 of 1" in e.text]
    assert len(retry_logs) == 1 and dead in retry_logs[0]


def test_cleanup_finds_what_a_dead_worker_left(fragile, registry, docker_client):
    fragile.wait_for_workers(2, timeout=60)
    address = sorted(fragile.scheduler_info()["workers"])[0]
    pid = fragile.run(os.getpid, workers=[address])[address]
    # A container process called by a plain Dask task: the worker's pool starts on first use.
    future = fragile.submit(registry.get("python_add").run, {"x": 1.0, "y": 2.0},
                            workers=[address], pure=False)
    assert future.result(timeout=60) == {"z": 3.0}
    [container] = worker_containers(docker_client, address)
    labels = container["Labels"]
    assert labels[LABEL_PID] == str(pid) and labels[LABEL_HOST] == socket.gethostname()
    os.kill(pid, signal.SIGKILL)  # no teardown: the container stays behind

    def dead_leftover():
        return [item for item in leftovers(docker_client)
                if item.id == container["Id"] and not item.owner_alive]

    wait_for(dead_leftover, what="the container to be seen as a dead owner's")
    with scoped_client(labels[LABEL_SESSION]) as scoped:  # blind to others' containers
        removed = cleanup(scoped)
    assert container["Id"] in {item.id for item in removed}
    assert worker_containers(docker_client, address) == []


def test_closing_the_cluster_removes_the_workers_containers(registry, docker_client):
    with new_cluster() as cluster, distributed.Client(cluster, set_as_default=False) as client:
        addresses = set(client.scheduler_info()["workers"])
        result = Graph.from_spec({f"a{i}": {"process": "python_add",
                                            "inputs": {"x": 1.0, "y": float(i)}}
                                  for i in range(4)}).run(registry, executor=DaskExecutor(client))
        assert result.ok and set(result.workers.values()) <= addresses
        assert worker_containers(docker_client, addresses)
    # The WorkerPlugin's teardown ran as each worker closed.
    assert worker_containers(docker_client, addresses) == []


# ---- schedulers that do not answer ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_a_specific_error_at_start():
    address = f"tcp://127.0.0.1:{free_port()}"
    began = time.monotonic()
    with pytest.raises(ClusterUnavailable) as info:
        DaskExecutor(address, connect_timeout=2)
    assert info.value.address == address and address in str(info.value)
    assert time.monotonic() - began < 25  # its 2 s were kept, not Dask's default 30 s


def test_a_lost_scheduler_fails_the_run_before_any_node_runs():
    cluster = distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0")
    client = distributed.Client(cluster, set_as_default=False)
    executor = DaskExecutor(client, connect_timeout=2)
    cluster.close()  # the scheduler goes away; the client is left behind
    events = []
    graph = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 2.0}}})
    try:
        with pytest.raises(ClusterUnavailable):
            graph.run(Registry([add]), executor=executor, listeners=[events.append])
    finally:
        client.close()
    assert not [e for e in events if isinstance(e, NodeStarted)]
