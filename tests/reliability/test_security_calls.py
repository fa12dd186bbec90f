"""Calls of one warm container against each other, on the real engine (issue 20).

A hostile image of the tests' own: a call that leaves a process behind however it detaches
(``setsid``, a double fork, ``nohup``, a plain background child), which then rewrites the
output files of the calls that follow; and calls that name a FIFO, a device, a socket, a
directory or a symlink out as an output file. Every attack and its outcome are listed in
``tests/reliability/SECURITY.md``.
"""

from __future__ import annotations

import threading
import time

import pytest

from containerdag_widgets import FileError, ProcessFailed, ProcessTimeout, Registry

from ..conftest import RUN_TAG, TESTKIT, require_engine

pytestmark = pytest.mark.docker

TAG = f"containerdag/hostile-calls-test:{RUN_TAG}"  # this run's: another may run beside
MARK = "calls.py"

CALLS = r'''
import glob, json, os, signal, socket, subprocess, sys, time
name = sys.argv[1]
text = sys.stdin.read()
DESCRIPTIONS = {
    "detach": ({"how": "setsid", "linger": 0.0}, {"started": 1}),
    "write": ({"text": "", "wait": 0.0}, {"f": {"$file": "out.txt"}}),
    "odd_output": ({"kind": "fifo"}, {"f": {"$file": "out"}}),
    "whoami": ({}, {"uid": 0, "gid": 0, "tmp": "", "out": ""}),
}

# Where calls' files are, in each layout: on disk (bound in), streamed into the work volume,
# and in /tmp (a container without a work area).
PATTERNS = ["/containerdag-work/out/*/*", "/containerdag-work/in/*/*/*",
            "/containerdag-work/out/*/out/*", "/containerdag-work/out/*/in/*/*",
            "/tmp/containerdag-files/*/out/*", "/tmp/containerdag-files/*/in/*/*"]

def tamper():
    # Rewrites every output and input file of every later call, for a minute.
    end = time.time() + 60
    while time.time() < end:
        for path in [found for pattern in PATTERNS for found in glob.glob(pattern)]:
            try:
                with open(path, "w") as fh:
                    fh.write("tampered")
            except OSError:
                pass
        time.sleep(0.005)
    os._exit(0)

def quiet():
    fd = os.open("/dev/null", os.O_RDWR)
    for n in (0, 1, 2):
        os.dup2(fd, n)

if len(sys.argv) > 2 and sys.argv[2] == "daemon":
    quiet()
    tamper()

if not text.strip():
    ins, outs = DESCRIPTIONS[name]
    print(json.dumps({"description": name, "inputs": ins, "outputs": outs, "cache": False}))
    sys.exit(0)
inputs = json.loads(text)
out_dir = os.environ.get("CONTAINERDAG_OUTPUT_DIR", "")
if name == "detach":
    how = inputs["how"]
    if how == "setsid":
        if os.fork() == 0:
            os.setsid()
            quiet()
            tamper()
    elif how == "double_fork":
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                quiet()
                tamper()
            os._exit(0)
        os.wait()
    elif how == "nohup":
        subprocess.Popen(["nohup", sys.executable, "/app/calls.py", "detach", "daemon"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    elif how == "background":
        subprocess.Popen([sys.executable, "/app/calls.py", "detach", "daemon"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    elif how == "kill_parent":
        # Detaches, then kills the process that waits for it (the call's own parent).
        if os.fork() == 0:
            os.setsid()
            quiet()
            tamper()
        time.sleep(0.2)
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(5)
    time.sleep(0.1 + inputs.get("linger", 0.0))
    print(json.dumps({"started": 1}))
elif name == "write":
    path = os.path.join(out_dir, "out.txt")
    with open(path, "w") as fh:
        fh.write(inputs["text"])
    time.sleep(inputs["wait"])
    print(json.dumps({"f": {"$file": "out.txt"}}))
elif name == "odd_output":
    kind = inputs["kind"]
    path = os.path.join(out_dir, "out")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        os.mkdir(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(path)
    elif kind == "device":
        path = "/dev/null"
        print(json.dumps({"f": {"$file": path}}))
        sys.exit(0)
    elif kind == "link_to_zero":
        os.symlink("/dev/zero", path)
    elif kind == "link_to_fifo":
        os.mkfifo(os.path.join(out_dir, "pipe"))
        os.symlink("pipe", path)
    print(json.dumps({"f": {"$file": "out"}}))
elif name == "whoami":
    scratch = "/tmp/whoami-%d" % os.getpid()
    with open(scratch, "w") as fh:
        fh.write("x")
    os.unlink(scratch)
    print(json.dumps({"uid": os.getuid(), "gid": os.getgid(), "tmp": "writable",
                      "out": out_dir}))
'''

NAMES = ("detach", "write", "odd_output", "whoami")

DOCKERFILE = f"""FROM {TESTKIT}
COPY calls.py /app/calls.py
LABEL {' '.join(f'process.{n}="python3 /app/calls.py {n}"' for n in NAMES)}
"""


@pytest.fixture(scope="module")
def calls_image(tmp_path_factory):
    client = require_engine()
    context = tmp_path_factory.mktemp("calls")
    (context / "calls.py").write_text(CALLS)
    (context / "Dockerfile").write_text(DOCKERFILE)
    image, _ = client.images.build(path=str(context), tag=TAG, rm=True)
    yield image
    client.images.remove(TAG, force=True)
    client.close()


@pytest.fixture(params=["runner", "exec"])
def transport(request, monkeypatch):
    monkeypatch.setenv("CONTAINERDAG_RUNNER", "1" if request.param == "runner" else "0")
    return request.param


@pytest.fixture
def calls(calls_image, transport):
    with Registry.from_docker(images=[TAG]) as reg:
        yield reg


def _container(reg: Registry):
    return reg.sources[0].pool._containers.get(reg.get("write").image_id)


def _left(reg: Registry) -> list[str]:
    """The processes of the hostile image's warm container that came from a call (none when
    the container was replaced: the exec path removes a container a call left a process in)."""
    container = _container(reg)
    if container is None:
        return []
    rows = container.top()["Processes"]
    return [" ".join(row) for row in rows if MARK in row[-1]]


@pytest.mark.parametrize("how", ["setsid", "double_fork", "nohup", "background"])
def test_a_call_ends_with_every_process_it_started(calls, how):
    assert calls.get("detach").run({"how": how, "linger": 0.0}) == {"started": 1}
    assert _left(calls) == []
    for n in range(3):  # later calls get their own content, not the daemon's
        out = calls.get("write").run({"text": f"mine {n}", "wait": 0.3})
        assert out["f"].read_bytes() == f"mine {n}".encode()
    assert _left(calls) == []


@pytest.mark.parametrize("transport", ["runner"], indirect=True)  # an exec has no parent
def test_a_call_that_kills_its_parent_leaves_nothing_either(calls, transport):
    with pytest.raises(ProcessFailed):  # its parent was the runner's, it dies with it
        calls.get("detach").run({"how": "kill_parent", "linger": 0.0}, timeout=30)
    for n in range(2):
        out = calls.get("write").run({"text": f"mine {n}", "wait": 0.3})
        assert out["f"].read_bytes() == f"mine {n}".encode()
    assert _left(calls) == []


def test_a_daemon_of_a_timed_out_call_is_killed_with_it(calls):
    with pytest.raises(ProcessTimeout):
        calls.get("detach").run({"how": "double_fork", "linger": 30.0}, timeout=2)
    out = calls.get("write").run({"text": "after", "wait": 0.3})
    assert out["f"].read_bytes() == b"after"
    assert _left(calls) == []


def test_concurrent_calls_each_get_their_own_files(calls):
    results: dict[int, bytes] = {}

    def one(n: int) -> None:
        results[n] = calls.get("write").run({"text": f"call {n}", "wait": 0.2})["f"].read_bytes()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == {n: f"call {n}".encode() for n in range(4)}


@pytest.mark.parametrize("kind,said", [
    ("fifo", "a FIFO (named pipe)"),
    ("directory", "a directory"),
    ("socket", "a socket"),
    ("link_to_fifo", "a FIFO (named pipe)"),
    ("device", "outside"),
    ("link_to_zero", "outside"),
])
def test_an_output_that_is_not_a_regular_file_never_blocks(calls, kind, said):
    started = time.monotonic()
    with pytest.raises(FileError) as caught:
        calls.get("odd_output").run({"kind": kind}, timeout=60)
    assert time.monotonic() - started < 45  # not blocked until the call's 60 s timeout
    error = caught.value
    assert error.port == "f" and error.process == "odd_output"
    assert said in str(error) and "'f'" in str(error)
    assert error.reason == ("outside" if said == "outside" else "not_a_file")
    assert calls.get("write").run({"text": "fine", "wait": 0.0})["f"].read_bytes() == b"fine"
