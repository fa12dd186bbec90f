"""Reasons: one sentence per node saying why it ran or was reused, in fixed spellings."""

from __future__ import annotations

import time

from containerdag_widgets.cache import (
    CACHE_DISABLED,
    FORCED,
    NO_EARLIER,
    NodeRecord,
    Store,
    cached,
    code_hash,
    explain,
    not_cacheable,
    process_parts,
    short_id,
)
from containerdag_widgets.processes.python import PythonProcess

OLD_ID = "sha256:1a2b3c1a2b3c" + "0" * 52
NEW_ID = "sha256:4d5e6f4d5e6f" + "0" * 52


def container(inputs='{"x":1.0,"y":2.0}', **changes):
    parts = {"kind": "container", "name": "python_add",
             "image": "containerdag/add_subtract:latest", "image_id": OLD_ID,
             "argv": ["python3", "/app/add.py"],
             "description": {"description": "Addition.", "inputs": {}, "outputs": {}},
             "env": {}, "inputs": inputs}
    return {**parts, **changes}


def python(inputs='{"x":1.0}', **changes):
    parts = {"kind": "python", "name": "my_fn", "qualname": "cell.my_fn", "code": "c1",
             "python": "3.11", "version": None, "description": {"inputs": {}, "outputs": {}},
             "env": {}, "inputs": inputs}
    return {**parts, **changes}


def test_fixed_reasons():
    assert NO_EARLIER == "ran: no earlier result"
    assert FORCED == "ran: forced"
    assert CACHE_DISABLED == "ran: cache disabled"
    assert not_cacheable("random float") == "ran: not cacheable (random float)"
    assert explain(None, container()) == "ran: no earlier result"


def test_one_input_changed():
    assert explain(container('{"x":1.0,"y":2.0}'), container('{"x":2.0,"y":2.0}')) == \
        "ran: input x changed 1.0 -> 2.0"


def test_several_inputs_changed():
    assert explain(container('{"x":1.0,"y":2.0}'), container('{"x":2.0,"y":"a"}')) == \
        'ran: input x changed 1.0 -> 2.0; input y changed 2.0 -> "a"'


def test_an_int_for_a_float_is_a_change_as_in_the_key():
    assert explain(container('{"x":1.0}'), container('{"x":1}')) == "ran: input x changed 1.0 -> 1"


def test_inputs_added_and_removed():
    assert explain(container('{"x":1.0}'), container('{"y":[1,2]}')) == \
        "ran: input x removed (was 1.0); input y added ([1,2])"


def test_long_values_are_clipped():
    reason = explain(python('{"s":"short"}'), python('{"s":"%s"}' % ("v" * 100)))
    assert reason.startswith('ran: input s changed "short" -> "vvvv')
    assert reason.endswith('...') and len(reason) < 100


def test_upstream_node_changed():
    old, new = container('{"x":2.0,"y":1.0}'), container('{"x":3.0,"y":1.0}')
    assert explain(old, new, references={"x": ("a", "z")}) == \
        "ran: upstream node a gave z=3.0 (was 2.0)"


def test_image_rebuilt_under_the_same_tag():
    assert explain(container(), container(image_id=NEW_ID)) == \
        "ran: image containerdag/add_subtract:latest rebuilt (sha256:1a2b3c1a2b3c -> " \
        "sha256:4d5e6f4d5e6f)"


def test_image_changed_tag_and_id():
    assert explain(container(), container(image="mine:2", image_id=NEW_ID)) == \
        "ran: image changed containerdag/add_subtract:latest -> mine:2 (sha256:1a2b3c1a2b3c -> " \
        "sha256:4d5e6f4d5e6f)"


def test_a_new_tag_for_the_same_image_is_no_reason():
    assert explain(container(), container(image="retagged:1")) == NO_EARLIER


def test_command_description_and_environment_changed():
    assert explain(container(), container(argv=["python3", "/app/add.py", "--x y"])) == \
        "ran: command changed python3 /app/add.py -> python3 /app/add.py '--x y'"
    assert explain(container(), container(description={"description": "New."})) == \
        "ran: description of python_add changed"
    assert explain(container(env={"A": "1", "B": "secret"}),
                   container(env={"A": "2", "C": "3", "B": "secret"})) == \
        "ran: environment changed (A, C)"


def test_code_and_version_changed():
    assert explain(python(), python(code="c2")) == "ran: code of my_fn changed"
    assert explain(python(version="1"), python(version="2")) == \
        "ran: version of my_fn changed 1 -> 2"
    assert explain(python(), python(version="2")) == "ran: version of my_fn changed none -> 2"
    assert explain(python(), python(python="3.12")) == "ran: Python changed 3.11 -> 3.12"


def test_several_kinds_of_change_in_one_sentence():
    assert explain(python('{"x":1.0}'), python('{"x":2.0}', code="c2")) == \
        "ran: code of my_fn changed; input x changed 1.0 -> 2.0"


def test_another_process_under_the_same_node_name():
    assert explain(container(), container(name="python_sub", inputs='{"x":5}')) == \
        "ran: process changed python_add -> python_sub"
    assert explain(container(), python(name="python_add")) == \
        "ran: process python_add changed from an image to a Python function"


def test_same_parts_say_what_happened_last_time():
    assert explain(python(), python()) == NO_EARLIER
    assert explain(python(), python(), last_status="failed") == "ran: last run failed"
    assert explain(python(), python(), last_status="cancelled") == "ran: last run cancelled"
    assert explain(python(), python(), last_status="done") == \
        "ran: earlier result no longer cached"


def test_cached_reasons():
    created = time.mktime((2024, 5, 3, 10, 42, 0, 0, 0, -1))
    same_day = created + 3600
    assert cached(container(), 41, created, now=same_day) == \
        "cached: same image sha256:1a2b3c1a2b3c, same inputs (from run 41, 10:42)"
    assert cached(python(), 41, created, now=same_day) == \
        "cached: same code, same inputs (from run 41, 10:42)"
    assert cached(python(), 41, created, now=created + 2 * 86400) == \
        "cached: same code, same inputs (from run 41, 2024-05-03 10:42)"
    assert cached(python(), None, created, now=same_day) == \
        "cached: same code, same inputs (from 10:42)"


def test_short_id():
    assert short_id(OLD_ID) == "sha256:1a2b3c1a2b3c"
    assert short_id("1a2b3c1a2b3c99") == "sha256:1a2b3c1a2b3c"
    assert short_id(None) == "?"


def test_explaining_from_the_history(tmp_path):
    """The flow the runner will use: parts of this run against the last recorded run."""
    namespace: dict = {"__name__": "cell"}
    exec("def my_fn(x):\n    return {'z': x + 1}\n", namespace)
    proc = PythonProcess(namespace["my_fn"], name="my_fn", inputs={"x": 1.0},
                         outputs={"z": 1.0})
    with Store.open(tmp_path / "db.sqlite") as store:
        run = store.begin_run({})
        first = process_parts(proc, {"x": 1.0})
        store.record_node(run, NodeRecord("b", "done", key="k1", key_parts=first))
        store.finish_run(run)

        exec("def my_fn(x):\n    return {'z': x + 2}\n", namespace)
        proc.fn = namespace["my_fn"]
        now = process_parts(proc, {"x": 5.0})
        last = store.last_node_run("b")
        assert code_hash(proc.fn) == now["code"]
        assert explain(last.key_parts, now, references={"x": ("a", "z")},
                       last_status=last.status) == \
            "ran: code of my_fn changed; upstream node a gave z=5.0 (was 1.0)"
