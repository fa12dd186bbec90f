"""Files in the core: ``File``, the artifact store, specs, validation, in-process processes,
cache keys, and the command line's ``show`` and ``cache prune``. No engine needed."""

from __future__ import annotations

import hashlib
import os
import pickle

import pytest

from containerdag_widgets import File, Graph, GraphValidationError, Ref, Registry, process
from containerdag_widgets.cache.artifacts import ArtifactStore, FileTooLarge
from containerdag_widgets.cache.keys import with_inputs
from containerdag_widgets.cli.main import main
from containerdag_widgets.model.files import file_of, is_file_json, key_form

from .processes import CallLog

NAME = "mesures d'été ✓.csv"


@process(outputs={"upper": {"$file": "upper.txt"}, "lines": 0})
def upper(data: File):
    """Upper-cases a text file; the result is a new file."""
    text = data.read_text()
    return {"upper": File.from_text(text.upper(), "upper.txt"), "lines": text.count("\n")}


@process(outputs={"n": 0})
def count(data: File):
    """Counts the bytes of a file (returns no file)."""
    calls.append(data.name)
    return {"n": data.size}


@process(outputs={"out": {"$file": "out.bin"}})
def wire(text: str = "x"):
    """Returns its output file in the wire form {"$file": PATH}."""
    path = os.path.join(os.environ["WIRE_DIR"], "wired.bin")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return {"out": {"$file": path}}


calls = CallLog()


@pytest.fixture
def reg():
    calls.clear()
    return Registry([upper, count, wire])


def test_a_file_is_its_path_name_size_and_content_hash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / NAME).write_bytes(b"t,x\n0,1\n")
    found = File(NAME)
    assert found.path == tmp_path / NAME and found.path.is_absolute() and found.name == NAME
    assert found.size == 8 and found.read_bytes() == b"t,x\n0,1\n"
    assert found.read_text() == "t,x\n0,1\n"
    assert found.sha256 == hashlib.sha256(b"t,x\n0,1\n").hexdigest()
    assert repr(found) == f"File({NAME!r}, 8 bytes, sha256 {found.sha256[:12]})"
    (tmp_path / "copy.csv").write_bytes(b"t,x\n0,1\n")
    assert File("copy.csv") == found and hash(File("copy.csv")) == hash(found)
    assert len({found, File("copy.csv")}) == 1
    (tmp_path / NAME).write_bytes(b"t,x\n0,22\n")  # changed under it: hashed again
    assert found.sha256 == hashlib.sha256(b"t,x\n0,22\n").hexdigest() and found.size == 9
    assert found != File("copy.csv")
    assert pickle.loads(pickle.dumps(found)) == found
    assert found.to_json() == {"$file": str(tmp_path / NAME)}
    assert is_file_json(found.to_json()) and file_of(found.to_json()) == found
    assert not is_file_json({"$file": 1}) and not is_file_json({"$file": "a", "b": 1})
    assert repr(File("absent.csv")) == "File('absent.csv', missing)"


def test_the_artifact_store_keeps_files_by_content_and_prunes_the_rest(tmp_path):
    store = ArtifactStore(tmp_path / "artifacts")
    first = store.put_bytes(b"abc", "a b.txt")
    sha = hashlib.sha256(b"abc").hexdigest()
    assert first.path == tmp_path / "artifacts" / sha[:2] / sha / "a b.txt"
    assert first.sha256 == sha and first.size == 3 and store.contains(first)
    (tmp_path / "src.bin").write_bytes(b"xyz")
    second = store.put_path(tmp_path / "src.bin")
    third = store.put_chunks([b"ab", b"c"], "a b.txt")
    assert third.path == first.path and second.read_bytes() == b"xyz"
    assert store.keep(first) is first and store.contains(store.keep(File(tmp_path / "src.bin")))
    assert sorted(p.name for p in store.files()) == ["a b.txt", "src.bin"]
    assert store.prune({second.sha256}) == 1
    assert not first.path.exists() and not first.path.parent.exists() and second.exists()


def test_the_size_limit_is_configurable_and_refuses_with_the_size(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTAINERDAG_FILE_LIMIT", "4")
    with pytest.raises(FileTooLarge, match="'big.bin' is 5 bytes, over the limit of 4"):
        ArtifactStore(tmp_path).put_bytes(b"12345", "big.bin")
    reg = Registry([count])
    (tmp_path / "big.bin").write_bytes(b"12345")
    graph = Graph()
    graph.add("n", "count", {"data": File(tmp_path / "big.bin")})
    problems = graph.problems(reg)
    assert [(p.kind, p.node, p.field, p.value) for p in problems] == [
        ("file_too_large", "n", "inputs.data", str(tmp_path / "big.bin"))]
    assert "is 5 bytes, over the limit of 4" in problems[0].message


def test_file_inputs_in_yaml_and_specs_are_files_relative_to_the_current_folder(
        reg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "m.csv").write_text("a\nb\n")
    graph = Graph.from_yaml("n:\n  process: count\n  inputs: {data: {file: data/m.csv}}\n")
    assert graph.nodes["n"].inputs["data"] == File("data/m.csv")
    assert graph.nodes["n"].inputs["data"].path == tmp_path / "data" / "m.csv"
    assert graph.to_spec()["n"]["inputs"]["data"] == {"file": os.path.join("data", "m.csv")}
    assert Graph.from_spec(graph.to_spec()).nodes["n"].inputs["data"] == File("data/m.csv")
    assert graph.run(reg).raise_for_status().outputs["n"] == {"n": 4}


def test_a_missing_input_file_is_a_validation_error_before_anything_runs(reg, tmp_path,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    graph = Graph.from_yaml("n:\n  process: count\n  inputs: {data: {file: gone/m.csv}}\n")
    problems = graph.problems(reg)
    assert [(p.kind, p.node, p.field, p.line) for p in problems] == [
        ("missing_file", "n", "inputs.data", 3)]
    assert f"file {str(tmp_path / 'gone' / 'm.csv')!r} does not exist" in problems[0].message
    with pytest.raises(GraphValidationError, match="node 'n'.*gone/m.csv"):
        graph.run(reg)
    assert calls == []


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_an_input_that_is_not_a_regular_file_is_named_for_what_it_is(reg, tmp_path, kind):
    """A directory or a FIFO given as a file (alone or inside a list) is refused before
    anything runs, saying what it is; the FIFO is never opened (it would block)."""
    path = tmp_path / "data"
    path.mkdir() if kind == "directory" else os.mkfifo(path)
    for value in (File(path), [File(path)]):
        graph = Graph.from_spec({"n": {"process": "count", "inputs": {"data": value}}})
        [problem] = graph.problems(reg)
        assert problem.kind == "not_a_file" and problem.field == "inputs.data"
        words = "a directory" if kind == "directory" else "a FIFO (named pipe)"
        assert f"{str(path)!r} is {words}, not a regular file" in problem.message
    assert calls == []


def test_python_processes_take_and_give_files_that_flow_by_reference(reg, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WIRE_DIR", str(tmp_path))
    (tmp_path / NAME).write_text("un\ndeux\n", encoding="utf-8")
    assert upper.file_ports == {"inputs.data": "", "outputs.upper": ".txt"}
    graph = Graph()
    graph.add("up", "upper", {"data": File(NAME)})
    graph.add("n", "count", {"data": Ref("up", "upper")})
    graph.add("w", "wire", {"text": "wired"})
    result = graph.run(reg).raise_for_status()
    made = result.outputs["up"]["upper"]
    assert isinstance(made, File) and made.read_text() == "UN\nDEUX\n"
    assert ArtifactStore().contains(made) and made.path.parent.name == made.sha256
    assert result.outputs["up"]["lines"] == 2 and result.outputs["n"] == {"n": 8}
    assert calls == ["upper.txt"]  # the same File object reached the next node
    wired = result.outputs["w"]["out"]  # the wire form is accepted and kept in the store
    assert isinstance(wired, File) and ArtifactStore().contains(wired)
    assert wired.read_text() == "wired"
    os.remove(tmp_path / "wired.bin")
    assert wired.read_text() == "wired"


def test_the_cache_keys_a_file_by_its_contents_never_its_path_or_time(reg, tmp_path,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("same")
    (tmp_path / "b.txt").write_text("same")
    key = with_inputs({}, {"data": File("a.txt")})["inputs"]
    assert key == with_inputs({}, {"data": File("b.txt")})["inputs"]
    assert key_form({"data": [File("a.txt")]}) == {
        "data": [{"$file": hashlib.sha256(b"same").hexdigest()}]}
    graph = Graph.from_yaml("n:\n  process: count\n  inputs: {data: {file: a.txt}}\n")
    assert graph.run(reg).status["n"] == "done"
    os.utime(tmp_path / "a.txt", (1, 1))
    assert graph.run(reg).status["n"] == "cached"
    (tmp_path / "a.txt").write_text("changed")
    again = graph.run(reg)
    assert again.status["n"] == "done" and again.outputs["n"] == {"n": 7}
    assert calls == ["a.txt", "a.txt"]


def test_show_lists_a_runs_files_and_prune_removes_the_unnamed_ones(reg, tmp_path,
                                                                   monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("a\nb\n")
    graph = Graph.from_yaml("up:\n  process: upper\n  inputs: {data: {file: in.txt}}\n")
    result = graph.run(reg).raise_for_status()
    made = result.outputs["up"]["upper"]
    stray = ArtifactStore().put_bytes(b"nobody names me", "stray.bin")
    capsys.readouterr()
    assert main(["show", str(result.run_id)]) == 0
    shown = capsys.readouterr().out
    given = hashlib.sha256(b"a\nb\n").hexdigest()[:12]
    assert f"input file: in.txt  4 bytes  sha256 {given}" in shown
    assert f"output file: upper.txt  4 bytes  sha256 {made.sha256[:12]}  {made.path}" in shown
    assert main(["cache", "prune", "--keep-runs", "10"]) == 0
    assert "1 file(s) removed from the artifact store" in capsys.readouterr().out
    assert made.exists() and not stray.exists()
    assert main(["cache", "clear", "--history"]) == 0
    assert not made.exists()
    assert graph.run(reg).status["up"] == "done"  # its artifact is gone: not a cache hit


@pytest.mark.parametrize("direct", [False, True], ids=["page-cache", "o-direct"])
@pytest.mark.parametrize("skip", [0, 4096, 4], ids=["start", "aligned", "unaligned"])
@pytest.mark.parametrize("size", [0, 1, 8 << 20, (8 << 20) + 1, (24 << 20) + 5])
def test_sha256_read_hashes_any_size_once_with_progress(tmp_path, size, skip, direct):
    """Beyond one chunk the hashing overlaps the next read: the digest is still the file's,
    from where the handle stands (O_DIRECT from an unaligned place reads through the page
    cache), with progress rising to the bytes read, and the handle left at the end."""
    from containerdag_widgets.model.files import sha256_read

    data = os.urandom(1 << 16) * (size // (1 << 16) + 1)
    path = tmp_path / "f.bin"
    path.write_bytes(b"s" * skip + data[:size])
    seen: list[int] = []
    with open(path, "rb", buffering=0) as handle:
        handle.seek(skip)
        got = sha256_read(handle, seen.append, direct=direct)
        assert got == hashlib.sha256(data[:size]).hexdigest()
        assert handle.tell() == skip + size
    assert seen == sorted(seen) and (seen[-1] if seen else 0) == size
