"""``containerdag run`` as a terminal sees it while the run goes (a progress bar, a line per
finished node, with ``-v`` the running nodes' log lines), and as a pipe sees it (the table
only, no control characters); and what ``history`` and ``show`` say about a real run: its spec
file, each node's inputs and the end of its log.

The terminal is a pseudo-terminal (``pty``): the CLI runs in a child process whose stdout
(and stderr) is the terminal, and what the terminal receives is read as it arrives."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from containerdag_widgets.cli.main import main

from ..conftest import EXAMPLE_IMAGES, TESTKIT

ROOT = Path(__file__).resolve().parents[2]
IMAGES = [arg for tag in [*EXAMPLE_IMAGES, TESTKIT] for arg in ("--image", tag)]
ESCAPE = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def _run_cli(args: list[str], *, stdout_is_terminal: bool = True,
             timeout: float = 180) -> tuple[int, list[tuple[bool, bytes]], bytes]:
    """Run the CLI with a pseudo-terminal as stderr and (or not) stdout; its exit code, what
    the terminal received as ``(the CLI was still running, bytes)`` chunks, and stdout when it
    is a pipe."""
    terminal, child_side = pty.openpty()
    fcntl.ioctl(child_side, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm", "COLUMNS": "120",
           "LINES": "40"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "containerdag_widgets.cli", *IMAGES, *args],
        stdin=subprocess.DEVNULL, stderr=child_side, env=env,
        stdout=child_side if stdout_is_terminal else subprocess.PIPE)
    os.close(child_side)
    chunks: list[tuple[bool, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([terminal], [], [], 0.2)
            if ready:
                try:
                    data = os.read(terminal, 65536)
                except OSError:  # EIO: the child's side is closed
                    break
                if not data:
                    break
                chunks.append((proc.poll() is None, data))
            elif proc.poll() is not None:
                break
        out = proc.stdout.read() if proc.stdout is not None else b""
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(terminal)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, chunks, out


def _plain(data: bytes) -> str:
    """Terminal output with each cursor movement and carriage return a line break (so each
    piece of text written starts a line)."""
    return ESCAPE.sub(b"\n", data).replace(b"\r", b"\n").decode("utf-8", "replace")


def _first_chunk(chunks: list[tuple[bool, bytes]], pattern: str) -> int:
    """The index of the chunk by which the terminal has shown ``pattern`` (a regex)."""
    seen = b""
    for i, (_, data) in enumerate(chunks):
        seen += data
        if re.search(pattern, _plain(seen), re.MULTILINE):
            return i
    raise AssertionError(f"{pattern!r} never shown:\n{_plain(seen)}")


def test_run_on_a_terminal_shows_the_bar_each_finished_node_and_the_logs_as_it_goes(
        docker_client, tmp_path):
    spec = tmp_path / "g.yaml"
    spec.write_text("a: {process: python_add, inputs: {x: 1.0, y: 2.0}}\n"
                    "t: {process: log_ticks, inputs: {seconds: 3.0, interval: 0.2}}\n"
                    "r: {process: random float, inputs: {min: 0.0, max: 1.0}}\n"
                    "f: {process: exit_nonzero, inputs: {x: 1.0}}\n")
    code, chunks, _ = _run_cli(["run", str(spec), "-v"])
    shown = _plain(b"".join(data for _, data in chunks))
    assert code == 1, shown  # f failed: the exit code of today
    table = _first_chunk(chunks, r"^node\s+status\s+time\s+inputs")
    # A line per node as it finishes, while the run goes: a's, r's and f's long before the
    # three-second t ends (and t's own line before the table).
    for line in (r"^a\s+done\s+\d+\.\d+s\s+ran: ", r"^r\s+done\s+\d+\.\d+s",
                 r"^f\s+failed\s+\d+\.\d+s\s+.*something went wrong"):
        at = _first_chunk(chunks, line)
        assert chunks[at][0], f"{line!r} shown only after the CLI ended"
        assert at < _first_chunk(chunks, r"^t\s+done\s"), (line, shown)
    assert _first_chunk(chunks, r"^t\s+done\s") < table
    # The bar, with what is running, before the end; at the end all four nodes counted.
    assert chunks[_first_chunk(chunks, r"%\|.*\| \d/4 nodes \[.*running: .*t")][0]
    assert "4/4 nodes" in shown
    # -v: t's log lines under the bar while it runs, after its name.
    tick = _first_chunk(chunks, r"^  t \| tick 1 at ")
    assert chunks[tick][0] and tick < _first_chunk(chunks, r"^t\s+done\s"), shown
    assert "failed: " in shown.split("node  status", 1)[1]  # the end of today: on stderr


def test_run_not_on_a_terminal_prints_only_the_table(docker_client, tmp_path):
    spec = tmp_path / "g.yaml"
    spec.write_text("a: {process: python_add, inputs: {x: 1.0, y: 2.0}}\n")
    # stdout a pipe (stderr still the terminal): no bar anywhere, not even with -v.
    code, chunks, out = _run_cli(["run", str(spec), "-v"], stdout_is_terminal=False)
    assert code == 0
    text = out.decode()
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", text), repr(text)
    assert text.splitlines()[0].split() == ["node", "status", "time", "inputs",
                                            "outputs", "/", "error"]
    assert text.splitlines()[2].split()[:2] == ["a", "done"] and len(text.splitlines()) == 3
    assert b"".join(data for _, data in chunks) == b"", chunks  # nothing on the terminal


def test_history_names_the_spec_and_show_gives_inputs_and_log_of_a_real_run(
        docker_client, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one").mkdir()
    first, second = tmp_path / "one" / "g.yaml", tmp_path / "other.yaml"
    first.write_text("logs: {process: stderr_log, inputs: {x: 2.5}}\n")
    second.write_text("a: {process: python_add, inputs: {x: 1.0, y: 2.0}}\n")
    assert main([*IMAGES, "run", "one/g.yaml"]) == 0
    assert main([*IMAGES, "run", str(second)]) == 0
    assert main([*IMAGES, "run", "one/g.yaml", "--no-cache"]) == 0  # recorded nowhere
    capsys.readouterr()
    assert main(["history"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["run", "started", "secs", "spec", "nodes"]
    assert [row.split()[0] for row in rows] == ["2", "1"]
    assert rows[0].split()[4] == "other.yaml" and rows[1].split()[4] == "one/g.yaml", rows
    for name in ("g.yaml", "one/g.yaml", str(first)):
        assert main(["history", "--spec", name]) == 0
        assert [r.split()[0] for r in capsys.readouterr().out.splitlines()[1:]] == ["1"], name
    assert main(["history", "--spec", "nothing.yaml"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == []
    assert main(["history", "--json"]) == 0
    assert [r["source"] for r in json.loads(capsys.readouterr().out)] == [str(second),
                                                                          str(first)]
    assert main(["show", "1"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].endswith("  spec one/g.yaml"), shown
    assert "    inputs: {\"x\": 2.5}" in shown and "    outputs: {\"x\": 2.5}" in shown
    at = shown.index("    log:")
    assert shown[at + 1:at + 3] == ["    | log line 1", "    | log line 2"], shown
    assert main(["show", "1", "--log-lines", "1"]) == 0
    shown = capsys.readouterr().out.splitlines()
    at = shown.index("    log, last 1 of 2 lines:")
    assert shown[at + 1:] == ["    | log line 2"], shown
    assert main(["show", "1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["source"] == str(first) and record["nodes"]["logs"]["log"].startswith("log")
