"""The example notebooks run under nbval; they need the Docker Engine and the images."""

import os
import tempfile
import time

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "/notebooks/" in str(item.path):
            item.add_marker(pytest.mark.notebooks)
            item.add_marker(pytest.mark.docker)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Each notebook's kernel starts with an empty result cache, as when it was executed
    (scripts/execute_notebooks.sh does the same), so what it reuses is what it ran itself.
    Runs before nbval starts the notebook's kernel, which inherits the environment."""
    if "/notebooks/" not in str(item.path):
        return
    notebook = str(item.path)
    if os.environ.get("_CONTAINERDAG_NOTEBOOK") != notebook:
        os.environ["_CONTAINERDAG_NOTEBOOK"] = notebook
        os.environ["CONTAINERDAG_CACHE_DIR"] = tempfile.mkdtemp(prefix="containerdag-nb-")


@pytest.fixture(autouse=True, scope="session")
def _engine_for_notebooks():
    """Fail (under CONTAINERDAG_REQUIRE_DOCKER=1) or skip when no engine is there."""
    from tests.conftest import require_engine

    require_engine().close()


def pytest_sessionfinish(session):
    """nbval stops each notebook's kernel with a kill (no atexit), so the warm containers of a
    registry a notebook leaves open for its widgets (01, 03, 06) outlive it: remove them as
    ``containerdag cleanup`` would after a crash (owners gone; live sessions are kept)."""
    if not os.environ.get("_CONTAINERDAG_NOTEBOOK"):
        return  # no notebook ran
    import docker

    from containerdag_widgets.docker.cleanup import cleanup, leftovers

    client = docker.from_env()
    try:
        deadline = time.monotonic() + 10  # the last kernel may take a moment to die
        while time.monotonic() < deadline and any(
                x.owner_alive and x.pid != os.getpid() for x in leftovers(client)):
            time.sleep(0.2)
        cleanup(client)
    finally:
        client.close()
