"""The runner volume made the first time: created, filled from the runner image, then used.

The engine's real runner volume is shared by every session on it (other processes, other
test runs): removing it under them would break their next container. So this test gives its
registry a volume name of its own (``Runners.volume_prefix``, set on the class: the first
container, hence the first fill, can come with the registry's discovery), which no one else
uses.
"""

from __future__ import annotations

import contextlib
import uuid

import docker.errors
import pytest

from containerdag_widgets import Registry
from containerdag_widgets.docker import leftovers
from containerdag_widgets.docker.resident import LABEL_RUNNER, VOLUME_PREFIX, Runners
from containerdag_widgets.docker.runner import RunnerUnavailable

from ..conftest import EXAMPLE_IMAGES


@pytest.fixture
def prefixes(docker_client):
    """Two test-only volume prefixes; whatever volumes have them are removed afterwards."""
    made = [f"containerdag-runner-test-{uuid.uuid4().hex[:8]}-" for _ in range(2)]
    yield made
    for volume in docker_client.volumes.list(filters={"label": LABEL_RUNNER}):
        if volume.name.startswith(tuple(made)):
            with contextlib.suppress(docker.errors.NotFound):
                volume.remove(force=True)


def _exists(client, name: str) -> bool:
    try:
        client.volumes.get(name)
    except docker.errors.NotFound:
        return False
    return True


def test_the_first_call_creates_and_fills_the_runner_volume(docker_client, monkeypatch,
                                                            prefixes):
    monkeypatch.setenv("CONTAINERDAG_RUNNER", "1")
    ours, other = prefixes
    runner_id = docker_client.images.get("containerdag/runner:latest").id
    name = f"{ours}{runner_id.split(':')[-1][:12]}"
    assert not _exists(docker_client, name)
    # An earlier build's volume of the same prefix (removed once the new one is filled), and
    # another prefix's (left alone: it is not this registry's to remove).
    stale = docker_client.volumes.create(f"{ours}{'0' * 12}", labels={LABEL_RUNNER: "old"})
    foreign = docker_client.volumes.create(f"{other}{'0' * 12}", labels={LABEL_RUNNER: "old"})
    shared = [v.name for v in docker_client.volumes.list(filters={"label": LABEL_RUNNER})
              if v.name.startswith(VOLUME_PREFIX) and v.name[len(VOLUME_PREFIX):].isalnum()]

    monkeypatch.setattr(Runners, "volume_prefix", ours)
    reg = Registry.from_docker(images=EXAMPLE_IMAGES[:1])
    try:
        pool = reg.sources[0].pool
        assert reg.get("python_add").run({"x": 1.5, "y": 2.0}) == {"z": 3.5}

        volume = docker_client.volumes.get(name)
        assert volume.attrs["Labels"][LABEL_RUNNER] == runner_id
        container = pool._containers[reg.get("python_add").image_id]
        container.reload()
        assert [m["Name"] for m in container.attrs["Mounts"] if m.get("Type") == "volume"] \
            == [name]
        # The call went through the runner that the volume holds: a session, no fallback.
        assert list(pool.runners._sessions) == [container.id]
        assert not [p for p in reg.problems if isinstance(p, RunnerUnavailable)]
        processes = [row[-1] for row in container.top()["Processes"]]
        assert any(cmd.startswith("/containerdag/runner") for cmd in processes), processes
        assert reg.get("python_add").run({"x": 1.0, "y": 1.0}) == {"z": 2.0}
    finally:
        reg.close()
    assert leftovers(docker_client, reg.session) == []

    assert not _exists(docker_client, stale.name)
    assert _exists(docker_client, foreign.name)
    # The volume every other session uses was not touched.
    assert all(_exists(docker_client, v) for v in shared)
