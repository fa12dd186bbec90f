"""Fixtures for browser tests: isolated JupyterLab server + headless Debian Chromium (Playwright).

Fixtures: ``lab_server`` (session), ``browser`` (session), ``page`` (function), ``lab`` (function,
a :class:`tests.browser.lab.Lab`). Every test under ``tests/browser`` gets ``@pytest.mark.browser``.

Missing prerequisites (``/usr/bin/chromium``, playwright, jupyterlab, ipycytoscape, ...) skip the
tests, or fail them when ``CONTAINERDAG_REQUIRE_BROWSER=1`` or ``CI`` is set.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

from containerdag_widgets.cache import DATABASE_NAME, remove_database
from tests.conftest import parent_pid

HERE = Path(__file__).resolve().parent


def _load_helpers():
    # Loaded under a unique name: no sys.path games, no clash with other "lab" modules.
    name = "containerdag_browser_lab"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "lab.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


labmod = _load_helpers()
REPO = HERE.parents[1]
ARTIFACTS = REPO / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


# ---- prerequisites ------------------------------------------------------------------------------


def _browser_required() -> bool:
    if os.environ.get("CONTAINERDAG_REQUIRE_BROWSER", "") == "1":
        return True
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing_prerequisites() -> list[str]:
    missing = []
    if not (os.path.isfile(labmod.CHROMIUM) and os.access(labmod.CHROMIUM, os.X_OK)):
        missing.append(f"{labmod.CHROMIUM} (apt-get install -y chromium)")
    for mod in ("playwright", "jupyterlab", "ipykernel", "ipywidgets", "ipycytoscape", "nbformat"):
        if importlib.util.find_spec(mod) is None:
            missing.append(f"python package {mod!r} in {sys.executable}")
    return missing


@pytest.fixture(scope="session")
def _browser_prerequisites():
    missing = _missing_prerequisites()
    if missing:
        msg = "browser tests need: " + "; ".join(missing)
        if _browser_required():
            pytest.fail(msg + " (required: CONTAINERDAG_REQUIRE_BROWSER=1 or CI is set)", False)
        pytest.skip(msg)


# ---- server ------------------------------------------------------------


@pytest.fixture(scope="session")
def lab_server(_browser_prerequisites, tmp_path_factory):
    """Isolated JupyterLab server (temp config/runtime/settings/workspaces, free port, token)."""
    base = tmp_path_factory.mktemp("jupyterlab")
    # Kernels inherit the server's env, fixed at session start (before any function-scoped
    # monkeypatch): give them the same per-session description cache as tests/conftest.py.
    extra_env = {
        "CONTAINERDAG_CACHE_DIR": os.environ.get(
            "CONTAINERDAG_CACHE_DIR",
            str(tmp_path_factory.getbasetemp() / "description-cache"),
        )
    }
    server = labmod.start_lab_server(base, python=sys.executable, extra_env=extra_env)
    server.cache_dir = Path(extra_env["CONTAINERDAG_CACHE_DIR"])
    server.kernel_sessions = set()
    _SERVERS.append(server)
    try:
        _check_server(server)
        yield server
    finally:
        _SERVERS.remove(server)
        _note_kernel_sessions(server)
        server.stop()
        _remove_kernel_containers(server.kernel_sessions)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copyfile(server.log_path, ARTIFACTS / "jupyter-server.log")


#: The Lab servers running (one per test session).
_SERVERS: list = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item):
    """After each test, before its fixtures end (a page closed ends Voila's kernel): note the
    sessions of labelled containers whose owner is a kernel of a Lab server (its child), so
    the server's end removes those, and nobody else's (a kernel the server kills runs no
    atexit, so the registry it left open for its widgets would outlive it)."""
    for server in _SERVERS:
        _note_kernel_sessions(server)


def _note_kernel_sessions(server) -> None:
    try:
        import docker

        from containerdag_widgets.docker.cleanup import leftovers
    except ImportError:
        return
    try:
        client = docker.from_env()
    except docker.errors.DockerException:
        return
    try:
        server.kernel_sessions.update(
            x.session for x in leftovers(client)
            if x.pid is not None and x.on_this_host and parent_pid(x.pid) == server.proc.pid)
    finally:
        client.close()


def _remove_kernel_containers(sessions: set[str]) -> None:
    """Remove what the server's kernels left (their sessions only), once they are gone."""
    if not sessions:
        return
    import docker

    from containerdag_widgets.docker.cleanup import cleanup

    client = docker.from_env()
    try:
        for session in sessions:
            cleanup(client, session=session)
    finally:
        client.close()


def _check_server(server: labmod.LabServer) -> None:
    specs = server.api("GET", "/api/kernelspecs")
    spec = specs["kernelspecs"].get(labmod.KERNEL_NAME)
    assert spec, f"no {labmod.KERNEL_NAME!r} kernelspec: {sorted(specs['kernelspecs'])}"
    argv0 = spec["spec"]["argv"][0]
    assert argv0 == server.python, (
        f"kernelspec {labmod.KERNEL_NAME!r} runs {argv0!r}, expected {server.python!r} "
        f"(from {spec['resources']}); a user kernelspec in ~/.local/share/jupyter shadows ours?"
    )
    settings = server.api("GET", f"/lab/api/settings/{labmod.NOTIFICATION_PLUGIN}")
    user = settings.get("settings") or {}
    for key, value in labmod.NOTIFICATION_SETTINGS.items():
        assert user.get(key) == value, f"notification setting {key}={user.get(key)!r} not applied"


# ---- browser -----------------------------------------------------------


@pytest.fixture(scope="session")
def _playwright(_browser_prerequisites):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(_playwright):
    b = _playwright.chromium.launch(
        executable_path=labmod.CHROMIUM, args=labmod.CHROMIUM_ARGS, headless=True
    )
    yield b
    b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=labmod.VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


@pytest.fixture
def lab(request, page, lab_server):
    """A :class:`lab.Lab` bound to a fresh page; kernels are shut down after the test.

    On failure, saves ``test-artifacts/<test>-failure.png`` and the browser console log.
    """
    # Each test's kernels start with no stored results (the last test's kernels are shut
    # down, so nothing holds the database), as a notebook opened for the first time would.
    remove_database(lab_server.cache_dir / DATABASE_NAME)
    helper = labmod.Lab(page, lab_server, ARTIFACTS)
    yield helper
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        name = request.node.name.replace("/", "_")
        with contextlib.suppress(Exception):  # best-effort evidence
            helper.screenshot(f"{name}-failure.png", full_page=True)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"{name}-console.log").write_text("\n".join(helper.console))
    lab_server.shutdown_sessions()
