"""The resident runner against the exec path: same bytes, a kill reaches one call, fallbacks
are said.

Every call is made through both transports of the pool: the runner in the warm container
(the default) and one Engine API exec per call (``CONTAINERDAG_RUNNER=0``, and the fallback).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time

import docker.errors
import docker.models.containers
import pytest

from containerdag_widgets import Cancelled, Graph, Registry
from containerdag_widgets.docker import exec as exec_module
from containerdag_widgets.docker.runner import RunnerUnavailable

from ..conftest import EXAMPLE_IMAGES, TESTKIT

IMAGES = [*EXAMPLE_IMAGES, TESTKIT]
NASTY = "it's \"quoted\" $(touch /tmp/pwned) `id` ${HOME} \\n\n;| & \u00e9\u2603"

#: (process, stdin, keyword arguments of the call): every outcome must be the same bytes.
CASES = [
    ("python_add", b"", {}),
    ("python_add", b'{"x": 2.34, "y": 10.78}', {}),
    ("python_add", b'{"x": 1, "y": "a"}', {}),
    ("python_subtract", b'{"x": 5.0, "y": 7.5}', {}),
    ("python_subtract", b"not json", {}),
    ("c_multiply", b"", {}),
    ("c_multiply", b'{"a": 89.987, "b": 10.0}', {}),
    ("c_divide", b'{"a": 10, "b": 4}', {}),
    ("c_divide", b'{"a": 1.0, "b": 0.0}', {}),
    ("c_divide", b'{"a": "x"}', {}),
    ("not_json", b'{"x": 1.0}', {}),
    ("missing_output", b'{"x": 1.0}', {}),
    ("exit_nonzero", b'{"x": 1.0}', {}),
    ("bad_description", b"", {}),
    ("echo", b"", {}),
    ("echo", json.dumps({"text": NASTY}).encode(), {}),
    ("stderr_log", b'{"x": 1.5}', {}),
    ("stderr_log", b'{"x": 1.5}', {"max_log": 10}),
    ("ignores_stdin", b'{"x": 1.0}', {}),
    ("ignores_stdin", b'{"x": 1.0, "pad": "' + b"y" * (4 * 2**20) + b'"}', {}),
    ("echo", b'{"text": "' + b"z" * (3 * 2**20) + b'"}', {}),
    ("sandbox_probe", b'{"address": "192.0.2.1"}', {}),
    ("kill_self", b'{"x": 1.0}', {}),
]


def _registry(monkeypatch, runner: bool) -> Registry:
    monkeypatch.setenv("CONTAINERDAG_RUNNER", "1" if runner else "0")
    return Registry.from_docker(images=IMAGES)


@pytest.fixture
def both(monkeypatch, docker_client):
    """A registry whose calls go through the runner, and one whose calls are execs."""
    fast, plain = _registry(monkeypatch, True), _registry(monkeypatch, False)
    yield fast, plain
    for reg in (fast, plain):
        reg.close()


def _outcome(reg: Registry, name: str, stdin: bytes, **kw):
    """Call ``name`` by its pool, as ``ContainerProcess`` does; (outcome, pool)."""
    if name in reg:
        proc = reg.get(name)
        image_id, image, command = proc.image_id, proc.image, proc.command
    else:  # bad_description: declared, but its description failed
        echo = reg.get("echo")
        image_id, image, command = echo.image_id, echo.image, ["python3", "/app/testkit.py", name]
    pool = reg.sources[0].pool
    outcome = pool.exec(image_id, image, command, stdin, process=name,
                        timeout=kw.pop("timeout", 60), **kw)
    return outcome, pool


def _fields(outcome) -> tuple:
    return (outcome.exit_code, outcome.stdout, outcome.stderr, outcome.killed,
            getattr(outcome, "note", ""))


def test_both_paths_give_the_same_bytes(both):
    fast, plain = both
    for name, stdin, kw in CASES:
        through_runner, pool = _outcome(fast, name, stdin, **kw)
        by_exec, _ = _outcome(plain, name, stdin, **kw)
        assert _fields(through_runner) == _fields(by_exec), name
    assert len(pool.runners._sessions) == 3  # every image's calls went through its runner
    assert [str(p) for p in fast.problems] == [str(p) for p in plain.problems]
    assert not _runner_problems(fast)


def _container(reg: Registry, name: str):
    return reg.sources[0].pool._containers[reg.get(name).image_id]


def test_limits_and_kills_end_calls_the_same_way(both):
    fast, plain = both
    for reg in both:
        huge, _ = _outcome(reg, "huge_output", b'{"x": 1.0}')
        assert (huge.killed, huge.stdout[:6]) == ("output", b'{"z": ')
        assert len(huge.stdout) > 8 * 2**20
        noisy, _ = _outcome(reg, "stderr_log", b'{"x": 1.0}', max_stderr=5)
        assert noisy.killed == "stderr"
        stuck, _ = _outcome(reg, "never_returns", b'{"x": 1.0}', timeout=0.5)
        assert stuck.killed == "timeout"
        assert "never_returns" not in _processes(_container(reg, "never_returns"))
    assert _outcome(fast, "never_returns", b'{"x": 1.0}', timeout=0.5)[0].kill_method == \
        "runner"


def test_stderr_streams_live_through_the_runner(registry):
    chunks = []
    # 5 ticks 0.4 s apart: on a loaded machine two close ticks may be read as one chunk.
    outcome, _ = _outcome(registry, "log_ticks", b'{"seconds": 2.0, "interval": 0.4}',
                          on_log=chunks.append)
    assert outcome.exit_code == 0
    assert len(chunks) >= 2  # one chunk per tick: the log came while the process ran
    assert "".join(chunks) == outcome.stderr.decode()


def _processes(container) -> str:
    return " ".join(" ".join(row) for row in container.top()["Processes"])


def test_cancel_kills_only_its_call_without_a_host_pid(registry, monkeypatch):
    # As on a remote engine: no host PID can be reached. The runner kills inside.
    monkeypatch.setattr(exec_module, "_pid_in_container", lambda pid, container_id: False)
    proc = registry.get("slow")
    registry.get("echo").run({"text": "warm"})
    before = _container(registry, "slow").id
    stop = threading.Event()
    results: dict[str, object] = {}

    def call(key, inputs, cancel=None):
        try:
            results[key] = proc.execute(inputs, cancel=cancel).outputs
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            results[key] = exc

    threads = [threading.Thread(target=call, args=("stopped", {"seconds": 60.0, "tag": "x"},
                                                   stop)),
               # The sibling's 10 s cover the cancel and the look at it (it must still run).
               threading.Thread(target=call, args=("sibling", {"seconds": 10.0, "tag": "s"}))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60  # a bound for a stuck start, never reached
    while _processes(_container(registry, "slow")).count("testkit.py slow") < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stop.set()
    threads[0].join(60)
    assert isinstance(results["stopped"], Cancelled)
    assert "testkit.py slow" in _processes(_container(registry, "slow"))  # the sibling runs
    threads[1].join(60)
    assert results["sibling"]["tag"] == "s"
    assert _container(registry, "slow").id == before  # no container was killed
    assert "testkit.py slow" not in _processes(_container(registry, "slow"))


def test_exec_path_still_kills_the_container_and_reruns_siblings(monkeypatch, docker_client):
    # The fallback path keeps today's behaviour when no PID is reachable.
    monkeypatch.setattr(exec_module, "_pid_in_container", lambda pid, container_id: False)
    with _registry(monkeypatch, False) as reg:
        graph = Graph.from_spec({
            "stopped": {"process": "slow", "inputs": {"seconds": 30.0, "tag": "a"},
                        "timeout": 2},
            "sibling": {"process": "slow", "inputs": {"seconds": 4.0, "tag": "b"}},
        })
        result = graph.run(reg, max_workers=2)
    assert result.status == {"stopped": "failed", "sibling": "done"}
    assert "timed out after 2 s" in str(result.errors["stopped"])


def test_a_runner_killed_under_a_call_is_restarted_and_the_call_runs_again(registry):
    proc = registry.get("slow")
    proc.run({"seconds": 0.0, "tag": "warm"})
    container = _container(registry, "slow")
    results = {}
    # 5 s: the call still runs when the runner is killed under it (after the test saw it).
    t = threading.Thread(target=lambda: results.update(
        out=proc.run({"seconds": 5.0, "tag": "again"})))
    t.start()
    deadline = time.monotonic() + 60  # a bound for a stuck start, never reached
    while "testkit.py slow" not in _processes(container):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    runner_pid = next(int(row[1]) for row in container.top()["Processes"]
                      if row[-1].startswith("/containerdag/runner"))
    os.kill(runner_pid, signal.SIGKILL)
    t.join(60)
    assert results["out"]["tag"] == "again"
    assert _container(registry, "slow").id == container.id
    assert registry.get("echo").run({"text": "x"})["text"] == "x"


def _runner_problems(reg: Registry) -> list[RunnerUnavailable]:
    return [p for p in reg.problems if isinstance(p, RunnerUnavailable)]


def test_no_runner_image_falls_back_to_exec_and_says_so_once(registry, caplog):
    registry.sources[0].pool.runners.image = "containerdag/no-such-runner:latest"
    with caplog.at_level(logging.WARNING, logger="containerdag_widgets"):
        for _ in range(2):
            assert registry.get("python_add").run({"x": 1.0, "y": 2.0}) == {"z": 3.0}
            assert registry.get("c_multiply").run({"a": 2.0, "b": 3.0}) == {"z": 6.0}
    (problem,) = _runner_problems(registry)
    assert "containerdag/no-such-runner:latest" in str(problem)
    assert "one Engine API exec each" in str(problem)
    said = [r for r in caplog.records if "no-such-runner" in r.getMessage()]
    assert len(said) == 1


def test_a_runner_that_cannot_start_in_an_image_falls_back_for_that_image(registry):
    registry.sources[0].pool.runners.path = "/containerdag/not-there"
    assert registry.get("echo").run({"text": NASTY})["text"] == NASTY
    assert registry.get("echo").run({"text": "twice"})["text"] == "twice"
    (problem,) = _runner_problems(registry)
    assert problem.image == TESTKIT
    assert "did not start" in str(problem) and "one Engine API exec each" in str(problem)


def test_a_runner_that_never_answers_falls_back_after_its_start_timeout(registry):
    runners = registry.sources[0].pool.runners
    runners.path, runners.start_timeout = "/bin/cat", 0.5  # runs, reads stdin, never says hello
    assert registry.get("echo").run({"text": "slow"})["text"] == "slow"
    (problem,) = _runner_problems(registry)
    assert problem.image == TESTKIT
    assert "did not answer within 0.5 s" in str(problem)
    container = _container(registry, "echo")
    deadline = time.monotonic() + 30
    while any(row[-1] == "/bin/cat" for row in container.top()["Processes"]):  # stdin closed
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_an_engine_refusing_the_volume_falls_back(registry, monkeypatch):
    real = docker.models.containers.ContainerCollection.create

    def no_volumes(self, *args, **kw):
        if kw.get("mounts"):
            raise docker.errors.APIError("volumes are not supported here")
        return real(self, *args, **kw)

    monkeypatch.setattr(docker.models.containers.ContainerCollection, "create", no_volumes)
    assert registry.get("c_divide").run({"a": 1.0, "b": 4.0}) == {"z": 0.25}
    (problem,) = _runner_problems(registry)
    assert problem.image == EXAMPLE_IMAGES[1]
    assert "refused to mount the runner's volume" in str(problem)


def test_the_runner_off_means_one_exec_per_call(monkeypatch, docker_client):
    with _registry(monkeypatch, False) as reg:
        assert reg.get("python_add").run({"x": 1.0, "y": 1.0}) == {"z": 2.0}
        pool = reg.sources[0].pool
        assert pool.runners.fallback_reason(reg.get("python_add").image_id)
        assert pool.options["runner"] is False
        assert _runner_problems(reg) == []  # turned off on purpose: not a problem


def test_sixteen_workers_find_a_connection_each(monkeypatch, docker_client, caplog):
    spec = {f"n{i}": {"process": "echo", "inputs": {"text": f"t{i}"}} for i in range(48)}
    for runner in (False, True):
        with _registry(monkeypatch, runner) as reg, \
                caplog.at_level(logging.WARNING, logger="urllib3"):
            result = Graph.from_spec(spec).run(reg, max_workers=16, cache=False)
        assert set(result.status.values()) == {"done"}
    assert [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()] == []
