"""Shared fixtures. Docker tests fail (not skip) when CONTAINERDAG_REQUIRE_DOCKER=1.

Every test that uses the engine carries the ``docker`` marker: set at collection for every test
whose fixtures include ``docker_client`` (and by the docker/, reliability/ and notebooks/
conftests for theirs), and checked by :func:`require_engine`, so ``-m "not docker"`` runs
offline. While engine tests run, the engine also holds things that are not the suite's
(:func:`_foreign_engine_objects`): a labelled image that inherits the test kit's labels, the
live and the dead-owner containers of other toolkit sessions, an unrelated container; they
must be exactly as they were at the end.
"""

from __future__ import annotations

import io
import os
import secrets
import socket
import subprocess
import tarfile

import pytest

REQUIRE_DOCKER = os.environ.get("CONTAINERDAG_REQUIRE_DOCKER") == "1"

EXAMPLE_IMAGES = ["containerdag/add_subtract:latest", "containerdag/multiply_divide:latest"]
TESTKIT = "containerdag/testkit:latest"
#: The tag of the images this run builds: another copy of the suite may run beside it.
RUN_TAG = f"run{os.getpid()}"


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


def require_dask() -> None:
    """Fail (under CONTAINERDAG_REQUIRE_DOCKER=1, whose test command needs Dask) or skip when
    ``distributed`` cannot be imported."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        if REQUIRE_DOCKER:
            pytest.fail(f"CONTAINERDAG_REQUIRE_DOCKER=1 but dask.distributed is missing: {exc}",
                        pytrace=False)
        pytest.skip(f"dask.distributed is missing: {exc}", allow_module_level=True)


_current_item: pytest.Item | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    global _current_item
    _current_item = item


def pytest_runtest_teardown(item):
    global _current_item
    _current_item = None


def pytest_collection_modifyitems(items):
    """The ``docker`` marker for every test that asks for the engine through its fixtures."""
    for item in items:
        if "docker_client" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)


def require_engine():
    """A client of the engine; fails under CONTAINERDAG_REQUIRE_DOCKER=1, else skips.

    A test without the ``docker`` marker that asks for the engine fails: ``-m "not docker"``
    must not use it.
    """
    item = _current_item
    if item is not None and item.get_closest_marker("docker") is None:
        pytest.fail(f"{item.nodeid} uses the Docker Engine but has no docker marker "
                    "(ask for the docker_client fixture, or mark it)", pytrace=False)
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


# ---- what the engine holds that is not the suite's -----------------------------------------

FOREIGN_SESSION_LIVE = "foreign-live-"  # + a token: another toolkit session, owner alive
FOREIGN_SESSION_DEAD = "foreign-dead-"  # + a token: another session whose owner is gone


def _foreign_objects(client, token: str) -> tuple[dict[str, str], subprocess.Popen]:
    """Make them: {what: id}, and the live owner process."""
    from containerdag_widgets.docker.pool import (
        LABEL_HOST,
        LABEL_MANAGED,
        LABEL_PID,
        LABEL_SESSION,
    )

    made: dict[str, str] = {}
    dockerfile = f"FROM {TESTKIT}\nLABEL containerdag.test.foreign={token}\n"
    image, _ = client.images.build(fileobj=io.BytesIO(dockerfile.encode()),
                                   tag=f"containerdag-foreign/testkit-heir:{token}", rm=True)
    made["image"] = image.id
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        data = b"not a toolkit image\n"
        info = tarfile.TarInfo("README")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    client.api.import_image_from_data(archive.getvalue(), repository="containerdag-foreign/plain",
                                      tag=token)
    made["unrelated_image"] = client.images.get(f"containerdag-foreign/plain:{token}").id
    owner = subprocess.Popen(["sleep", "86400"])  # the other session's live kernel
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that owns nothing any more
    host = socket.gethostname()
    for what, session, pid in (("live", FOREIGN_SESSION_LIVE + token, owner.pid),
                               ("dead", FOREIGN_SESSION_DEAD + token, gone.pid)):
        container = client.containers.run(
            TESTKIT, ["sleep", "infinity"], detach=True, network_mode="none",
            name=f"cdw-foreign-{what}-{token}",
            labels={LABEL_MANAGED: "1", LABEL_SESSION: session, LABEL_HOST: host,
                    LABEL_PID: str(pid)})
        made[what] = container.id
    unrelated = client.containers.run(TESTKIT, ["sleep", "infinity"], detach=True,
                                      network_mode="none", name=f"cdw-unrelated-{token}",
                                      labels={"someone.else": token})
    made["unrelated"] = unrelated.id
    return made, owner


def _remove_foreign(client, made: dict[str, str]) -> None:
    import docker.errors

    for what, ref in made.items():
        try:
            if what.endswith("image"):
                client.images.remove(ref, force=True)
            else:
                client.api.remove_container(ref, force=True)
        except docker.errors.NotFound:
            pass


@pytest.fixture(scope="session", autouse=True)
def _foreign_engine_objects(request):
    """While engine tests run, the engine holds a labelled image of someone else (inheriting
    the test kit's labels, under another tag), a live and a dead-owner container of other
    toolkit sessions, and an unrelated container. The suite must pass beside them and leave
    them exactly as they were: checked at the end of the test session."""
    items = getattr(request.session, "items", [])
    if not any(item.get_closest_marker("docker") for item in items):
        yield None
        return
    client, _ = docker_client_or_reason()
    if client is None:  # the engine tests fail or skip on their own
        yield None
        return
    token = secrets.token_hex(4)
    made, owner = _foreign_objects(client, token)
    try:
        yield {"token": token, **made}
        missing = []
        for what, ref in made.items():
            try:
                if what.endswith("image"):
                    client.images.get(ref)
                else:
                    state = client.api.inspect_container(ref)["State"]
                    if not state["Running"]:
                        missing.append(f"{what} container stopped")
            except Exception as exc:  # noqa: BLE001 - reported below
                missing.append(f"{what}: {exc}")
        assert missing == [], f"the suite touched what was not its own: {missing}"
    finally:
        owner.kill()
        owner.wait()
        _remove_foreign(client, made)
        client.close()


def parent_pid(pid: int) -> int | None:
    """The parent of process ``pid`` (None when it is gone): whose kernel a container's owner
    was, so a test cleans only the containers its own kernels left."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rpartition(")")[2].split()[1])
    except (OSError, IndexError, ValueError):
        return None
