"""Warm containers are hardened by default, on the real engine.

No network but loopback (a connect to TEST-NET-1, never routed, fails at once: no packet
leaves), a read-only root with a writable /tmp, no capabilities, no new privileges, a pids
limit, and a memory limit whose OOM kill is named as such. Images loosen settings only by
labels, which the process shows; a bad label value is a problem of the registry, not a crash.
Every test checks that no container of its registries is left.
"""

from __future__ import annotations

import io
import tarfile
import uuid

import pytest

from containerdag_widgets import (
    DescriptionError,
    OptionError,
    ProcessFailed,
    ProcessNotFound,
    Registry,
)
from containerdag_widgets.docker import leftovers
from containerdag_widgets.docker.settings import ContainerSettings, LabelError

from ..conftest import EXAMPLE_IMAGES, TESTKIT

MiB = 2**20
#: TEST-NET-1 (RFC 5737): reserved for documentation, never routed.
UNROUTED = "192.0.2.1"
DEFAULT_SUMMARY = ("network none, read-only root, /tmp tmpfs 64m, caps dropped, "
                   "no-new-privileges, memory 512m, cpus 1, pids 256, user 65534:65534 "
                   "(unprivileged: the image sets no USER)")

# A process in plain sh on debian:bookworm-slim (no Python): its description, made when the
# describe call runs, lists the container's network interfaces, so it shows where describe ran.
PROBE_SH = b"""#!/bin/sh
input=$(cat)
nets=$(ls /sys/class/net | tr '\\n' ' ' | sed 's/ $//')
if [ -z "$input" ]; then
  ports='"inputs": {"x": 1}, "outputs": {"interfaces": "lo"}'
  printf '{"description": "interfaces: %s", %s}\\n' "$nets" "$ports"
else
  printf '{"interfaces": "%s"}\\n' "$nets"
fi
"""

LABELLED = {  # every setting an image may change
    "containerdag.network": "bridge",
    "containerdag.read_only": "false",
    "containerdag.tmp_size": "16m",
    "containerdag.memory": "1g",
    "containerdag.cpus": "0.5",
    "containerdag.pids_limit": "100",
    "containerdag.purpose": "a label of the namespace that is not a setting: left alone",
}
BAD = {
    "containerdag.memory": "lots",
    "containerdag.netwrok": "bridge",
    "containerdag.cpus": "2",  # a good one: not reported
}


def _build(client, labels: dict[str, str]) -> str:
    """Build the sh probe image with ``labels`` (from a Dockerfile string); its tag."""
    label_lines = "".join(f'LABEL "{k}"="{v}"\n' for k, v in labels.items())
    dockerfile = ("FROM debian:bookworm-slim\nCOPY probe.sh /app/probe.sh\n"
                  'LABEL process.hardening_probe="sh /app/probe.sh"\n' + label_lines).encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, data in (("Dockerfile", dockerfile), ("probe.sh", PROBE_SH)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    archive.seek(0)
    tag = f"containerdag-test/hardening:{uuid.uuid4().hex[:10]}"
    client.images.build(fileobj=archive, custom_context=True, tag=tag, rm=True)
    return tag


@pytest.fixture(scope="module")
def probe_images(docker_client):
    """Tags of the sh probe image: without labels, with every override, with bad labels."""
    tags = {"plain": _build(docker_client, {}), "labelled": _build(docker_client, LABELLED),
            "bad": _build(docker_client, BAD)}
    yield tags
    for tag in tags.values():
        docker_client.images.remove(tag, force=True)


@pytest.fixture
def cold_cache(tmp_path, monkeypatch):
    """No cached descriptions: discovery runs every describe call."""
    monkeypatch.setenv("CONTAINERDAG_CACHE_DIR", str(tmp_path / "descriptions"))


def _containers(client, reg: Registry) -> dict[str, dict]:
    """The registry's running containers: image ID -> inspect data."""
    found = client.api.containers(filters={"label": f"containerdag.session={reg.session}"})
    return {c["ImageID"]: client.api.inspect_container(c["Id"]) for c in found}


def _host_config(client, reg: Registry, tag: str) -> dict:
    image_id = client.images.get(tag).id
    return _containers(client, reg)[image_id]["HostConfig"]


def _closed(client, reg: Registry) -> None:
    reg.close()
    assert leftovers(client, reg.session) == []


# ---- the defaults ---------------------------------------------------------------------------


def test_default_container_settings_reach_the_engine(registry, docker_client):
    proc = registry.get("sandbox_probe")
    # The defaults, with the user resolved: the test kit sets no USER.
    assert proc.settings == ContainerSettings(user="65534:65534", user_source="default")
    assert proc.settings.summary() == DEFAULT_SUMMARY
    proc.run({"address": UNROUTED})
    hc = _host_config(docker_client, registry, TESTKIT)
    assert hc["NetworkMode"] == "none"
    assert hc["ReadonlyRootfs"] is True
    assert hc["Tmpfs"] == {"/tmp": f"rw,nosuid,nodev,exec,size={64 * MiB},mode=1777"}
    assert hc["CapDrop"] == ["ALL"] and not hc["CapAdd"]
    assert hc["SecurityOpt"] == ["no-new-privileges"]
    assert hc["Privileged"] is False
    assert hc["PidsLimit"] == 256
    assert hc["Memory"] == 512 * MiB and hc["MemorySwap"] == 512 * MiB  # no swap on top
    assert hc["NanoCpus"] == 1_000_000_000


def test_a_process_cannot_reach_the_network(registry):
    out = registry.get("sandbox_probe").run({"address": UNROUTED}, timeout=20)
    assert out["interfaces"] == ["lo"]  # no eth0: nothing but loopback
    # No route at all: connect fails at once, no packet is sent (and 192.0.2.0/24 is never
    # routed anyway). A timeout here would mean a route exists.
    assert out["connect"] == "Network is unreachable"


def test_a_process_cannot_write_outside_tmp(registry):
    out = registry.get("sandbox_probe").run({"address": UNROUTED})
    assert out["write_app"] == "Read-only file system"
    assert out["write_tmp"] == "ok"


def test_a_process_has_no_capabilities_no_new_privileges_and_a_pids_limit(registry):
    out = registry.get("sandbox_probe").run({"address": UNROUTED})
    assert out["cap_eff"] == "0"  # CapEff in /proc/self/status: no capability, even as root
    assert out["no_new_privs"] == "1"
    assert out["pids_max"] == "256"


def test_the_example_images_run_under_the_defaults(registry):
    # Python (reads its .pyc, writes none on the read-only root) and C.
    assert registry.get("python_add").run({"x": 1.5, "y": 2}) == {"z": 3.5}
    assert registry.get("c_divide").run({"a": 1.0, "b": 4.0}) == {"z": 0.25}
    for name in ("python_add", "c_divide"):
        assert registry.get(name).settings.summary() == DEFAULT_SUMMARY


def test_describe_calls_run_under_the_same_rules(docker_client, probe_images, cold_cache):
    reg = Registry.from_docker(images=[probe_images["plain"]])
    try:
        assert reg.sources[0].describe_calls == 1
        # The description was made inside the container, which has only loopback.
        assert reg.get("hardening_probe").description == "interfaces: lo"
        hc = _host_config(docker_client, reg, probe_images["plain"])  # the describe's container
        assert (hc["NetworkMode"], hc["ReadonlyRootfs"], hc["CapDrop"]) == ("none", True, ["ALL"])
    finally:
        _closed(docker_client, reg)


# ---- the memory limit -----------------------------------------------------------------------


def test_the_memory_limit_stops_a_process_with_an_error_that_says_so(docker_client):
    reg = Registry.from_docker(images=[TESTKIT], settings=ContainerSettings(mem_limit="100m"))
    try:
        with pytest.raises(ProcessFailed) as info:
            reg.get("allocate").run({"mb": 400}, timeout=60)
        message = str(info.value)
        assert info.value.exit_code == 137
        assert "exited with code 137" in message
        assert "OOM-killed" in message
        assert "memory limit of 100m" in message
        assert "containerdag.memory" in message  # how to give the image more

        # The kernel killed the call, not the warm container: the next call runs in it.
        assert reg.get("allocate").run({"mb": 10}) == {"mb": 10}
        assert len(reg.sources[0].pool) == 1

        # A SIGKILL that is not an OOM kill is not called one.
        with pytest.raises(ProcessFailed) as info:
            reg.get("kill_self").run({"x": 1.0})
        assert info.value.exit_code == 137
        assert "OOM" not in str(info.value)
        assert "about to SIGKILL myself" in str(info.value)
    finally:
        _closed(docker_client, reg)


def test_an_oom_kill_in_a_graph_names_the_node_and_the_limit(docker_client):
    from containerdag_widgets import Graph

    graph = Graph.from_spec({"hog": {"process": "allocate", "inputs": {"mb": 400}}})
    reg = Registry.from_docker(images=[TESTKIT], settings=ContainerSettings(mem_limit="64m"))
    try:
        result = graph.run(reg, timeout=60)
        assert result.status == {"hog": "failed"}
        error = result.errors["hog"]
        assert isinstance(error, ProcessFailed) and error.exit_code == 137
        assert "node 'hog'" in str(error) and "OOM-killed" in str(error)
        assert "memory limit of 64m" in str(error)
    finally:
        _closed(docker_client, reg)


# ---- per image: labels ------------------------------------------------------------------------


def test_an_image_label_loosens_a_setting_and_the_process_shows_it(docker_client, probe_images,
                                                                   cold_cache):
    tag = probe_images["labelled"]
    reg = Registry.from_docker(images=[tag])
    try:
        proc = reg.get("hardening_probe")
        settings = proc.settings
        assert settings.network == "bridge" and settings.read_only is False
        assert set(settings.from_labels) == {"network", "read_only", "tmp_size", "mem_limit",
                                             "cpus", "pids_limit"}
        assert settings.summary() == (
            "network bridge (image label), writable root (image label), /tmp tmpfs 16m "
            "(image label), caps dropped, no-new-privileges, memory 1g (image label), "
            "cpus 0.5 (image label), pids 100 (image label), user 65534:65534 (unprivileged: "
            "the image sets no USER)")
        # The description was made in a container with the bridge's interface.
        assert proc.description == "interfaces: eth0 lo"
        hc = _host_config(docker_client, reg, tag)
        assert hc["NetworkMode"] == "bridge"
        assert hc["ReadonlyRootfs"] is False
        assert hc["Tmpfs"] == {"/tmp": f"rw,nosuid,nodev,exec,size={16 * MiB},mode=1777"}
        assert hc["Memory"] == 1024 * MiB and hc["NanoCpus"] == 500_000_000
        assert hc["PidsLimit"] == 100
        # What no label can change stays.
        assert hc["CapDrop"] == ["ALL"] and hc["SecurityOpt"] == ["no-new-privileges"]
    finally:
        _closed(docker_client, reg)


def test_image_labels_can_be_ignored(docker_client, probe_images, cold_cache):
    tag = probe_images["labelled"]
    reg = Registry.from_docker(images=[tag], settings=ContainerSettings(image_labels=False))
    try:
        proc = reg.get("hardening_probe")
        assert proc.settings.summary() == DEFAULT_SUMMARY
        assert proc.description == "interfaces: lo"
        assert _host_config(docker_client, reg, tag)["NetworkMode"] == "none"
    finally:
        _closed(docker_client, reg)


def test_a_bad_label_value_is_a_problem_of_the_registry_naming_image_label_and_value(
        docker_client, probe_images, cold_cache):
    tag = probe_images["bad"]
    reg = Registry.from_docker(images=[tag, EXAMPLE_IMAGES[0]])
    try:
        assert "python_add" in reg  # other images are still discovered
        assert "hardening_probe" not in reg
        (problem,) = [p for p in reg.problems if p.process == "hardening_probe"]
        assert isinstance(problem, LabelError) and isinstance(problem, DescriptionError)
        assert problem.image == tag
        assert (problem.label, problem.value) == ("containerdag.memory", "lots")
        message = str(problem)
        assert tag in message
        assert "containerdag.memory='lots'" in message and "512m" in message  # what is expected
        assert "containerdag.netwrok='bridge'" in message
        assert "did you mean containerdag.network?" in message
        assert "containerdag.cpus" not in message
        with pytest.raises(ProcessNotFound, match=r"containerdag\.memory='lots'"):
            reg.get("hardening_probe")
        # The image was not run at all.
        assert docker_client.images.get(tag).id not in _containers(docker_client, reg)
        assert reg.sources[0].describe_calls == 2  # python_add and python_subtract only
    finally:
        _closed(docker_client, reg)


def test_settings_the_engine_refuses_are_a_problem_not_a_crash(docker_client, probe_images,
                                                               cold_cache):
    too_many = docker_client.info()["NCPU"] + 1
    reg = Registry.from_docker(images=[probe_images["plain"]],
                               settings=ContainerSettings(cpus=too_many))
    try:
        assert len(reg) == 0
        (problem,) = reg.problems
        assert isinstance(problem, DescriptionError)
        assert "could not start a container" in str(problem)
        assert f"cpus {too_many}" in str(problem)
    finally:
        _closed(docker_client, reg)


# ---- the Python option ------------------------------------------------------------------------


def test_registry_settings_reach_the_engine(docker_client):
    settings = ContainerSettings(mem_limit=256 * MiB, cpus=0.25, pids_limit=64, tmp_size="8m",
                                 user="65534:65534")
    reg = Registry.from_docker(images=[TESTKIT], settings=settings)
    try:
        out = reg.get("sandbox_probe").run({"address": UNROUTED})
        assert out["uid"] == 65534 and out["pids_max"] == "64" and out["write_tmp"] == "ok"
        hc = _host_config(docker_client, reg, TESTKIT)
        assert (hc["Memory"], hc["NanoCpus"], hc["PidsLimit"]) == (256 * MiB, 250_000_000, 64)
        assert reg.get("echo").settings.summary() == (
            "network none, read-only root, /tmp tmpfs 8m, caps dropped, no-new-privileges, "
            "memory 256m, cpus 0.25, pids 64, user 65534:65534")
    finally:
        _closed(docker_client, reg)


@pytest.mark.parametrize(("option", "value"), [
    ("mem_limit", "lots"), ("mem_limit", "1m"), ("mem_limit", -1), ("cpus", 0), ("cpus", "2"),
    ("cpus", float("nan")), ("pids_limit", 0), ("pids_limit", True), ("tmp_size", "0"),
    ("read_only", "yes"), ("network", ""), ("cap_drop", "ALL"), ("user", ""),
])
def test_a_bad_python_setting_is_an_option_error(option, value):
    with pytest.raises(OptionError) as info:
        ContainerSettings(**{option: value})
    assert info.value.option == option and option in str(info.value)


def test_from_docker_takes_only_known_options(docker_client):
    with pytest.raises(TypeError):
        Registry.from_docker(images=[TESTKIT], mem_limit="1g")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Registry.from_docker(images=[TESTKIT], settings={"network": "bridge"})


# ---- where the settings are shown ------------------------------------------------------------


def test_describe_and_the_registry_widget_show_the_container_settings(registry, capsys):
    from containerdag_widgets import cli
    from containerdag_widgets.widgets import RegistryWidget

    assert cli.main(["--image", TESTKIT, "describe", "echo"]) == 0
    assert f"  container: {DEFAULT_SUMMARY}\n" in capsys.readouterr().out
    html = RegistryWidget(registry)._panel_html("echo")
    assert (f'<div class="cdw-detail-container">container <code>{DEFAULT_SUMMARY}</code></div>'
            in html)
