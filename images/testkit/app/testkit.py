"""Test processes for the container process protocol.

Usage: python3 testkit.py PROCESS

Empty (or whitespace-only) stdin prints the process description; a JSON
object on stdin runs the process. Several processes misbehave on purpose,
each in one way, so that the toolkit's error handling can be tested.
"""

import fcntl
import json
import os
import select
import signal
import socket
import sys
import termios
import time

HUGE_BYTES = 10 * 1024 * 1024

DESCRIPTIONS = {
    "not_json": (
        "Prints text that is not JSON when run.",
        {"x": 1.0},
        {"z": 1.0},
    ),
    "missing_output": (
        "Declares outputs z and w but returns only z.",
        {"x": 1.0},
        {"z": 1.0, "w": 1.0},
    ),
    "exit_nonzero": (
        "Writes an error to stderr and exits with status 3.",
        {"x": 1.0},
        {"z": 1.0},
    ),
    "never_returns": (
        "Sleeps forever when run.",
        {"x": 1.0},
        {"z": 1.0},
    ),
    "huge_output": (
        "Returns a 10 MB string.",
        {"x": 1.0},
        {"z": "x"},
    ),
    "ignores_stdin": (
        "Never reads its input; returns z = 1.0.",
        {"x": 1.0},
        {"z": 1.0},
    ),
    "bad_description": None,  # prints a description that is not JSON
    "slow": (
        "Sleeps `seconds`, then returns the tag and start/finish times.",
        {"seconds": 0.5, "tag": "a"},
        {"tag": "a", "started": 0.0, "finished": 0.0},
    ),
    "echo": (
        "Returns the text unchanged and its length in UTF-8 bytes.",
        {"text": "hello"},
        {"text": "hello", "nbytes": 1},
    ),
    "stderr_log": (
        "Writes two log lines to stderr and returns x.",
        {"x": 1.0},
        {"x": 1.0},
    ),
    "log_ticks": (
        "Writes a line to stderr every `interval` seconds for `seconds`, then returns n.",
        {"seconds": 2.0, "interval": 0.2},
        {"n": 1},
    ),
    "sandbox_probe": (
        "Reports what the container allows: network interfaces, a TCP connect to `address` "
        "(port 9), writing to /app and /tmp, capabilities, no-new-privs, pids and user.",
        {"address": "192.0.2.1"},
        {"interfaces": ["lo"], "connect": "error", "write_app": "error",
         "write_tmp": "ok", "cap_eff": "0", "no_new_privs": "1", "pids_max": "256",
         "uid": 0},
    ),
    "allocate": (
        "Allocates and touches `mb` MiB of memory, then returns mb.",
        {"mb": 1},
        {"mb": 1},
    ),
    "kill_self": (
        "Kills itself with SIGKILL (exit code 137 without any memory pressure).",
        {"x": 1.0},
        {"x": 1.0},
    ),
    "file_copy": (
        "Copies the file `data` to $CONTAINERDAG_OUTPUT_DIR/`name`; returns its size and "
        "sha256 as read inside the container.",
        {"data": {"$file": "example.bin"}, "name": "copy.bin"},
        {"copy": {"$file": "copy.bin"}, "size": 0, "sha256": ""},
    ),
    "file_reverse": (
        "Writes the bytes of the file `data` in reverse order to a file of the same name.",
        {"data": {"$file": "example.bin"}},
        {"reversed": {"$file": "example.bin"}},
    ),
    "file_make": (
        "Writes a file of `size` bytes (a random MiB, repeated) as `name`, a MiB at a time.",
        {"size": 1048576, "name": "made.bin"},
        {"made": {"$file": "made.bin"}},
    ),
    "file_pass": (
        "Copies the file `data` to a file of the same name (by the kernel: copy_file_range).",
        {"data": {"$file": "example.bin"}},
        {"passed": {"$file": "example.bin"}},
    ),
    "file_hash": (
        "The sha256 and size of the file `data`, read a MiB at a time.",
        {"data": {"$file": "example.bin"}},
        {"sha256": "", "size": 0},
    ),
    "file_poke": (
        "Tries to change its input file `data` (append, truncate, chmod, remove); says what "
        "each attempt got.",
        {"data": {"$file": "example.bin"}},
        {"attempts": {"append": ""}},
    ),
    "file_bad": (
        "Returns a bad file output: `mode` absolute (/etc/hostname), dotdot (../x), symlink "
        "(a link to /etc/hostname), missing (a file never written), big (5000 bytes) or slow "
        "(writes a file, then sleeps an hour).",
        {"mode": "absolute"},
        {"out": {"$file": "out.txt"}},
    ),
}


def fail(message, status=1):
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    sys.exit(status)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def describe(name):
    if DESCRIPTIONS[name] is None:
        sys.stdout.write("{not json\n")
        return
    description, inputs, outputs = DESCRIPTIONS[name]
    emit({"description": description, "inputs": inputs, "outputs": outputs})


def number(given, key):
    if key not in given:
        fail(f"missing input: {key!r}")
    value = given[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"input {key!r} must be a number, got {json.dumps(value)}")
    return value


def string(given, key):
    if key not in given:
        fail(f"missing input: {key!r}")
    value = given[key]
    if not isinstance(value, str):
        fail(f"input {key!r} must be a string, got {json.dumps(value)}")
    return value


def stdin_has_data(timeout=5.0):
    """Tell whether stdin holds data, without reading any of it.

    Waits (up to `timeout`) until stdin is readable, which means data or
    end of file, then asks the kernel how many bytes are buffered
    (FIONREAD). No data, end of file or an unanswerable stdin (e.g.
    /dev/null) count as empty.
    """
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return False
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
    except OSError:
        return False
    if not readable:
        return False
    buf = bytearray(4)
    try:
        fcntl.ioctl(fd, termios.FIONREAD, buf, True)
    except OSError:
        return False
    return int.from_bytes(buf, sys.byteorder) > 0


def attempt(action):
    """'ok' if action() works, else the error's text (e.g. 'Read-only file system')."""
    try:
        action()
    except OSError as exc:
        return exc.strerror or str(exc)
    return "ok"


def write_file(path):
    with open(path, "w") as fh:
        fh.write("x")
    os.remove(path)


def connect(address):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2.0)
        sock.connect((address, 9))


def status_field(name):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    return ""


def first_readable(*paths):
    for path in paths:
        try:
            with open(path) as fh:
                return fh.read().strip()
        except OSError:
            continue
    return ""


def sandbox_probe(given):
    address = string(given, "address")
    return {
        "interfaces": sorted(os.listdir("/sys/class/net")),
        "connect": attempt(lambda: connect(address)),
        "write_app": attempt(lambda: write_file("/app/probe.txt")),
        "write_tmp": attempt(lambda: write_file("/tmp/probe.txt")),
        "cap_eff": status_field("CapEff").lstrip("0") or "0",
        "no_new_privs": status_field("NoNewPrivs"),
        # cgroup v2, then v1
        "pids_max": first_readable("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"),
        "uid": os.getuid(),
    }


def run(name, given):
    if name == "not_json":
        sys.stdout.write("this is not json\n")
    elif name == "missing_output":
        emit({"z": 1.0})
    elif name == "exit_nonzero":
        fail("something went wrong: bad input", status=3)
    elif name == "never_returns":
        while True:
            time.sleep(3600)
    elif name == "huge_output":
        emit({"z": "x" * HUGE_BYTES})
    elif name == "bad_description":
        emit({"z": 1.0})
    elif name == "slow":
        seconds = number(given, "seconds")
        tag = string(given, "tag")
        if seconds < 0:
            fail("input 'seconds' must not be negative")
        started = time.time()
        time.sleep(seconds)
        emit({"tag": tag, "started": started, "finished": time.time()})
    elif name == "echo":
        text = string(given, "text")
        emit({"text": text, "nbytes": len(text.encode("utf-8"))})
    elif name == "stderr_log":
        x = number(given, "x")
        sys.stderr.write("log line 1\nlog line 2\n")
        sys.stderr.flush()
        emit({"x": x})
    elif name == "log_ticks":
        seconds = number(given, "seconds")
        interval = number(given, "interval")
        n = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            n += 1
            sys.stderr.write(f"tick {n} at {time.time():.3f}\n")
            sys.stderr.flush()
            time.sleep(interval)
        emit({"n": n})
    elif name == "sandbox_probe":
        emit(sandbox_probe(given))
    elif name == "allocate":
        mb = number(given, "mb")
        data = b"\x01" * int(mb * 2**20)  # filled, so every page is really used
        emit({"mb": mb if data else 0})
    elif name == "kill_self":
        number(given, "x")
        sys.stderr.write("about to SIGKILL myself\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    elif name.startswith("file_"):
        emit(file_process(name, given))
    else:  # pragma: no cover - guarded by main()
        fail(f"unknown process {name!r}")


def file_process(name, given):
    """The file processes: inputs {"$file": PATH}, outputs under $CONTAINERDAG_OUTPUT_DIR."""
    import hashlib

    out = os.environ.get("CONTAINERDAG_OUTPUT_DIR")
    if not out:
        fail("CONTAINERDAG_OUTPUT_DIR is not set")
    if name == "file_bad":
        mode = string(given, "mode")
        if mode == "absolute":
            return {"out": {"$file": "/etc/hostname"}}
        if mode == "dotdot":
            return {"out": {"$file": os.path.join(out, "..", "x")}}
        if mode == "symlink":
            os.symlink("/etc/hostname", os.path.join(out, "link.txt"))
            return {"out": {"$file": os.path.join(out, "link.txt")}}
        if mode == "slow":
            with open(os.path.join(out, "partial.txt"), "w") as handle:
                handle.write("half done")
            time.sleep(3600)
        if mode == "big":
            with open(os.path.join(out, "big.txt"), "wb") as handle:
                handle.write(b"b" * 5000)
            return {"out": {"$file": "big.txt"}}  # relative: under the output directory
        return {"out": {"$file": os.path.join(out, "never.txt")}}
    if name == "file_make":
        size = given.get("size")
        if not isinstance(size, int) or size < 0:
            fail(f"input 'size' must be a whole number of bytes, got {json.dumps(size)}")
        block = os.urandom(1 << 20)
        target = os.path.join(out, os.path.basename(string(given, "name")))
        with open(target, "wb") as handle:
            for start in range(0, size, len(block)):
                handle.write(block[:size - start])
        return {"made": {"$file": target}}
    value = given.get("data")
    if not (isinstance(value, dict) and isinstance(value.get("$file"), str)):
        fail(f'input \'data\' must be a file {{"$file": PATH}}, got {json.dumps(value)}')
    if name == "file_pass":
        import shutil
        target = os.path.join(out, os.path.basename(value["$file"]))
        shutil.copyfile(value["$file"], target)
        return {"passed": {"$file": target}}
    if name == "file_hash":
        with open(value["$file"], "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256")
            return {"sha256": digest.hexdigest(), "size": handle.tell()}
    if name == "file_poke":
        attempts = {}
        path = value["$file"]
        def append():
            with open(path, "ab") as handle:
                handle.write(b"changed")

        for what, attempt in (("append", append),
                              ("truncate", lambda: os.truncate(path, 0)),
                              ("chmod", lambda: os.chmod(path, 0o666)),
                              ("remove", lambda: os.unlink(path))):
            try:
                attempt()
                attempts[what] = "done"
            except OSError as exc:
                attempts[what] = exc.strerror or str(exc)
        return {"attempts": attempts}
    with open(value["$file"], "rb") as handle:
        data = handle.read()
    if name == "file_reverse":
        target = os.path.join(out, os.path.basename(value["$file"]))
        with open(target, "wb") as handle:
            handle.write(data[::-1])
        return {"reversed": {"$file": target}}
    target = os.path.join(out, string(given, "name"))
    with open(target, "wb") as handle:
        handle.write(data)
    return {"copy": {"$file": target}, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def main(argv):
    if len(argv) != 2 or argv[1] not in DESCRIPTIONS:
        fail(f"usage: testkit.py {{{'|'.join(DESCRIPTIONS)}}}", status=2)
    name = argv[1]

    if name == "ignores_stdin":
        # Decide between describe and run without reading stdin at all.
        if stdin_has_data():
            emit({"z": 1.0})
        else:
            describe(name)
        return

    text = sys.stdin.read()
    if not text.strip():
        describe(name)
        return
    try:
        given = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"stdin is not valid JSON: {exc}")
    if not isinstance(given, dict):
        fail("stdin must be a JSON object")
    run(name, given)


if __name__ == "__main__":
    main(sys.argv)
