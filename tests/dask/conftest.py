"""A LocalCluster of 2 worker processes for the Dask tests (Docker ones need the engine)."""

from __future__ import annotations

import logging
from collections.abc import Collection

import pytest

from containerdag_widgets.docker import leftovers
from containerdag_widgets.docker.worker import LABEL_WORKER
from containerdag_widgets.executors import DaskExecutor
from containerdag_widgets.standard import standard_registry

from ..conftest import EXAMPLE_IMAGES, TESTKIT, require_dask

require_dask()  # fails under CONTAINERDAG_REQUIRE_DOCKER=1 (its test command needs Dask)
import distributed  # noqa: E402


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/dask/" in str(item.path):
            item.add_marker(pytest.mark.dask)


def new_cluster(threads_per_worker: int = 2) -> distributed.LocalCluster:
    return distributed.LocalCluster(
        n_workers=2, threads_per_worker=threads_per_worker, processes=True,
        dashboard_address=":0", silence_logs=logging.CRITICAL)


@pytest.fixture(scope="session")
def cluster():
    with new_cluster() as c:
        yield c


@pytest.fixture(scope="session")
def client(cluster):
    with distributed.Client(cluster, set_as_default=False) as c:
        yield c


@pytest.fixture
def executor(client, request):
    """A DaskExecutor on the session's cluster; when the test used Docker, no container of
    the workers' pools stays after ``close()``."""
    client.wait_for_workers(2, timeout=60)
    ex = DaskExecutor(client)
    yield ex
    ex.close()
    if "registry" in request.fixturenames:
        docker_client = request.getfixturevalue("docker_client")
        workers = set(client.scheduler_info()["workers"])
        left = worker_containers(docker_client, workers)
        assert left == [], [c["Names"] for c in left]


def worker_containers(docker_client, workers: str | Collection[str]) -> list[dict]:
    """Containers of the pools of ``workers`` (an address, or several): never all workers'
    on the engine, where another copy of the suite may run its own cluster."""
    if isinstance(workers, str):
        return docker_client.api.containers(
            all=True, filters={"label": f"{LABEL_WORKER}={workers}"})
    workers = set(workers)
    return [c for c in docker_client.api.containers(all=True, filters={"label": LABEL_WORKER})
            if c["Labels"].get(LABEL_WORKER) in workers]


@pytest.fixture
def registry(docker_client):
    """The example images and the test kit, with the seed's random generators."""
    reg = standard_registry([*EXAMPLE_IMAGES, TESTKIT])
    yield reg
    reg.close()
    assert leftovers(docker_client, reg.session) == []
