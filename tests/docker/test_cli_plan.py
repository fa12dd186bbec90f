"""``containerdag plan SPEC``: the plan of a run under a header row, runs nothing (issue 24)."""

from __future__ import annotations

import json

import pytest

from containerdag_widgets.cli.main import main

from ..conftest import EXAMPLE_IMAGES

pytestmark = pytest.mark.docker

IMAGES = [arg for tag in EXAMPLE_IMAGES for arg in ("--image", tag)]


def test_plan_prints_a_header_and_each_node_and_runs_nothing(docker_client, tmp_path, capsys):
    spec = tmp_path / "g.yaml"
    spec.write_text("a: {process: python_add, inputs: {x: 1.0, y: 2.0}}\n"
                    "b: {process: c_divide, inputs: {a: {from: a, output: z}, b: 2.0}}\n")
    assert main([*IMAGES, "plan", str(spec)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["node", "action", "reason"]
    assert [line.split()[:2] for line in lines[2:]] == [["a", "run"], ["b", "depends"]]
    assert main([*IMAGES, "plan", str(spec), "--node", "a", "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)) == ["a"]
    assert main([*IMAGES, "history"]) == 0  # nothing ran: no run recorded
    assert capsys.readouterr().out.splitlines()[1:] == []
