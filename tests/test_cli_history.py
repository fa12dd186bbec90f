"""``containerdag history`` names where each run came from and ``--spec`` filters by it;
``containerdag show`` gives each node's inputs and the end of its log. Runs written straight
into the store (no Docker), one of them by a database of the schema before ``runs.source``."""

from __future__ import annotations

import json
import sqlite3

from containerdag_widgets.cache import Store
from containerdag_widgets.cache.paths import database_path
from containerdag_widgets.cache.records import NodeRecord
from containerdag_widgets.cache.schema import MIGRATIONS
from containerdag_widgets.cli.main import main


def _history(capsys, *args: str) -> list[list[str]]:
    assert main(["history", *args]) == 0
    return [line.split() for line in capsys.readouterr().out.splitlines()]


def test_history_names_each_runs_spec_and_filters_by_it_old_runs_included(capsys):
    path = database_path()
    # A database as the toolkit wrote it before runs had a source (schema 2), one run in it.
    Store.open(path, migrations=MIGRATIONS[:2]).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO runs (id, started, ended, spec) VALUES (1, 100, 101, '{}')")
    conn.execute("INSERT INTO node_runs (run_id, node, status, inputs, log) "
                 "VALUES (1, 'n', 'done', '{\"x\":1}', 'old log')")
    conn.commit()
    conn.close()
    run = 1
    with Store.open(path) as store:  # migrated: the old run has no source
        assert store.schema_version == len(MIGRATIONS)
        assert store.sources([run]) == {run: None}
        for source in ("/x/y/g.yaml", "/x/big.yaml"):
            new = store.begin_run({}, started=200.0, source=source)
            store.finish_run(new, ended=201.0)
    header, *rows = _history(capsys)
    assert header == ["run", "started", "secs", "spec", "nodes"]
    assert [(r[0], r[4]) for r in rows] == [("3", "/x/big.yaml"), ("2", "/x/y/g.yaml"),
                                            ("1", "-")]
    assert rows[2][5:] == ["1", "done"]
    for name in ("g.yaml", "y/g.yaml", "/x/y/g.yaml", "./g.yaml"):
        assert [r[0] for r in _history(capsys, "--spec", name)[1:]] == ["2"], name
    assert [r[0] for r in _history(capsys, "--spec", "big.yaml")[1:]] == ["3"]
    assert _history(capsys, "--spec", "x.yaml")[1:] == []
    assert main(["history", "--json", "--spec", "g.yaml"]) == 0
    assert [(r["run"], r["source"]) for r in json.loads(capsys.readouterr().out)] == [
        (2, "/x/y/g.yaml")]
    assert main(["show", "1"]) == 0  # the old run, as it was recorded
    assert capsys.readouterr().out.splitlines()[1:] == [
        "  n  done  -  ", '    inputs: {"x": 1}', "    log:", "    | old log"]


def test_history_shows_a_spec_under_the_working_directory_relative_to_it(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "g.yaml").write_text("{}\n")
    with Store.open() as store:
        store.begin_run({}, source=str(tmp_path / "specs" / "g.yaml"))
        store.begin_run({}, source=str(tmp_path.parent / "g.yaml"))  # another g.yaml
    rows = _history(capsys)[1:]
    assert [r[4] for r in rows] == [str(tmp_path.parent / "g.yaml"), "specs/g.yaml"]
    # An existing file is that file only; a name that is none, the end of any run's path.
    assert [r[0] for r in _history(capsys, "--spec", "specs/g.yaml")[1:]] == ["1"]
    assert [r[0] for r in _history(capsys, "--spec", "g.yaml")[1:]] == ["2", "1"]


def test_show_gives_each_nodes_inputs_and_the_last_lines_of_its_log(capsys):
    log = "".join(f"line {i}\n" for i in range(1, 16)) + "\x1b[31mred\x1b[0m\n"
    with Store.open() as store:
        run = store.begin_run({}, started=0.0, source="/specs/g.yaml")
        store.record_nodes(run, [
            NodeRecord("a", "done", process="p", inputs={"x": 1.5, "s": "text"},
                       outputs={"y": 3.0}, log=log, duration=0.5),
            NodeRecord("b", "failed", process="q", inputs={"y": 3.0}, error="it broke",
                       log="one line\n"),
            NodeRecord("c", "skipped", process="q"),
        ])
    assert main(["show", str(run)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("  spec /specs/g.yaml"), out
    a = out.index("  a  done  0.500s  ")
    assert out[a + 1:a + 3] == ['    inputs: {"s": "text", "x": 1.5}', '    outputs: {"y": 3.0}']
    assert out[a + 3] == "    log, last 10 of 16 lines:"
    assert out[a + 4:a + 14] == [f"    | line {i}" for i in range(7, 16)] + [
        "    | \\x1b[31mred\\x1b[0m"]  # an image's escapes, made visible
    b = out.index("  b  failed  -  ")
    assert out[b + 1:b + 5] == ['    inputs: {"y": 3.0}', "    error: it broke", "    log:",
                                "    | one line"]
    assert out[b + 5:] == ["  c  skipped  -  "]  # no inputs, no log: nothing more
    assert main(["show", str(run), "--log-lines", "0"]) == 0
    assert "log" not in capsys.readouterr().out.replace("/specs/", "")
    assert main(["show", str(run), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["source"] == "/specs/g.yaml" and shown["nodes"]["a"]["log"] == log
