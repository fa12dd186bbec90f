"""Hostile file names and file kinds, and a cache directory that is a file, on the real engine
(issue 20). Every attack tried and its outcome are listed in ``tests/reliability/SECURITY.md``.
"""

from __future__ import annotations

import os
import socket
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from containerdag_widgets import File, FileError, Graph, GraphValidationError, Registry
from containerdag_widgets.cache.artifacts import ArtifactsElsewhere
from containerdag_widgets.model.errors import ProtocolError
from containerdag_widgets.model.files import NotAFileError
from containerdag_widgets.widgets.previews import preview_html

from ..conftest import RUN_TAG, TESTKIT, require_engine

pytestmark = pytest.mark.docker

TAG = f"containerdag/hostile-files-test:{RUN_TAG}"  # this run's: another may run beside
LATIN1 = b"caf\xe9"  # not UTF-8: a name as a Latin-1 system writes it

HOSTILE = r'''
import json, os, sys
name = sys.argv[1]
text = sys.stdin.read()
described = {"many": ({"files": []}, {"n": 0}),
             "bad_name": ({"mode": "escaped"}, {"out": {"$file": "out.txt"}})}
if not text.strip():
    inputs, outputs = described[name]
    print(json.dumps({"description": "Hostile: " + name, "inputs": inputs,
                      "outputs": outputs}))
    sys.exit(0)
given = json.loads(text)
if name == "many":
    print(json.dumps({"n": sum(os.path.getsize(f["$file"]) for f in given["files"])}))
    sys.exit(0)
out = os.environ["CONTAINERDAG_OUTPUT_DIR"]
mode = given["mode"]
if mode == "good":
    with open(os.path.join(out, "caf\u00e9 \u2713.txt"), "w") as handle:
        handle.write("fine")
    print(json.dumps({"out": {"$file": "caf\u00e9 \u2713.txt"}}))
    sys.exit(0)
raw = os.path.join(out.encode(), b"caf\xe9.txt")
with open(raw, "w") as handle:
    handle.write("latin-1 name")
if mode == "escaped":  # JSON's \udce9: what Python prints for the name
    print(json.dumps({"out": {"$file": os.fsdecode(raw)}}))
elif mode == "link":  # a UTF-8 name, resolving to the Latin-1 one
    os.symlink(raw, os.path.join(out, "link.txt"))
    print(json.dumps({"out": {"$file": "link.txt"}}))
else:  # the bytes themselves on stdout
    sys.stdout.buffer.write(b'{"out": {"$file": "caf\xe9.txt"}}')
'''

DOCKERFILE = f"""FROM {TESTKIT}
COPY hostile_files.py /app/hostile_files.py
LABEL process.many="python3 /app/hostile_files.py many" \\
      process.bad_name="python3 /app/hostile_files.py bad_name"
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    client = require_engine()
    context = tmp_path_factory.mktemp("hostile-files")
    (context / "hostile_files.py").write_text(HOSTILE)
    (context / "Dockerfile").write_text(DOCKERFILE)
    client.images.build(path=str(context), tag=TAG, rm=True)
    with Registry.from_docker(images=[TAG]) as reg:  # testkit's processes too (its labels)
        yield reg
    client.images.remove(TAG, force=True)
    client.close()


def within(seconds: float, action: Callable[[], Any], fifo: Path | None = None) -> Any:
    """``action()``, failing the test if it blocks (a FIFO opened for reading waits for a
    writer forever: then one is opened, so the thread ends)."""
    done: dict[str, Any] = {}

    def call() -> None:
        try:
            done["value"] = action()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            done["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        if fifo is not None:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(30)
        pytest.fail(f"blocked for more than {seconds} s")
    if "error" in done:
        raise done["error"]
    return done["value"]


@pytest.fixture
def odd_files(tmp_path) -> dict[str, Path]:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(tmp_path / "sock.csv"))
    yield {"directory": tmp_path / "folder.csv", "character device": Path("/dev/null"),
           "FIFO (named pipe)": fifo, "socket": tmp_path / "sock.csv"}
    listening.close()


@pytest.fixture(autouse=True)
def _folder(odd_files):
    odd_files["directory"].mkdir()


# ---- names that are not UTF-8 -----------------------------------------------------------------

def test_an_input_whose_name_is_not_utf8_reaches_the_process_with_its_contents(hostile,
                                                                               tmp_path):
    path = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), LATIN1 + b".bin")))
    path.write_bytes(b"abc\xff")
    statuses = iter(["done", "cached", "cached", "cached"])  # keyed by content, not path
    for value in (File(path), {"$file": str(path)}):
        graph = Graph.from_spec({"r": {"process": "file_reverse", "inputs": {"data": value}}})
        for status in (next(statuses), next(statuses)):
            result = graph.run(hostile)
            assert result.status == {"r": status}, result.errors
            out = result.outputs["r"]["reversed"]
            # placed under its name as UTF-8 (each odd byte U+FFFD), the bytes intact
            assert out.name == "caf\ufffd.bin" and out.read_bytes() == b"\xffcba"


@pytest.mark.parametrize("mode", ["escaped", "link"])
def test_an_output_file_name_that_is_not_utf8_is_a_file_error_naming_port_and_name(hostile,
                                                                                   mode):
    result = Graph.from_spec({"b": {"process": "bad_name", "inputs": {"mode": mode}}}).run(
        hostile)
    error = result.errors["b"]
    assert isinstance(error, FileError), repr(error)
    assert error.reason == "name" and error.port == "out" and error.node == "b"
    assert "caf\\xe9.txt" in str(error) and "not UTF-8" in str(error)
    str(error).encode("utf-8")  # shown safely: printable anywhere
    error.path.encode("utf-8")


def test_output_names_in_utf8_work_and_raw_bytes_on_stdout_are_not_json(hostile):
    good = Graph.from_spec({"b": {"process": "bad_name", "inputs": {"mode": "good"}}}).run(
        hostile)
    assert good.outputs["b"]["out"].name == "caf\u00e9 \u2713.txt"
    assert good.outputs["b"]["out"].read_text() == "fine"
    raw = Graph.from_spec({"b": {"process": "bad_name", "inputs": {"mode": "raw"}}}).run(hostile)
    assert isinstance(raw.errors["b"], ProtocolError)


# ---- inputs that are not regular files --------------------------------------------------------

def test_an_input_that_is_a_directory_device_fifo_or_socket_is_named_for_what_it_is(
        hostile, odd_files):
    proc = hostile.get("file_copy")
    for kind, path in odd_files.items():
        files = proc.call_files()
        try:
            with pytest.raises(FileError) as caught:
                within(20, lambda p=path, f=files: f.place({"data": File(p), "name": "x"}),
                       fifo=odd_files["FIFO (named pipe)"])
        finally:
            files.remove()
        error = caught.value
        assert (error.reason, error.port, error.path) == ("not_a_file", "data", str(path))
        assert error.kind == f"a {kind}" and f"is a {kind}, not a regular file" in str(error)


def test_a_nested_fifo_or_device_input_never_blocks_a_run_and_is_refused_before_it(
        hostile, odd_files, tmp_path):
    """Inside a list input too, a FIFO, device, socket or directory is a validation problem
    naming node, port and kind: nothing starts, nothing blocks."""
    plain = tmp_path / "plain.csv"
    plain.write_text("1,2\n")
    for kind, path in odd_files.items():
        graph = Graph.from_spec({"m": {"process": "many",
                                       "inputs": {"files": [File(plain), File(path)]}}})
        [problem] = within(60, lambda g=graph: g.problems(hostile),
                           fifo=odd_files["FIFO (named pipe)"])
        assert (problem.kind, problem.node, problem.field) == ("not_a_file", "m", "inputs.files")
        assert f"is a {kind}, not a regular file" in problem.message
        with pytest.raises(GraphValidationError, match="not a regular file"):
            within(60, lambda g=graph: g.run(hostile), fifo=odd_files["FIFO (named pipe)"])


def test_hashing_reading_and_previewing_never_open_a_fifo(odd_files):
    fifo = odd_files["FIFO (named pipe)"]
    for action in (lambda: File(fifo).sha256, lambda: File(fifo).read_bytes(),
                   lambda: File(odd_files["directory"]).sha256):
        with pytest.raises(NotAFileError):
            within(10, action, fifo=fifo)
    assert "a FIFO" in within(10, lambda: repr(File(fifo)), fifo=fifo)
    html = within(10, lambda: preview_html(File(fifo)), fifo=fifo)
    assert "a FIFO (named pipe), not shown" in html and str(fifo.parent) not in html


# ---- a cache directory that is a file ---------------------------------------------------------

def test_a_cache_directory_that_is_a_file_warns_once_and_nodes_still_get_their_files(
        hostile, tmp_path, monkeypatch):
    in_the_way = tmp_path / "cache-is-a-file"
    in_the_way.write_text("not a directory")
    monkeypatch.setenv("CONTAINERDAG_CACHE_DIR", str(in_the_way))
    data = tmp_path / "data.bin"
    data.write_bytes(b"123")
    graph = Graph.from_spec({"r": {"process": "file_reverse", "inputs": {"data": File(data)}}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [graph.run(hostile) for _ in range(2)]
    for result in results:
        assert result.status == {"r": "done"}, result.errors  # ran: no cache to reuse
        out = result.outputs["r"]["reversed"]
        assert out.read_bytes() == b"321" and str(in_the_way) not in str(out.path)
    elsewhere = [w.message for w in caught if isinstance(w.message, ArtifactsElsewhere)]
    assert len(elsewhere) == 1, [str(w.message) for w in caught]
    assert elsewhere[0].root == in_the_way / "artifacts"
    assert "a file is in the way" in str(elsewhere[0]) and str(elsewhere[0].instead) in str(
        elsewhere[0])
    assert in_the_way.read_text() == "not a directory"
