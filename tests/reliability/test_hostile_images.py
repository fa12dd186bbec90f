"""Images that misbehave on purpose: each failure stays with its image, named, and cached.

Built here from the test kit: a description nested thousands of levels deep, an output that
is, a process that floods stderr, and a description with terminal escape sequences.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from containerdag_widgets import (
    DescriptionError,
    Graph,
    GraphValidationError,
    OutputTooLarge,
    ProtocolError,
    Registry,
)

from ..conftest import EXAMPLE_IMAGES, RUN_TAG, TESTKIT, require_engine

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.docker

TAG = f"containerdag/hostile-test:{RUN_TAG}"  # this run's: another may run beside

HOSTILE = r'''
import json, sys
name = sys.argv[1]
text = sys.stdin.read()
deep = "[" * 100000 + "]" * 100000
if not text.strip():
    if name == "deep_description":
        sys.stdout.write('{"description": ' + deep + '}')
    else:
        desc = {"deep_output": "Prints JSON nested 100,000 levels deep.",
                "stderr_flood": "Writes to stderr without end.",
                "escape_text": "Shows \x1b[31mred\x1b[0m and a bell\x07."}[name]
        print(json.dumps({"description": desc, "inputs": {"x": 1.0}, "outputs": {"z": 1.0}}))
elif name == "deep_output":
    sys.stdout.write('{"z": ' + deep + '}')
elif name == "stderr_flood":
    line = "x" * 1023 + "\n"
    while True:
        sys.stderr.write(line)
else:
    print(json.dumps({"z": 1.0}))
'''

DOCKERFILE = f"""FROM {TESTKIT}
COPY hostile.py /app/hostile.py
LABEL process.deep_description="python3 /app/hostile.py deep_description" \\
      process.deep_output="python3 /app/hostile.py deep_output" \\
      process.stderr_flood="python3 /app/hostile.py stderr_flood" \\
      process.escape_text="python3 /app/hostile.py escape_text"
"""


@pytest.fixture(scope="module")
def hostile_image(tmp_path_factory):
    client = require_engine()
    context = tmp_path_factory.mktemp("hostile")
    (context / "hostile.py").write_text(HOSTILE)
    (context / "Dockerfile").write_text(DOCKERFILE)
    image, _ = client.images.build(path=str(context), tag=TAG, rm=True)
    yield image
    client.images.remove(TAG, force=True)
    client.close()


@pytest.fixture
def hostile(hostile_image):
    with Registry.from_docker(images=[TAG, *EXAMPLE_IMAGES]) as reg:
        yield reg


def test_a_description_nested_too_deep_fails_that_process_only(hostile):
    [problem] = [p for p in hostile.problems if p.process == "deep_description"]
    assert isinstance(problem, DescriptionError) and problem.image == TAG
    assert "not one JSON object" in str(problem)
    assert {"deep_output", "stderr_flood", "python_add", "c_divide"} <= set(hostile)
    graph = Graph.from_spec({"d": {"process": "deep_description", "inputs": {}}})
    with pytest.raises(GraphValidationError, match="declared but unusable: its description "
                                                   "failed"):
        graph.validate(hostile)


def test_the_failed_description_is_cached_by_image_id(hostile_image):
    with Registry.from_docker(images=[TAG]):
        pass  # described (or already cached by an earlier test)
    with Registry.from_docker(images=[TAG]) as reg:
        assert reg.sources[0].describe_calls == 0  # every answer, failures too, cached
        assert "deep_description" in [p.process for p in reg.problems]


def test_output_nested_too_deep_is_a_protocol_error(hostile):
    result = Graph.from_spec({"n": {"process": "deep_output", "inputs": {"x": 1.0}}}).run(hostile)
    error = result.errors["n"]
    assert isinstance(error, ProtocolError) and "stdout is not one JSON object" in str(error)


def test_a_stderr_flood_is_stopped_and_named(hostile):
    result = Graph.from_spec({"f": {"process": "stderr_flood", "inputs": {"x": 1.0}}}).run(
        hostile)
    error = result.errors["f"]
    assert isinstance(error, OutputTooLarge) and error.stream == "stderr"
    assert "on stderr" in str(error) and len(result.logs["f"]) <= 2**20 + 100


def test_terminal_escapes_from_an_image_are_shown_not_executed(hostile_image):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "containerdag_widgets.cli", "--image", TAG,
                           "describe", "escape_text"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "Shows \\x1b[31mred\\x1b[0m and a bell\\x07." in proc.stdout
