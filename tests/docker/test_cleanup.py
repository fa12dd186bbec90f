"""Plain cleanup removes only this host's dead owners' containers; --all removes any."""

from containerdag_widgets.docker import cleanup, leftovers
from containerdag_widgets.docker.pool import LABEL_HOST, LABEL_MANAGED, LABEL_PID, LABEL_SESSION

from ..conftest import TESTKIT


def _labelled(client, session, host, pid):
    return client.containers.create(
        TESTKIT, ["sleep", "infinity"], network_mode="none",
        labels={LABEL_MANAGED: "1", LABEL_SESSION: session, LABEL_HOST: host,
                LABEL_PID: str(pid)})


def test_plain_cleanup_leaves_other_hosts_containers(docker_client):
    other = _labelled(docker_client, "otherhost-session", "some-other-machine", 999_999)
    try:
        [item] = leftovers(docker_client, "otherhost-session")
        assert not item.on_this_host and not item.owner_alive
        removed = cleanup(docker_client)
        assert "otherhost-session" not in {r.session for r in removed}
        assert len(leftovers(docker_client, "otherhost-session")) == 1
        # (--all would remove it too, but also the live containers of anything else running.)
        removed = cleanup(docker_client, session="otherhost-session")
        assert [r.session for r in removed] == ["otherhost-session"]
        assert leftovers(docker_client, "otherhost-session") == []
    finally:
        if leftovers(docker_client, "otherhost-session"):
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
    deadline = time.monotonic() + 5
    while _alive(owner.pid, host) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(owner.pid, host)
    assert owner.poll() is not None  # reaped only now
