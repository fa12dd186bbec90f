"""What a node's call and its end look like on the wire (no cluster, no engine needed)."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import pytest

from containerdag_widgets.docker import ContainerPool, ContainerProcess
from containerdag_widgets.docker.worker import WorkerPoolRef
from containerdag_widgets.executors.dask_worker import pack_finished, unpack_finished
from containerdag_widgets.model import errors
from containerdag_widgets.run.events import NodeFinished


def container_process() -> ContainerProcess:
    pool = ContainerPool(None, "s1")  # type: ignore[arg-type] - never called here
    proc = ContainerProcess(name="python_add", description="x + y", inputs={"x": 1.0},
                            outputs={"z": 1.0}, image="containerdag/add_subtract:latest",
                            image_id="sha256:" + "a" * 64, command=["python3", "/app/add.py"],
                            pool=pool, max_output=1234)
    proc.version = "7"
    return proc


def test_a_container_process_travels_without_its_pool():
    proc = container_process()
    again = pickle.loads(pickle.dumps(proc))
    assert type(again) is ContainerProcess
    # The pool stays behind; what it is made from (container settings) travels.
    assert isinstance(again.pool, WorkerPoolRef) and again.pool.options == proc.pool.options
    for attr in ("name", "description", "inputs", "outputs", "image", "image_id", "command",
                 "max_output", "source", "cacheable", "version"):
        assert getattr(again, attr) == getattr(proc, attr), attr
    # Copies in this process keep the registry's pool.
    assert copy.copy(proc).pool is proc.pool
    deep = copy.deepcopy(proc)
    assert deep.pool is proc.pool and deep.inputs == proc.inputs
    assert deep.inputs is not proc.inputs


def test_an_unpickled_process_called_outside_a_worker_says_so():
    again = pickle.loads(pickle.dumps(container_process()))
    with pytest.raises(errors.EngineUnavailable, match="outside a Dask worker"):
        again.run({"x": 1.0})


ERRORS = [
    errors.ProcessFailed("exited with code 3", process="p", exit_code=3, log="boom"),
    errors.ProtocolError("not JSON", process="p", output="{x"),
    errors.OutputTooLarge("too much", process="p", stream="stderr"),
    errors.ProcessTimeout("timed out", process="p", timeout=1.5),
    errors.Cancelled("cancelled", process="p"),
    errors.ImageNotFound("no image", process="p", image="i:latest"),
    errors.EngineUnavailable("no engine"),
    errors.WorkerLost("died", process="p", worker="tcp://1.2.3.4:5"),
    errors.InputError([errors.Problem("missing_input", "n", "missing input 'x'", field="x")],
                      process="p"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_a_node_end_and_its_error_survive_the_trip(error):
    error.node = "n"
    finished = NodeFinished("n", "failed", 1.0, None, error, "log", 2.0, started=1.0,
                            worker="tcp://1.2.3.4:5")
    back = unpack_finished(pickle.loads(pickle.dumps(pack_finished(finished))))
    assert type(back.error) is type(error)
    assert str(back.error) == str(error) and vars(back.error) == vars(error)
    assert back == NodeFinished("n", "failed", 1.0, None, back.error, "log", 2.0, started=1.0,
                                worker="tcp://1.2.3.4:5")


def test_importing_the_executors_does_not_import_dask():
    code = ("import sys, containerdag_widgets.executors as e\n"
            "assert e.ThreadExecutor\n"
            "print('distributed' in sys.modules, 'dask' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
