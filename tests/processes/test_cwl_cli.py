"""``containerdag cwl-runner`` (cwl-runner compatible) and ``add-cwl``, on the real engine."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "cwl"


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "containerdag_widgets.cli", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def test_cwl_runner_prints_the_output_object_as_cwltool(tmp_path):
    tool = tmp_path / "echo.cwl"
    tool.write_text("cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\n"
                    "inputs:\n  m: {type: string, inputBinding: {position: 1}}\n"
                    "stdout: out.txt\noutputs:\n  out: stdout\n")
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"m": "hi"}))
    done = cli("cwl-runner", f"--outdir={tmp_path / 'o'}", "--quiet", str(tool), str(job))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)["out"]
    assert out["class"] == "File" and out["basename"] == "out.txt" and out["size"] == 3
    assert Path(out["path"]).read_text() == "hi\n"
    assert out["checksum"] == "sha1$55ca6286e3e4f4fba5d0448333fa99fc5a404a73"


def test_cwl_runner_exit_codes(tmp_path):
    tool = tmp_path / "net.cwl"
    tool.write_text("cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: 'true'\n"
                    "requirements:\n  NetworkAccess: {networkAccess: true}\n"
                    "inputs: []\noutputs: []\n")
    done = cli("cwl-runner", "--quiet", str(tool))
    assert done.returncode == 33 and "NetworkAccess" in done.stderr  # unsupported
    fails = tmp_path / "fails.cwl"
    fails.write_text("cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: 'false'\n"
                     "inputs: []\noutputs: []\n")
    assert cli("cwl-runner", "--quiet", str(fails)).returncode == 1


def test_add_cwl_describes_the_example_tools():
    done = cli("add-cwl", str(EXAMPLES / "identify.cwl"), "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["name"] == "identify"
    assert found["outputs"] == {"width": 0, "height": 0, "colorspace": ""}
    assert found["details"]["image"].startswith("containerdag/imagemagick:latest")
