"""Shared fixtures. Docker tests fail (not skip) when CONTAINERDAG_REQUIRE_DOCKER=1."""

from __future__ import annotations

import os

import pytest

REQUIRE_DOCKER = os.environ.get("CONTAINERDAG_REQUIRE_DOCKER") == "1"

EXAMPLE_IMAGES = ["containerdag/add_subtract:latest", "containerdag/multiply_divide:latest"]
TESTKIT = "containerdag/testkit:latest"


def docker_client_or_reason():
    """A client of a running engine with the example images, or why there is none."""
    try:
        import docker

        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no usable engine
        return None, f"no Docker Engine answers: {exc}"
    missing = []
    for tag in [*EXAMPLE_IMAGES, TESTKIT]:
        try:
            client.images.get(tag)
        except Exception:  # noqa: BLE001
            missing.append(tag)
    if missing:
        return None, f"images missing (run ./scripts/setup.sh): {', '.join(missing)}"
    return client, None


def require_engine():
    """A client of the engine; fails under CONTAINERDAG_REQUIRE_DOCKER=1, else skips."""
    client, reason = docker_client_or_reason()
    if client is None:
        if REQUIRE_DOCKER:
            pytest.fail(f"CONTAINERDAG_REQUIRE_DOCKER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return client


@pytest.fixture(scope="session")
def docker_client():
    client = require_engine()
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, tmp_path, monkeypatch):
    """Each test gets its own result cache and history; descriptions are shared by the test
    session (cold discovery first, then warm), through a link in each test's cache dir."""
    descriptions = tmp_path_factory.getbasetemp() / "description-cache"
    descriptions.mkdir(exist_ok=True)
    root = tmp_path / "containerdag-cache-dir"
    root.mkdir()
    (root / "descriptions").symlink_to(descriptions, target_is_directory=True)
    monkeypatch.setenv("CONTAINERDAG_CACHE_DIR", str(root))
