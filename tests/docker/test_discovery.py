import time

import pytest

from containerdag_widgets import (
    DescriptionError,
    EngineUnavailable,
    ImageNotFound,
    Registry,
)
from containerdag_widgets.docker import DockerSource, leftovers

from ..conftest import EXAMPLE_IMAGES, TESTKIT

EXAMPLE_PROCESSES = {
    "python_add": ("Addition. z = x + y.", {"x": 1.0, "y": 1.0}, {"z": 1.0}),
    "python_subtract": ("Subtraction. z = x - y.", {"x": 1.0, "y": 1.0}, {"z": 1.0}),
    "c_multiply": ("Multiplication. z = a * b", {"a": 1.0, "b": 1.0}, {"z": 1.0}),
    "c_divide": ("Division. z = a / b", {"a": 1.0, "b": 1.0}, {"z": 1.0}),
}


def test_discovery_finds_exactly_the_example_processes(docker_client):
    with Registry.from_docker(images=EXAMPLE_IMAGES) as reg:
        assert sorted(reg) == sorted(EXAMPLE_PROCESSES)
        for name, (description, inputs, outputs) in EXAMPLE_PROCESSES.items():
            proc = reg.get(name)
            assert (proc.description, proc.inputs, proc.outputs) == (description, inputs, outputs)
            assert reg.get(f"process.{name}") is proc
        assert reg.get("python_add").source == "containerdag/add_subtract:latest"
        assert reg.problems == []


def test_discovery_of_the_test_kit_reports_bad_description(docker_client):
    with Registry.from_docker(images=[*EXAMPLE_IMAGES, TESTKIT]) as reg:
        assert set(EXAMPLE_PROCESSES) <= set(reg)
        assert "bad_description" not in reg
        (problem,) = [p for p in reg.problems if p.process == "bad_description"]
        assert isinstance(problem, DescriptionError)
        assert problem.image == TESTKIT and "{not json" in str(problem)


def test_discovery_without_a_list_considers_every_labelled_image(docker_client,
                                                                 _foreign_engine_objects):
    """``images=None`` lists every labelled image on the engine, other people's too (here the
    suite's foreign image, which inherits the test kit's labels), and no unlabelled one.
    Only the listing: describing other people's images is not this suite's business."""
    src = DockerSource(session="listing-only", client=docker_client)
    try:
        found = src._labelled_images()
    finally:
        src.close()
    listed = {tag: image.id for tag, image in found}
    assert {*EXAMPLE_IMAGES, TESTKIT} <= set(listed)
    assert _foreign_engine_objects["image"] in listed.values()
    assert all(any(k.startswith("process.") for k in image.labels) for _, image in found)
    unlabelled = docker_client.images.get(_foreign_engine_objects["unrelated_image"])
    assert unlabelled.id not in listed.values()


def _creations(client, since, session):
    """Containers created since ``since`` by the registry of ``session``."""
    events = client.events(since=since, until=time.time() + 0.5, decode=True,
                           filters={"type": "container", "event": "create",
                                    "label": f"containerdag.session={session}"})
    return list(events)


def test_second_discovery_of_unchanged_images_creates_no_container(docker_client):
    images = [*EXAMPLE_IMAGES, TESTKIT]
    with Registry.from_docker(images=images) as first:  # fills the cache if cold
        names = sorted(first)
    since = time.time()
    with Registry.from_docker(images=images) as second:
        assert sorted(second) == names
        assert second.sources[0].describe_calls == 0
        assert len(second.sources[0].pool) == 0
    assert _creations(docker_client, since, second.session) == []


def test_cache_is_keyed_by_image_id(docker_client, tmp_path, monkeypatch):
    monkeypatch.setenv("CONTAINERDAG_CACHE_DIR", str(tmp_path))
    with Registry.from_docker(images=EXAMPLE_IMAGES[:1]) as reg:
        assert reg.sources[0].describe_calls == 2
    image_id = docker_client.images.get(EXAMPLE_IMAGES[0]).id
    assert [p.name for p in (tmp_path / "descriptions").iterdir()] == [
        image_id.replace(":", "_") + ".json"]


def test_missing_image_is_named(docker_client):
    with pytest.raises(ImageNotFound, match="no/such-image:1"):
        Registry.from_docker(images=["no/such-image:1"])


def test_engine_down_gives_engine_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(EngineUnavailable, match="does not answer"):
        Registry.from_docker()


def test_discovery_containers_are_labelled_with_the_session(docker_client, tmp_path,
                                                           monkeypatch):
    monkeypatch.setenv("CONTAINERDAG_CACHE_DIR", str(tmp_path))  # cold: describe runs
    reg = Registry.from_docker(images=EXAMPLE_IMAGES)
    try:
        found = leftovers(docker_client, reg.session)
        assert len(found) == 2 and all(f.owner_alive for f in found)
    finally:
        reg.close()
    assert leftovers(docker_client, reg.session) == []


def test_source_can_be_given_a_client(docker_client):
    src = DockerSource(images=EXAMPLE_IMAGES, session="explicit", client=docker_client)
    try:
        assert {p.name for p in src.discover()} == set(EXAMPLE_PROCESSES)
    finally:
        src.close()
