"""Test processes for the container process protocol.

Usage: python3 testkit.py PROCESS

Empty (or whitespace-only) stdin prints the process description; a JSON
object on stdin runs the process. Several processes misbehave on purpose,
each in one way, so that the toolkit's error handling can be tested.
"""

import fcntl
import json
import select
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
    else:  # pragma: no cover - guarded by main()
        fail(f"unknown process {name!r}")


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
