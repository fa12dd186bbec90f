"""Shared pieces of the export tests: a registry without an engine, the Argo schema."""

from __future__ import annotations

import copy
import gzip
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from containerdag_widgets import Registry
from containerdag_widgets.docker.process import ContainerProcess
from containerdag_widgets.random_values import random_choice, random_float

HERE = Path(__file__).parent
SCHEMA = HERE / "argo-workflows-v4.1.2-schema.json.gz"
ADD_ID = "sha256:" + "a" * 64
DIVIDE_ID = "sha256:" + "d" * 64
PYTHON = "containerdag/add_subtract:latest"

#: What ``docker image inspect`` would say of the images, by tag and by ID.
IMAGES: dict[str, dict[str, Any]] = {
    "containerdag/add_subtract:latest": {"Id": ADD_ID, "RepoDigests": [],
                                         "Config": {"Entrypoint": None}},
    "containerdag/multiply_divide:latest": {
        "Id": DIVIDE_ID, "Config": {"Entrypoint": None},
        "RepoDigests": ["registry.example/other@sha256:" + "0" * 64,
                        "containerdag/multiply_divide@sha256:" + "e" * 64]},
}


def fake_inspect(ref: str) -> dict[str, Any] | None:
    for tag, attrs in IMAGES.items():
        if ref in (tag, attrs["Id"]):
            return attrs
    return None


def container(name: str, image: str, command: list[str], inputs: dict, outputs: dict,
              image_id: str | None = None) -> ContainerProcess:
    return ContainerProcess(name=name, description=f"{name} (test)", inputs=inputs,
                            outputs=outputs, image=image,
                            image_id=image_id or IMAGES[image]["Id"], command=command,
                            pool=None)


def offline_registry() -> Registry:
    """The seed's processes as the engine would describe them, and the random ones."""
    reg = Registry()
    reg.add(container("python_add", "containerdag/add_subtract:latest",
                      ["python3", "/app/add.py"], {"x": 1.0, "y": 1.0}, {"z": 1.0}))
    reg.add(container("c_divide", "containerdag/multiply_divide:latest", ["/app/divide"],
                      {"a": 1.0, "b": 1.0}, {"z": 1.0}))
    reg.add(random_float)
    reg.add(random_choice)
    return reg


@cache
def _schema() -> dict[str, Any]:
    return json.loads(gzip.decompress(SCHEMA.read_bytes()))


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _strict(v) for k, v in node.items()}
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
    elif isinstance(node, list):
        node = [_strict(v) for v in node]
    return node


@cache
def workflow_validator(strict: bool = False) -> jsonschema.protocols.Validator:
    """A validator for Argo's ``Workflow`` (``strict``: no undeclared properties anywhere)."""
    schema = _schema()
    definitions = _strict(copy.deepcopy(schema["definitions"])) if strict \
        else schema["definitions"]
    root = {"$schema": schema["$schema"], "definitions": definitions,
            "$ref": "#/definitions/io.argoproj.workflow.v1alpha1.Workflow"}
    cls = jsonschema.validators.validator_for(root)
    cls.check_schema(root)
    return cls(root)


# Argo's own name rules (workflow/validate/validate.go at v4.1.2).
FIELD_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
PARAM_NAME = re.compile(r"^[-a-zA-Z0-9_]+$")


def argo_problems(workflow: dict[str, Any]) -> list[str]:
    """What Argo's validation would refuse beyond the schema: names, references."""
    problems = []
    spec = workflow["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    params = {p["name"] for p in spec.get("arguments", {}).get("parameters", [])}
    for name in [*templates, *params]:
        if name in templates and (not FIELD_NAME.match(name) or len(name) > 128):
            problems.append(f"template name {name!r}")
        if name in params and not PARAM_NAME.match(name):
            problems.append(f"parameter name {name!r}")
    if spec["entrypoint"] not in templates:
        problems.append("entrypoint")
    for tmpl in templates.values():
        for art in tmpl.get("inputs", {}).get("artifacts", []) + \
                tmpl.get("outputs", {}).get("artifacts", []):
            if not PARAM_NAME.match(art["name"]):
                problems.append(f"artifact name {art['name']!r}")
        if "dag" not in tmpl:
            continue
        tasks = {t["name"]: t for t in tmpl["dag"]["tasks"]}
        for task in tasks.values():
            if not FIELD_NAME.match(task["name"]) or task["name"][0].isdigit():
                problems.append(f"task name {task['name']!r}")
            target = templates.get(task["template"])
            if target is None:
                problems.append(f"task {task['name']!r}: no template {task['template']!r}")
                continue
            declared = {a["name"]: a for a in target.get("inputs", {}).get("artifacts", [])}
            given = {a["name"] for a in task.get("arguments", {}).get("artifacts", [])}
            for art in declared.values():
                if art["name"] not in given and not art.get("optional"):
                    problems.append(f"task {task['name']!r}: artifact {art['name']!r} missing")
            problems += [f"task {task['name']!r}: undeclared artifact {a!r}"
                         for a in given - set(declared)]
            for dep in task.get("dependencies", []):
                if dep not in tasks:
                    problems.append(f"task {task['name']!r}: unknown dependency {dep!r}")
            text = json.dumps(task)
            for ref in re.findall(r"\{\{tasks\.([-a-zA-Z0-9]+)\.", text):
                if ref not in task.get("dependencies", []):
                    problems.append(f"task {task['name']!r} reads {ref!r} without depending")
            for ref in re.findall(r"\{\{workflow\.parameters\.([-a-zA-Z0-9_]+)\}\}", text):
                if ref not in params:
                    problems.append(f"task {task['name']!r}: unknown parameter {ref!r}")
    return problems
