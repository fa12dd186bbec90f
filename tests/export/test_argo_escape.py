"""Argo's ``{{...}}`` in a literal (issue 20): the exported workflow holds no template tag but
its own, and a literal reaches its step as the exact characters it was given."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from containerdag_widgets import Graph
from containerdag_widgets.export import to_argo
from containerdag_widgets.export.common import MERGE_SCRIPT

from .helpers import PYTHON, fake_inspect, offline_registry, workflow_validator

TAGGED = ["{{workflow.name}}", "{{=sprig.trim(' x ')}}", "{{inputs.parameters.x}}", "{{{{",
          "a{{b}}c", "\\{{workflow.uid}}", {"{{workflow.name}}": ["{{ workflow.name }}", "}}"]},
          "{", "}}{{"]
OURS = re.compile(r"workflow\.parameters\.[A-Za-z0-9_-]+"
                  r"|tasks\.[A-Za-z0-9-]+\.outputs\.artifacts\.(outputs|inputs)")


def _workflow() -> dict:
    spec = {"{{workflow.name}}": {"process": "random choice", "inputs": {"choices": TAGGED}}}
    return to_argo(Graph.from_spec(spec), offline_registry(), python_image=PYTHON,
                   inspect_image=fake_inspect)


def test_a_literal_holding_argo_tags_is_escaped_and_reaches_its_step_exactly(tmp_path):
    wf = _workflow()
    workflow_validator(strict=True).validate(wf)
    text = json.dumps(wf)
    # every {{...}} Argo would substitute is one of the export's own references
    tags = re.findall(r"\{\{(.*?)\}\}", text)
    assert tags and all(OURS.fullmatch(tag) for tag in tags), tags
    # as Argo does: the parameters into the literals artifact, then the inputs helper
    params = {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]}
    tasks = {t["name"]: t for t in wf["spec"]["templates"][0]["dag"]["tasks"]}
    (merge,) = [t for name, t in tasks.items() if name.endswith("--inputs")]
    data = {a["name"]: a["raw"]["data"] for a in merge["arguments"]["artifacts"] if "raw" in a}
    literals = re.sub(r"\{\{workflow\.parameters\.([A-Za-z0-9_-]+)\}\}",
                      lambda m: params[m.group(1)], data["literals"])
    assert "{{" not in literals + data["plan"]
    (tmp_path / "literals.json").write_text(literals)
    (tmp_path / "plan.json").write_text(data["plan"])
    subprocess.run([sys.executable, "-c", MERGE_SCRIPT, str(tmp_path / "inputs.json"),
                    str(tmp_path / "literals.json"), str(tmp_path / "plan.json")], check=True)
    inputs = json.loads((tmp_path / "inputs.json").read_text())
    assert inputs == {"choices": TAGGED}


def test_plain_literals_are_written_as_before():
    spec = {"n": {"process": "random choice", "inputs": {"choices": ["s", {"k": [1, None]}]}}}
    wf = to_argo(Graph.from_spec(spec), offline_registry(), python_image=PYTHON,
                 inspect_image=fake_inspect)
    (param,) = wf["spec"]["arguments"]["parameters"]
    assert param["value"] == '["s", {"k": [1, null]}]'
