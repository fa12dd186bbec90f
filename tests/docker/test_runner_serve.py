"""Keep-loaded servers (``process.<name>.serve``): answers, kills, crashes and fallbacks."""

from __future__ import annotations

import json
import threading
import time

import pytest

from containerdag_widgets import Cancelled, Registry
from containerdag_widgets.docker.runner import SERVE_FAILURES, RunnerUnavailable, Serve
from containerdag_widgets.docker.source import DockerSource

from ..conftest import EXAMPLE_IMAGES

#: A keep-loaded server for python_add that says who answered; ``crash`` kills it, ``sleep``
#: holds it.
SERVER = """
import json, os, sys, time
for line in sys.stdin:
    request = json.loads(line)
    given = request["inputs"]
    if given.get("crash"):
        os._exit(3)
    if given.get("sleep"):
        open("/tmp/cdw-held", "w").close()  # seen by the test: this call is held here
    time.sleep(given.get("sleep", 0))
    sys.stderr.write("serving\\n"); sys.stderr.flush()
    z = given["x"] + given["y"]
    print(json.dumps({"outputs": {"z": z, "pid": os.getpid()}, "log": "answered\\n"}),
          flush=True)
"""


@pytest.fixture
def reg(docker_client, monkeypatch):
    monkeypatch.setenv("CONTAINERDAG_RUNNER", "1")
    with Registry.from_docker(images=EXAMPLE_IMAGES) as registry:
        yield registry


def _call(reg: Registry, stdin: dict, serve: Serve | None, **kw):
    proc = reg.get("python_add")
    pool = reg.sources[0].pool
    return pool.exec(proc.image_id, proc.image, proc.command, json.dumps(stdin).encode(),
                     process="python_add", serve=serve, timeout=kw.pop("timeout", 60), **kw)


def _served(reg: Registry) -> Serve:
    return Serve(("python3", "-c", SERVER), "python_add")


#: Exit 0 once the server holds a call (it made /tmp/cdw-held).
HELD = "import os, sys; sys.exit(not os.path.exists('/tmp/cdw-held'))"


def _wait_for(predicate, what: str, timeout: float = 120) -> None:
    """Poll ``predicate`` until true; generous, for a loaded machine."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}")
        time.sleep(0.05)


def _processes(reg: Registry) -> str:
    container = reg.sources[0].pool._containers[reg.get("python_add").image_id]
    return " ".join(" ".join(row) for row in container.top()["Processes"])


def test_the_example_image_declares_one_server_for_both_processes(reg):
    add, subtract = reg.get("python_add"), reg.get("python_subtract")
    assert add.serve == Serve(("python3", "/app/serve.py"), "python_add")
    assert subtract.serve == Serve(("python3", "/app/serve.py"), "python_subtract")
    assert reg.get("c_multiply").serve is None


def test_keep_loaded_answers_the_same_bytes_as_the_one_shot_command(reg):
    serve = reg.get("python_add").serve
    for given in ({"x": 2.34, "y": 10.78}, {"x": 1, "y": 2}, {"x": 1, "y": "a"}, {"x": 1}):
        loaded = _call(reg, given, serve)
        once = _call(reg, given, None)
        assert (loaded.exit_code, loaded.stdout, loaded.stderr) == (
            once.exit_code, once.stdout, once.stderr), given
    assert reg.get("python_subtract").run({"x": 5.0, "y": 7.5}) == {"z": -2.5}
    # One server process answered every call of both processes.
    assert _processes(reg).count("/app/serve.py") == 1


def test_a_served_call_streams_its_log_and_keeps_one_server(reg):
    logs: list[str] = []
    first = _call(reg, {"x": 1, "y": 2}, _served(reg), on_log=logs.append)
    second = _call(reg, {"x": 3, "y": 4}, _served(reg))
    assert first.exit_code == 0 and second.exit_code == 0
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    assert (one["z"], two["z"]) == (3, 7)
    assert one["pid"] == two["pid"]  # the same server answered both
    assert first.stderr == b"serving\nanswered\n" and "".join(logs) == "serving\nanswered\n"


def test_a_crashed_server_falls_back_for_that_call_and_restarts(reg, caplog):
    before = json.loads(_call(reg, {"x": 1, "y": 1}, _served(reg)).stdout)["pid"]
    crashed = _call(reg, {"x": 1, "y": 1, "crash": True}, _served(reg))
    assert crashed.exit_code == 0
    assert json.loads(crashed.stdout) == {"z": 2}  # the one-shot command answered
    assert b"exited with code 3 during a call; the call ran the one-shot command" in \
        crashed.stderr
    after = json.loads(_call(reg, {"x": 1, "y": 1}, _served(reg)).stdout)["pid"]
    assert after != before  # a new server
    assert "exited with code 3" in caplog.text
    assert not [p for p in reg.problems if isinstance(p, RunnerUnavailable)]


def test_a_server_failing_again_and_again_is_given_up_and_reported(reg):
    for _ in range(SERVE_FAILURES):
        outcome = _call(reg, {"x": 1, "y": 1, "crash": True}, _served(reg))
        assert json.loads(outcome.stdout) == {"z": 2}
    outcome = _call(reg, {"x": 1, "y": 1}, _served(reg))
    assert json.loads(outcome.stdout) == {"z": 2}  # one-shot from now on: no "pid"
    (problem,) = [p for p in reg.problems if isinstance(p, RunnerUnavailable)]
    assert "no longer used" in str(problem) and problem.image == EXAMPLE_IMAGES[0]


def test_a_server_that_cannot_start_falls_back_with_a_clear_error(reg):
    missing = Serve(("/app/no-such-server",), "python_add")
    outcome = _call(reg, {"x": 2, "y": 3}, missing)
    assert json.loads(outcome.stdout) == {"z": 5}
    assert b"cannot run /app/no-such-server" in outcome.stderr
    assert b"exited with code 127 during a call" in outcome.stderr


def test_cancel_kills_only_its_served_call(reg):
    stop = threading.Event()
    results: dict[str, object] = {}

    def call(key, given, cancel=None):
        results[key] = _call(reg, given, _served(reg), cancel=cancel)

    warm = json.loads(_call(reg, {"x": 0, "y": 0}, _served(reg)).stdout)["pid"]
    held = threading.Thread(target=call, args=("held", {"x": 1, "y": 1, "sleep": 60}, stop))
    held.start()
    container = reg.sources[0].pool._containers[reg.get("python_add").image_id]
    _wait_for(lambda: container.exec_run(["python3", "-c", HELD]).exit_code == 0,
              "the held call to reach the server")
    runner = reg.sources[0].pool.runners._sessions[container.id]
    queued = threading.Thread(target=call, args=("queued", {"x": 2, "y": 2}))
    queued.start()
    _wait_for(lambda: len(runner._calls) == 2, "the second call to be sent to the runner")
    stop.set()
    held.join(60)
    queued.join(60)
    assert results["held"].killed == "cancelled"
    answer = json.loads(results["queued"].stdout)
    assert answer["z"] == 4 and answer["pid"] != warm  # answered by a fresh server


def test_a_served_call_times_out_and_is_cancelled_like_any_call(reg):
    stuck = _call(reg, {"x": 1, "y": 1, "sleep": 30}, _served(reg), timeout=0.5)
    assert stuck.killed == "timeout" and stuck.kill_method == "runner"
    proc = reg.get("python_add")
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled, match="cancelled in image"):
        proc.execute({"x": 1.0, "y": 1.0}, cancel=stop)
    assert proc.run({"x": 1.0, "y": 1.0}) == {"z": 2.0}


def test_bad_serve_labels_are_reported_and_the_process_runs_one_shot(reg):
    source: DockerSource = reg.sources[0]
    declared = {"a": "python3 /a.py", "a.serve": "'unclosed", "b.serve": "python3 /b.py",
                "c": "python3 /c.py", "c.serve": ""}
    commands = {k: v for k, v in declared.items() if not k.endswith(".serve")}
    found = source._serves("some/image:latest", declared, commands)
    assert found == {}
    said = sorted(str(p) for p in source.problems if "serve" in str(p))
    assert len(said) == 3
    assert any("has no label process.b" in s for s in said)
    assert any("cannot be split" in s for s in said)
    assert any("is empty" in s for s in said)


def test_without_the_runner_a_served_process_runs_one_shot(monkeypatch, docker_client):
    monkeypatch.setenv("CONTAINERDAG_RUNNER", "0")
    with Registry.from_docker(images=EXAMPLE_IMAGES[:1]) as registry:
        assert registry.get("python_add").run({"x": 1.0, "y": 2.5}) == {"z": 3.5}
        container = registry.sources[0].pool._containers[registry.get("python_add").image_id]
        assert "/app/serve.py" not in " ".join(" ".join(r) for r in container.top()["Processes"])
