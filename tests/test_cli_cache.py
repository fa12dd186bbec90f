"""``containerdag cache info`` shows the artifact store beside the result cache, and ``cache
prune --keep-size`` brings both under a size. Results and runs written straight into the store
(no Docker)."""

from __future__ import annotations

import argparse

import pytest

from containerdag_widgets.cache import NodeRecord, Store
from containerdag_widgets.cache.artifacts import ArtifactStore
from containerdag_widgets.cache.paths import database_path
from containerdag_widgets.cli.history import _size
from containerdag_widgets.cli.main import main
from containerdag_widgets.model.files import human_size as _human

MiB = 1 << 20


def _filled(artifacts: ArtifactStore, letter: str):
    return artifacts.put_bytes(letter.encode() * MiB, f"{letter}.bin")


def _cached(artifacts: ArtifactStore, letters: str, *, ran: str = ""):
    """A result per letter (the oldest first), each naming a 1 MiB file of its own, and a run
    naming the files of ``ran``."""
    files = {x: _filled(artifacts, x) for x in letters + ran}
    now = [1000.0]
    with Store.open(database_path(), clock=lambda: now[0]) as store:
        for x in letters:
            now[0] += 1
            store.store_result(x, {"f": files[x]})
        if ran:
            store.record_node(store.begin_run({}), NodeRecord(
                "r", "done", outputs={x: files[x] for x in ran}))
    return files


def _info(capsys) -> dict[str, str]:
    assert main(["cache", "info"]) == 0
    return dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())


def test_sizes_take_units_of_any_case_and_plain_bytes():
    assert _size("50G") == _size("50g") == _size("50GB") == 50 * 2**30
    assert _size("512m") == 512 * 2**20 and _size("64K") == 64 * 2**10
    assert _size("2T") == _size("2tb") == 2 * 2**40 and _size("1.5t") == 3 * 2**39
    assert _size("1048576") == 2**20
    for bad in ("50X", "", "-1G", "0", "G", "1.5 P"):
        with pytest.raises(argparse.ArgumentTypeError, match=f"got {bad!r}"):
            _size(bad)
    assert [_human(n) for n in (0, 1023, 1024, 1536 * 2**20, 3 * 2**40, 2**50)] == [
        "0 bytes", "1023 bytes", "1.0 KiB", "1.5 GiB", "3.0 TiB", "1024.0 TiB"]


def test_a_bad_keep_size_is_an_argparse_error_naming_it(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["cache", "prune", "--keep-size", "50X"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --keep-size: expected a size above 0" in err and "got '50X'" in err


def test_info_shows_the_artifact_store_beside_the_result_cache(capsys):
    artifacts = ArtifactStore()
    _cached(artifacts, "abc")
    artifacts.put_bytes(b"x" * 100, "small.txt")
    info = _info(capsys)
    assert info["results"] == "3" and int(info["bytes"]) > 0
    assert info["artifacts"] == (f"{artifacts.root} (4 files, 3.0 MiB, {3 * MiB + 100} bytes)")
    total = int(info["bytes"]) + 3 * MiB + 100
    assert info["total"] == f"{_human(total)} ({total} bytes: the database and the artifacts)"


def test_prune_keep_size_forgets_the_oldest_results_and_their_files(capsys):
    artifacts = ArtifactStore()
    files = _cached(artifacts, "abcd", ran="r")
    capsys.readouterr()
    # 5 MiB of files and a database under 0.5 MiB; 3.5 MiB: "a" and "b" go, "r" (a run's) stays
    assert main(["cache", "prune", "--keep-size", "3.5M"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["2 least recently used result(s) removed to fit in 3.5 MiB",
                       "2 file(s) removed from the artifact store"]
    assert out[2].startswith("now 3.") and out[2].endswith("the database and 3 file(s)")
    assert sorted(p.name for p in artifacts.files()) == ["c.bin", "d.bin", "r.bin"]
    with Store.open(database_path()) as store:
        assert [x for x in "abcd" if store.lookup(x)] == ["c", "d"]
        assert store.lookup("c").outputs == {"f": files["c"]}
    info = _info(capsys)
    assert int(info["bytes"]) + 3 * MiB <= 3.5 * MiB and info["results"] == "2"
    assert main(["cache", "prune", "--keep-size", str(4 * MiB)]) == 0  # fits: nothing goes
    assert capsys.readouterr().out.splitlines()[:2] == [
        "0 least recently used result(s) removed to fit in 4.0 MiB",
        "0 file(s) removed from the artifact store"]


def test_prune_keep_size_below_the_historys_files_empties_the_cache_and_says_so(capsys):
    artifacts = ArtifactStore()
    _cached(artifacts, "ab", ran="r")
    capsys.readouterr()
    assert main(["cache", "prune", "--keep-size", "100k"]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[:2] == [
        "2 least recently used result(s) removed to fit in 100.0 KiB",
        "2 file(s) removed from the artifact store"]
    assert captured.err.startswith("cannot fit in 100.0 KiB: the recorded runs name 1.0 MiB "
                                   "of files and the database takes ")
    assert captured.err.rstrip().endswith("forget runs with --keep-runs N")
    assert [p.name for p in artifacts.files()] == ["r.bin"]
    assert main(["cache", "prune", "--keep-runs", "0", "--keep-size", "1M"]) == 0
    assert [p.name for p in artifacts.files()] == []


def test_prune_without_a_limit_names_keep_size_among_the_choices(capsys):
    assert main(["cache", "prune"]) == 2
    assert "--keep-size SIZE" in capsys.readouterr().err
