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


#: Sessions of the registries the notebooks' kernels opened (found while the kernel lived).
_KERNEL_SESSIONS: set[str] = set()


def pytest_runtest_teardown(item):
    """After each cell: note the sessions of labelled containers whose owner is a kernel this
    pytest started (a child process), so the end cleans those, and nobody else's."""
    if "/notebooks/" not in str(item.path):
        return
    import docker

    from containerdag_widgets.docker.cleanup import leftovers
    from tests.conftest import parent_pid

    client = docker.from_env()
    try:
        me = os.getpid()
        _KERNEL_SESSIONS.update(x.session for x in leftovers(client)
                                if x.pid is not None and x.on_this_host
                                and parent_pid(x.pid) == me)
    finally:
        client.close()


def pytest_sessionfinish(session):
    """nbval stops each notebook's kernel with a kill (no atexit), so the warm containers of a
    registry a notebook leaves open for its widgets (01, 03, 06) outlive it: remove them, and
    only them (the sessions of this run's kernels: the engine may hold other sessions')."""
    if not os.environ.get("_CONTAINERDAG_NOTEBOOK") or not _KERNEL_SESSIONS:
        return  # no notebook ran, or none left a container
    import docker

    from containerdag_widgets.docker.cleanup import cleanup, leftovers

    client = docker.from_env()
    try:
        deadline = time.monotonic() + 30  # the last kernel may take a moment to die
        while time.monotonic() < deadline and any(
                x.owner_alive for s in _KERNEL_SESSIONS for x in leftovers(client, s)):
            time.sleep(0.2)
        for name in sorted(_KERNEL_SESSIONS):
            cleanup(client, session=name)
    finally:
        client.close()
