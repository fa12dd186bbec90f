"""Attacks by images that return crafted outputs, on the real engine (issue 20).

Every attack tried and its outcome are listed in ``tests/reliability/SECURITY.md``.
"""

from __future__ import annotations

import json

import pytest

from containerdag_widgets import File, FileError, Graph, Registry
from containerdag_widgets.cache.store import Store
from containerdag_widgets.model.files import files_in

from ..conftest import EXAMPLE_IMAGES, RUN_TAG, TESTKIT, require_engine

pytestmark = pytest.mark.docker

TAG = f"containerdag/hostile-security-test:{RUN_TAG}"  # this run's: another may run beside
SECRET = "/etc/hostname"  # a host file that exists on every machine

FORGE = r'''
import json, sys
name = sys.argv[1]
text = sys.stdin.read()
secret = sys.argv[2]
fake = {"$file": secret, "sha256": "0" * 64, "size": 15}
outputs = {
    "forge_top": {"o": fake},
    "forge_nested": {"o": {"inner": {"deeper": [1, fake, {"x": fake}]}}},
    "forge_list": {"o": [fake, [fake]]},
    "forge_plain": {"o": {"$file": secret}},
    "forge_escape": {"o": {"$object": fake, "$legacy": [fake]}},
}
examples = {"forge_top": {}, "forge_nested": {}, "forge_list": [], "forge_plain": None,
            "forge_escape": {}}
if name == "read":
    if not text.strip():
        print(json.dumps({"description": "Says what it was given.", "inputs": {"v": None},
                          "outputs": {"seen": ""}}))
    else:
        print(json.dumps({"seen": json.dumps(json.loads(text)["v"], sort_keys=True)}))
elif not text.strip():
    print(json.dumps({"description": "Returns a crafted file dict.", "inputs": {"x": 1},
                      "outputs": {"o": examples[name]}}))
else:
    print(json.dumps(outputs[name]))
'''

NAMES = ("forge_top", "forge_nested", "forge_list", "forge_plain", "forge_escape", "read")

DOCKERFILE = f"""FROM {TESTKIT}
COPY forge.py /app/forge.py
LABEL {' '.join(f'process.{n}="python3 /app/forge.py {n} {SECRET}"' for n in NAMES)}
"""


@pytest.fixture(scope="module")
def forge_image(tmp_path_factory):
    client = require_engine()
    context = tmp_path_factory.mktemp("forge")
    (context / "forge.py").write_text(FORGE)
    (context / "Dockerfile").write_text(DOCKERFILE)
    image, _ = client.images.build(path=str(context), tag=TAG, rm=True)
    yield image
    client.images.remove(TAG, force=True)
    client.close()


@pytest.fixture(scope="module")
def forge(forge_image):
    with Registry.from_docker(images=[TAG, *EXAMPLE_IMAGES]) as reg:
        yield reg


def _expected(name: str) -> dict:
    fake = {"$file": SECRET, "sha256": "0" * 64, "size": 15}
    return {
        "forge_top": {"o": fake},
        "forge_nested": {"o": {"inner": {"deeper": [1, fake, {"x": fake}]}}},
        "forge_list": {"o": [fake, [fake]]},
        "forge_escape": {"o": {"$object": fake, "$legacy": [fake]}},
    }[name]


@pytest.mark.parametrize("name", ["forge_top", "forge_nested", "forge_list", "forge_escape"])
def test_a_forged_stored_file_stays_data_in_the_run_the_cache_and_the_next_call(forge, name):
    graph = Graph.from_spec({
        "evil": {"process": name, "inputs": {"x": 1}},
        "next": {"process": "read", "inputs": {"v": ("evil", "o")}},
    })
    first = graph.run(forge)
    second = graph.run(forge)  # from the cache: where the forged dict became a File
    assert second.status == {"evil": "cached", "next": "cached"}
    for result in (first, second):
        assert result.outputs["evil"] == _expected(name)
        assert files_in(result.outputs, json_form=False) == []
        # The next container got the dict as data, never the host file's contents.
        assert json.loads(result.outputs["next"]["seen"]) == _expected(name)["o"]
    with Store.open() as store:
        record = store.load_run(second.run_id)
        assert record.nodes["evil"].outputs == _expected(name)
        assert files_in(record.nodes["evil"].outputs, json_form=False) == []


def test_a_one_key_file_dict_naming_a_host_path_is_refused(forge):
    result = Graph.from_spec({"evil": {"process": "forge_plain", "inputs": {"x": 1}}}).run(forge)
    assert result.status["evil"] == "failed"
    error = result.errors["evil"]
    assert isinstance(error, FileError) and error.reason == "outside"
    assert error.port == "o" and error.path == SECRET


def test_results_written_before_the_escape_are_dropped_and_history_is_data(tmp_path):
    """A database of schema 1 holding a forged file dict, as an older version wrote it."""
    from containerdag_widgets.cache.schema import MIGRATIONS

    path = tmp_path / "old.sqlite"
    Store.open(path, migrations=MIGRATIONS[:1]).close()
    import sqlite3

    forged = json.dumps({"o": {"$file": SECRET, "sha256": "0" * 64, "size": 15}})
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO runs (id, started, spec) VALUES (1, 0, '{}')")
    conn.execute("INSERT INTO node_runs (run_id, node, status, outputs) "
                 "VALUES (1, 'evil', 'done', ?)", (forged,))
    conn.execute("INSERT INTO results (key, outputs, created, last_used, size) "
                 "VALUES ('k', ?, 0, 0, 1)", (forged,))
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.lookup("k") is None
        outputs = store.load_run(1).nodes["evil"].outputs
    assert outputs == json.loads(forged)
    assert not isinstance(outputs["o"], File)


def test_a_file_input_in_its_wire_form_is_keyed_by_content(forge, tmp_path):
    """``{"$file": PATH}`` in a spec is a ``File``: a changed file runs again."""
    data = tmp_path / "data.txt"
    data.write_text("one")
    graph = Graph.from_spec({"n": {"process": "read", "inputs": {"v": {"$file": str(data)}}}})
    assert isinstance(graph["n"].inputs["v"], File)
    assert graph.run(forge).status["n"] == "done"
    assert graph.run(forge).status["n"] == "cached"
    data.write_text("two")
    again = graph.run(forge)
    assert again.status["n"] == "done", again.reasons["n"]
