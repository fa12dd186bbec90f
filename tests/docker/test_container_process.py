import io
import tarfile

import pytest

from containerdag_widgets import (
    ImageNotFound,
    OutputTooLarge,
    ProcessFailed,
    ProcessTimeout,
    ProtocolError,
    Registry,
)

from ..conftest import RUN_TAG


def test_python_and_c_processes_compute(registry):
    assert registry.get("python_add").run({"x": 2.34, "y": 10.78}) == {"z": 2.34 + 10.78}
    assert registry.get("python_subtract").run({"x": 5.0, "y": 7.5}) == {"z": -2.5}
    assert registry.get("c_multiply").run({"a": 89.987, "b": 10.0}) == {"z": 89.987 * 10.0}
    assert registry.get("c_divide").run({"a": 10, "b": 4}) == {"z": 2.5}


NASTY = (
    "it's \"quoted\" $(touch /tmp/pwned) `id` ${HOME} \\n\n\nnew lines; "
    "rm -rf / | cat & \u00e9\u2603"
)


def test_input_reaches_the_process_byte_for_byte(registry, docker_client):
    out = registry.get("echo").run({"text": NASTY})
    assert out == {"text": NASTY, "nbytes": len(NASTY.encode())}
    container = registry.sources[0].pool._containers[registry.get("echo").image_id]
    # Nothing in the input was run by a shell.
    assert container.exec_run(["test", "-e", "/tmp/pwned"]).exit_code == 1


def test_stderr_is_the_log(registry):
    execution = registry.get("stderr_log").execute({"x": 1.5})
    assert execution.outputs == {"x": 1.5}
    assert execution.log == "log line 1\nlog line 2\n"


def test_not_json_is_a_protocol_error_with_excerpt(registry):
    with pytest.raises(ProtocolError) as info:
        registry.get("not_json").run({"x": 1.0})
    msg = str(info.value)
    assert "not_json" in msg and "containerdag/testkit:latest" in msg
    assert "this is not json" in msg


def test_missing_output_key_is_named(registry):
    with pytest.raises(ProtocolError, match=r"miss declared key\(s\) 'w'.*testkit"):
        registry.get("missing_output").run({"x": 1.0})


def test_non_zero_exit_carries_code_and_stderr(registry):
    with pytest.raises(ProcessFailed) as info:
        registry.get("exit_nonzero").run({"x": 1.0})
    assert info.value.exit_code == 3
    assert "something went wrong: bad input" in str(info.value)
    assert "something went wrong" in info.value.log


def test_c_process_failure_is_reported(registry):
    with pytest.raises(ProcessFailed, match="division by zero"):
        registry.get("c_divide").run({"a": 1.0, "b": 0.0})


def _processes(container):
    return " ".join(" ".join(row) for row in container.top()["Processes"])


def test_timeout_kills_the_call_inside_the_container(registry):
    proc = registry.get("never_returns")
    with pytest.raises(ProcessTimeout, match="timed out after 0.5 s") as info:
        proc.run({"x": 1.0}, timeout=0.5)
    assert info.value.timeout == 0.5
    container = registry.sources[0].pool._containers[proc.image_id]
    assert "never_returns" not in _processes(container)
    # The warm container survived and still serves calls.
    assert registry.get("echo").run({"text": "still here"})["text"] == "still here"


def test_huge_output_is_cut_and_named(registry):
    with pytest.raises(OutputTooLarge, match="printed more than 8388608 bytes"):
        registry.get("huge_output").run({"x": 1.0})


def test_process_ignoring_stdin_does_not_block_a_large_input(registry):
    proc = registry.get("ignores_stdin")
    assert proc.run({"x": 1.0}) == {"z": 1.0}
    big = b'{"x": 1.0, "pad": "' + b"y" * (4 * 2**20) + b'"}'  # far more than a pipe buffer
    outcome = registry.sources[0].pool.exec(proc.image_id, proc.image, proc.command, big,
                                            timeout=30)
    assert (outcome.exit_code, outcome.stdout.strip(), outcome.killed) == (0, b'{"z": 1.0}', None)


def test_large_input_round_trips(registry):
    text = "z" * (3 * 2**20)
    assert registry.get("echo").run({"text": text})["nbytes"] == len(text)


def test_image_removed_after_discovery(docker_client):
    # This run's image (its own label): another copy of the suite builds its own ID to remove.
    dockerfile = (f"FROM containerdag/add_subtract:latest\n"
                  f"LABEL containerdag.test=removed-{RUN_TAG}\n").encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    archive.seek(0)
    tag = f"containerdag/removed-soon:{RUN_TAG}"  # this run's
    image, _ = docker_client.images.build(fileobj=archive, custom_context=True, tag=tag, rm=True)
    Registry.from_docker(images=[tag]).close()  # describes once; the cache keeps it
    with Registry.from_docker(images=[tag]) as reg:  # from the cache: no container yet
        docker_client.images.remove(image.id, force=True)
        with pytest.raises(ImageNotFound) as info:
            reg.get("python_add").run({"x": 1.0, "y": 1.0})
    assert info.value.image == tag
    assert "python_add" in str(info.value) and tag in str(info.value)
