"""Plain cleanup removes only this host's dead owners' containers; --all removes any."""

import secrets
import socket

from containerdag_widgets.docker import cleanup, leftovers
from containerdag_widgets.docker.pool import LABEL_HOST, LABEL_MANAGED, LABEL_PID, LABEL_SESSION

from ..conftest import TESTKIT
from ..engine_scope import scoped_client

# Session names of this run only: another copy of the suite may run beside this one.
OTHER = f"otherhost-{secrets.token_hex(4)}"
RACING = f"racing-{secrets.token_hex(4)}"


def _labelled(client, session, host, pid):
    return client.containers.create(
        TESTKIT, ["sleep", "infinity"], network_mode="none",
        labels={LABEL_MANAGED: "1", LABEL_SESSION: session, LABEL_HOST: host,
                LABEL_PID: str(pid)})


def test_plain_cleanup_leaves_other_hosts_containers(docker_client):
    other = _labelled(docker_client, OTHER, "some-other-machine", 999_999)
    try:
        [item] = leftovers(docker_client, OTHER)
        assert not item.on_this_host and not item.owner_alive
        with scoped_client(OTHER) as scoped:  # blind to others' containers
            assert cleanup(scoped) == []
        assert len(leftovers(docker_client, OTHER)) == 1
        # (--all would remove it too, but also the live containers of anything else running.)
        removed = cleanup(docker_client, session=OTHER)
        assert [r.session for r in removed] == [OTHER]
        assert leftovers(docker_client, OTHER) == []
    finally:
        if leftovers(docker_client, OTHER):
            other.remove(force=True)


def test_a_killed_owner_not_yet_reaped_counts_as_gone():
    import socket
    import subprocess
    import time

    from containerdag_widgets.docker.cleanup import _alive

    owner = subprocess.Popen(["sleep", "30"])
    host = socket.gethostname()
    assert _alive(owner.pid, host)
    owner.kill()  # a zombie until waited for, as a kernel killed by its manager
    deadline = time.monotonic() + 60  # a bound, never reached: the kill lands at once
    while _alive(owner.pid, host) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(owner.pid, host)
    assert owner.poll() is not None  # reaped only now


def test_cleanup_racing_another_removal_waits_it_out(docker_client):
    """A removal already in progress (the engine's 409) is waited out, not raised: after a
    client's socket is cut mid-request the engine may still be removing its containers."""
    import threading

    from containerdag_widgets.docker.pool import remove_container

    items = [_labelled(docker_client, RACING, "some-other-machine", 999_999)
             for _ in range(4)]
    for c in items:
        c.start()  # a running container takes a moment to stop, so the removals overlap
    errors: list[BaseException] = []

    def remove_all():
        try:
            for c in items:
                assert remove_container(docker_client, c.id)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    racer = threading.Thread(target=remove_all)
    racer.start()
    removed = cleanup(docker_client, session=RACING)
    racer.join()
    assert errors == []
    assert leftovers(docker_client, RACING) == []
    assert len(removed) == 4  # every one is gone, whichever call removed it


def test_plain_cleanup_through_a_scope_removes_only_that_session(docker_client,
                                                                  _foreign_engine_objects):
    """What the other tests' plain cleanups rely on: through ``scoped_client`` the engine shows
    one session's containers, so a dead owner's container of another session (which plain
    cleanup on the bare engine would remove) stays."""
    foreign = _foreign_engine_objects["dead"]
    [seen] = [x for x in leftovers(docker_client) if x.id == foreign]
    assert not seen.owner_alive and seen.on_this_host  # plain cleanup would take it
    session = f"scoped-{secrets.token_hex(4)}"
    mine = _labelled(docker_client, session, socket.gethostname(), 999_999)
    try:
        with scoped_client(session) as scoped:
            assert [x.id for x in leftovers(scoped)] == [mine.id]
            assert [x.id for x in cleanup(scoped)] == [mine.id]
        assert leftovers(docker_client, session) == []
        assert foreign in {x.id for x in leftovers(docker_client)}
    finally:
        if leftovers(docker_client, session):
            mine.remove(force=True)
