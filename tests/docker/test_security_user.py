"""Warm containers run as an unprivileged user by default (issue 20), on the real engine.

65534:65534 unless the image sets ``USER`` or asks with the label ``containerdag.user``; the
runner, ``/tmp``, a call's files and keep-loaded servers work under it.
"""

from __future__ import annotations

import uuid

import pytest

from containerdag_widgets import File, Graph, Registry
from containerdag_widgets.docker.settings import ContainerSettings, LabelError

from ..conftest import EXAMPLE_IMAGES, TESTKIT

pytestmark = pytest.mark.docker

UNROUTED = "192.0.2.1"


@pytest.fixture(scope="module")
def user_images(docker_client, tmp_path_factory):
    """Images of the test kit: one with USER, one asking for root, one with a bad label."""
    tags = {}
    for kind, lines in {
        "user": "USER 1000:1000",
        "root": 'LABEL containerdag.user="root"',
        "bad": 'LABEL containerdag.user="no body!"',
    }.items():
        context = tmp_path_factory.mktemp(f"user-{kind}")
        (context / "Dockerfile").write_text(f"FROM {TESTKIT}\n{lines}\n")
        tag = f"containerdag-test/user-{kind}:{uuid.uuid4().hex[:10]}"
        docker_client.images.build(path=str(context), tag=tag, rm=True)
        tags[kind] = tag
    yield tags
    for tag in tags.values():
        docker_client.images.remove(tag, force=True)


def _uid(reg: Registry) -> int:
    return reg.get("sandbox_probe").run({"address": UNROUTED})["uid"]


def test_an_image_without_user_runs_as_65534_with_runner_tmp_files_and_servers(registry,
                                                                                tmp_path):
    probe = registry.get("sandbox_probe")
    out = probe.run({"address": UNROUTED})
    assert out["uid"] == 65534 and out["write_tmp"] == "ok"
    assert probe.settings.user == "65534:65534"
    assert probe.settings.summary().endswith(
        "user 65534:65534 (unprivileged: the image sets no USER)")
    # The runner itself runs as that user (and is the transport used).
    pool = registry.sources[0].pool
    container = pool._containers[probe.image_id]
    runners = [row for row in container.top()["Processes"]
               if row[-1].startswith("/containerdag/runner")]
    assert runners and all(row[0] in ("65534", "nobody") for row in runners)
    # A call's files (its directory in /tmp) and a keep-loaded server work under it.
    data = tmp_path / "d.bin"
    data.write_bytes(b"payload")
    copied = registry.get("file_copy").run({"data": File(data), "name": "c.bin"})
    assert copied["copy"].read_bytes() == b"payload" and copied["size"] == 7
    add = registry.get("python_add")
    assert add.serve is not None and add.run({"x": 1.0, "y": 2.0}) == {"z": 3.0}


def test_the_image_user_and_the_label_are_honoured(user_images):
    with Registry.from_docker(images=[user_images["user"]]) as reg:
        assert _uid(reg) == 1000
        assert reg.get("echo").settings.summary().endswith("user 1000:1000 (the image's USER)")
    with Registry.from_docker(images=[user_images["root"]]) as reg:
        assert _uid(reg) == 0
        assert reg.get("echo").settings.summary().endswith("user root (image label)")
    with Registry.from_docker(images=[user_images["bad"]]) as reg:
        assert "echo" not in reg
        problem = next(p for p in reg.problems if p.process == "echo")
        assert isinstance(problem, LabelError) and problem.label == "containerdag.user"
        assert "no body!" in str(problem)


def test_a_registry_user_is_kept_and_the_image_user_wins_over_the_default(user_images):
    settings = ContainerSettings(user="4242:4242")
    with Registry.from_docker(images=[TESTKIT], settings=settings) as reg:
        assert _uid(reg) == 4242
        assert reg.get("echo").settings.summary().endswith("user 4242:4242")


def test_the_example_images_work_unprivileged(docker_client, tmp_path):
    with Registry.from_docker(images=[*EXAMPLE_IMAGES, "containerdag/plot:latest"]) as reg:
        result = Graph.from_spec({
            "add": {"process": "python_add", "inputs": {"x": 1.0, "y": 2.0}},
            "mul": {"process": "c_multiply", "inputs": {"a": 2.0, "b": 3.0}},
        }).run(reg, cache=False)
        assert result.outputs == {"add": {"z": 3.0}, "mul": {"z": 6.0}}
        if "plot_csv" in reg:
            csv = tmp_path / "m.csv"
            csv.write_text("t,v\n0,1\n1,4\n2,9\n")
            inputs = {"data": File(csv), "title": "t", "x": 1, "y": 2}
            png = reg.get("plot_csv").run(inputs)
            assert png["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert reg.get("plot_csv").settings.user == "65534:65534"
