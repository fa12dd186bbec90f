"""The exports checked by the real tools on the real engine: cwltool validates and runs them.

One cwltool run (the slow part: a container per step) covers the seed graph's deterministic
part against the toolkit's own run, a 100 KB value passed between two steps, an in-process
process run as a script, and that the image's ID, not its tag, is what runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from containerdag_widgets import Graph, Registry
from containerdag_widgets.cli.main import main
from containerdag_widgets.model.status import SUCCESS
from containerdag_widgets.random_values import random_float

from ..conftest import EXAMPLE_IMAGES, TESTKIT
from ..seed import SEED_GRAPH
from .helpers import argo_problems, workflow_validator

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
PYTHON = "containerdag/add_subtract:latest"  # has python3; python:3.12-slim cannot be pulled
#: The values the seed's random nodes are replaced with in its deterministic part.
FIXED = {("node alpha", "choice"): 5.4, ("node beta", "n"): 1.25}
BIG = "0123456789" * 10_000  # 100 KB, over CWL's 64 KiB loadContents limit


def deterministic_seed() -> dict:
    """The seed graph without its in-process random nodes, their outputs fixed."""
    return {name: {**node, "inputs": {p: FIXED.get(v, v) for p, v in node["inputs"].items()}}
            for name, node in SEED_GRAPH.items() if name not in ("node alpha", "node beta")}


def cwltool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    try:
        import cwltool as _  # noqa: F401 - it is a test dependency: missing is a failure
    except ImportError:
        pytest.fail("cwltool is not installed: pip install -e '.[test]'", pytrace=False)
    return subprocess.run([sys.executable, "-m", "cwltool", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def engine(docker_client):
    return docker_client


@pytest.fixture(scope="module")
def pinned_tag(engine):
    """A scratch tag of the test kit image, moved to another image after the export."""
    tag = f"containerdag/export-pin-test:{os.getpid()}"
    engine.images.get(TESTKIT).tag(tag)
    yield tag
    engine.images.remove(tag)


@pytest.fixture(scope="module")
def exported(engine, pinned_tag, tmp_path_factory):
    """The run graph exported, run by the toolkit, then by cwltool after the tag moved."""
    graph = Graph.from_spec({
        **deterministic_seed(),
        "big": {"process": "echo", "inputs": {"text": BIG}},
        "big copy": {"process": "echo", "inputs": {"text": ("big", "text")}},
        "noise": {"process": "random float", "inputs": {"min": -5.0, "max": 5.0}},
        "noisy": {"process": "python_add", "inputs": {"x": ("noise", "n"),
                                                      "y": ("node a", "z")}},
        "scatter a": {"process": "python_add", "inputs": {"x": [1.0, 2.0, 3.0], "y": 10.0},
                      "scatter": ["x"]},
        "scatter b": {"process": "c_divide", "inputs": {"a": ("scatter a", "z"),
                                                        "b": [2.0, 4.0]},
                      "scatter": ["a", "b"], "scatter_method": "flat_crossproduct"},
    })
    out = tmp_path_factory.mktemp("cwl")
    with Registry.from_docker(images=[*EXAMPLE_IMAGES, pinned_tag]) as registry:
        registry.add(random_float)
        export = graph.to_cwl(registry, out / "wf", python_image=PYTHON)
        ids = {name: registry.get(name).image_id for name in ("python_add", "c_divide", "echo")}
        toolkit = graph.run(registry)
    assert set(toolkit.status.values()) <= SUCCESS, toolkit.errors  # done, or cached
    # The tag now names an image without the test kit's script: only the ID can run `echo`.
    engine.images.get(PYTHON).tag(pinned_tag)
    done = cwltool("--strict-memory-limit", "--strict-cpu-limit", "--parallel",
                   "--outdir", str(out / "results"), "--tmpdir-prefix", str(out / "tmp") + "/",
                   "--tmp-outdir-prefix", str(out / "tmp") + "/",
                   str(export.workflow), str(export.job), cwd=out)
    assert done.returncode == 0, done.stderr[-3000:]
    # cwltool exits 0 on "permanentFail" too: the final status is what says it worked.
    assert "Final process status is success" in done.stderr, done.stderr[-3000:]
    assert "permanentFail" not in done.stderr, done.stderr[-3000:]
    files = json.loads(done.stdout)
    outputs = {step["label"]: json.loads(Path(files[f"{sid}--outputs"]["path"]).read_text())
               for sid, step in yaml.safe_load(export.workflow.read_text())["steps"].items()
               if "cdag:process" in step}
    return {"graph": graph, "export": export, "toolkit": toolkit, "cwl": outputs,
            "log": done.stderr, "ids": ids}


def test_cwltool_runs_the_seed_graph_like_the_toolkit(exported):
    for node in deterministic_seed():
        assert exported["cwl"][node] == exported["toolkit"].outputs[node], node
    assert exported["cwl"]["node c"]["z"] == pytest.approx((5.4 + 16.5) / (5.4 + 16.5 + 1.25))


def test_a_value_over_64_kib_passes_between_two_steps(exported):
    assert exported["cwl"]["big copy"] == {"text": BIG, "nbytes": len(BIG)}
    assert exported["cwl"]["big copy"] == exported["toolkit"].outputs["big copy"]
    # Too large for a command-line cache key: that node's inputs helper is never reused.
    assert [n for n in exported["export"].notes if "never reuses" in n] == [
        "node 'big': its literal values are over 64 KiB, too large to key its inputs helper "
        "on the command line: a runner's cache (cwltool --cachedir) never reuses it, nor the "
        "node"]
    steps = yaml.safe_load(exported["export"].workflow.read_text())["steps"]
    assert steps["big--inputs"]["run"] == "tools/containerdag-inputs-unkeyed.cwl"
    assert steps["big_copy--inputs"]["run"] == "tools/containerdag-inputs.cwl"


def test_an_in_process_process_runs_as_a_script(exported):
    n = exported["cwl"]["noise"]["n"]
    assert -5.0 <= n <= 5.0
    assert exported["cwl"]["noisy"]["z"] == pytest.approx(n + exported["cwl"]["node a"]["z"])


def test_a_scattered_node_runs_as_a_cwl_scatter_and_gathers_like_the_toolkit(exported):
    assert exported["cwl"]["scatter a"] == {"z": [11.0, 12.0, 13.0]}
    assert exported["cwl"]["scatter b"] == exported["toolkit"].outputs["scatter b"]
    assert exported["cwl"]["scatter b"]["z"] == [5.5, 2.75, 6.0, 3.0, 6.5, 3.25]
    steps = yaml.safe_load(exported["export"].workflow.read_text())["steps"]
    scattered = next(s for s in steps.values() if s.get("label") == "scatter b")
    assert scattered["scatter"] == "inputs"
    assert scattered["cdag:scatter_method"] == "flat_crossproduct"
    assert Graph.from_cwl(exported["export"].workflow) == exported["graph"]


def test_images_run_by_id_not_by_tag(exported):
    log = exported["log"]
    for image_id in exported["ids"].values():
        assert f"{image_id} \\" in log  # `docker run ... <image id>` as cwltool logs it
    assert "docker pull" not in log and "--memory=512m" in log and "--net=none" in log


def test_cwltool_validates_the_seed_and_example_graphs(engine, tmp_path):
    graphs = {"seed": Graph.from_spec(SEED_GRAPH)}
    graphs.update({p.stem: Graph.from_yaml(p.read_text()) for p in EXAMPLES})
    assert len(graphs) >= 2
    with Registry.from_docker(images=EXAMPLE_IMAGES) as registry:
        registry.add(random_float)
        from containerdag_widgets.random_values import random_choice

        registry.add(random_choice)
        for name, graph in graphs.items():
            export = graph.to_cwl(registry, tmp_path / name)  # the default Python image
            done = cwltool("--validate", str(export.workflow), cwd=tmp_path)
            assert done.returncode == 0 and "is valid CWL" in done.stdout, done.stderr
            assert "WARNING" not in done.stderr, done.stderr
            assert Graph.from_cwl(tmp_path / name) == graph
            workflow = graph.to_argo(registry, python_image=PYTHON)
            workflow_validator().validate(workflow)
            workflow_validator(strict=True).validate(workflow)
            assert argo_problems(workflow) == []


def test_cli_exports(engine, tmp_path, capsys):
    spec = ROOT / "examples" / "seed_graph.yaml"
    images = [a for tag in EXAMPLE_IMAGES for a in ("--image", tag)]
    assert main([*images, "export", "cwl", str(spec), "-o", str(tmp_path / "cwl"),
                 "--python-image", PYTHON]) == 0
    out = capsys.readouterr().out
    assert "run it: cwltool --strict-memory-limit --strict-cpu-limit" in out
    assert Graph.from_cwl(tmp_path / "cwl") == Graph.from_yaml(spec.read_text())
    assert main([*images, "export", "argo", str(spec), "-o", str(tmp_path / "wf.yaml")]) == 0
    workflow = yaml.safe_load((tmp_path / "wf.yaml").read_text())
    workflow_validator(strict=True).validate(workflow)
    assert "note: image 'python:3.12-slim' is not on this engine" in capsys.readouterr().err
    assert main([*images, "export", "argo", str(spec)]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == workflow


def test_cwltool_cachedir_reruns_a_node_whose_literal_value_changed(engine, tmp_path):
    """cwltool --cachedir keys a call by its command line and input files: the helper that
    writes a node's values to a file is reused for the same values only (it once was for any,
    so a changed job file returned the old result), and then so is the node."""
    graph = Graph.from_spec({"sum": {"process": "python_add", "inputs": {"x": 1.0, "y": 2.0}}})
    with Registry.from_docker(images=EXAMPLE_IMAGES) as registry:
        export = graph.to_cwl(registry, tmp_path / "wf", python_image=PYTHON)
    cache = tmp_path / "cache"

    def run(job: dict) -> float:
        export.job.write_text(json.dumps(job))
        done = cwltool("--cachedir", str(cache), "--outdir", str(tmp_path / "results"),
                       str(export.workflow), str(export.job), cwd=tmp_path)
        assert "Final process status is success" in done.stderr, done.stderr[-3000:]
        outputs = json.loads(done.stdout)
        (key,) = [k for k in outputs if k.endswith("--outputs")]
        return json.loads(Path(outputs[key]["path"]).read_text())["z"]

    def stored() -> int:  # cwltool's cache: one <key>.status a call it keeps
        return len(list(cache.glob("*.status")))

    job = json.loads(export.job.read_text())
    (x,) = [k for k in job if k.endswith("-x")]
    assert run(job) == 3.0 and stored() == 2  # the inputs helper and the node
    assert run({**job, x: 40.0}) == 42.0 and stored() == 4
    assert run(job) == 3.0 and stored() == 4  # the first values' calls reused, both
