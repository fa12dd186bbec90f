"""Cache keys: canonical JSON, the code hash, and a node's key from its parts."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import pytest

from containerdag_widgets.cache import (
    canonical_json,
    code_hash,
    node_key,
    pick_env,
    process_parts,
    with_inputs,
)
from containerdag_widgets.docker.process import ContainerProcess
from containerdag_widgets.processes.base import Process
from containerdag_widgets.processes.python import PythonProcess

# ---- canonical JSON --------------------------------------------------------------------------


def test_canonical_json_sorts_keys_and_drops_whitespace():
    assert canonical_json({"b": [1, {"d": 2, "c": 3}], "a": None}) == \
        '{"a":null,"b":[1,{"c":3,"d":2}]}'
    assert canonical_json({"b": 1, "a": 2}) == canonical_json({"a": 2, "b": 1})
    assert canonical_json((1, 2)) == canonical_json([1, 2])


def test_canonical_json_keeps_the_exact_float_text():
    assert canonical_json(0.1 + 0.2) == "0.30000000000000004"
    assert canonical_json([1.0, 1, -0.0, 1e-7, 2.5e300]) == "[1.0,1,-0.0,1e-07,2.5e+300]"
    assert canonical_json(1.0) != canonical_json(1)
    assert canonical_json(True) != canonical_json(1)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, {"x": [1.0, math.nan]}])
def test_canonical_json_refuses_nan_and_infinity(bad):
    with pytest.raises(ValueError, match="NaN/inf"):
        canonical_json(bad)


@pytest.mark.parametrize("bad", [{1: "a"}, {"x": {2.0: 1}}, {"s": {1, 2}}, b"raw", object()])
def test_canonical_json_refuses_what_json_cannot_say_exactly(bad):
    with pytest.raises(TypeError):
        canonical_json(bad)


def test_canonical_json_escapes_unicode():
    assert canonical_json({"é": "ü\n"}) == '{"\\u00e9":"\\u00fc\\n"}'


# ---- code hash -------------------------------------------------------------------------------

BASE = '''
SCALE = 2.0

def helper(v):
    return v + 1

def f(x, y=2):
    """Add and scale."""
    z = x + y  # the sum
    return {"z": [i * SCALE for i in range(z)], "w": helper(x), "l": (lambda q: q * 3)(y)}
'''


def _fn(source: str, name: str = "f", filename: str = "<cell>"):
    """The function ``name`` defined by ``source``, compiled as a notebook cell would be."""
    namespace: dict = {"__name__": "cell"}
    exec(compile(textwrap.dedent(source), filename, "exec"), namespace)
    return namespace[name]


SAME = {
    "comment edited": BASE.replace("# the sum", "# the total of x and y, edited"),
    "comment line added": BASE.replace("    z = x + y", "    # a new comment\n    z = x + y"),
    "blank lines above": "\n\n\n\n" + BASE,
    "moved down past another def": BASE.replace("def f(", "def other():\n    pass\n\n\ndef f("),
    "reflowed": BASE.replace('"w": helper(x),', '"w": helper(\n        x\n    ),'),
    "docstring edited": BASE.replace("Add and scale.", "Adds, then scales."),
    "file name": BASE,
}

DIFFERENT = {
    "body edited": BASE.replace("z = x + y", "z = x - y"),
    "constant changed": BASE.replace("i * SCALE", "i * SCALE * 1.5"),
    "lambda body edited": BASE.replace("q * 3", "q * 4"),
    "comprehension edited": BASE.replace("range(z)", "range(z + 1)"),
    "default changed": BASE.replace("y=2", "y=3"),
    "argument renamed": BASE.replace("def f(x, y=2)", "def f(a, y=2)").replace("z = x", "z = a")
    .replace("helper(x)", "helper(a)"),
    "global constant changed": BASE.replace("SCALE = 2.0", "SCALE = 3.0"),
    "helper body edited": BASE.replace("return v + 1", "return v + 2"),
}


@pytest.mark.parametrize("edit", SAME)
def test_code_hash_ignores_comments_formatting_and_position(edit):
    filename = "<other>" if edit == "file name" else "<cell>"
    assert code_hash(_fn(SAME[edit], filename=filename)) == code_hash(_fn(BASE))


@pytest.mark.parametrize("edit", DIFFERENT)
def test_code_hash_changes_with_what_the_function_does(edit):
    assert code_hash(_fn(DIFFERENT[edit])) != code_hash(_fn(BASE))


@pytest.mark.parametrize("a, b", [("1", "1.0"), ("1", "True"), ("0.0", "-0.0"), ("'a'", "b'a'"),
                                  ("(1, 2)", "(1, 2.0)")])
def test_code_hash_tells_equal_constants_of_other_types_apart(a, b):
    assert code_hash(_fn(f"def g():\n    return {a}\n", "g")) != \
        code_hash(_fn(f"def g():\n    return {b}\n", "g"))


def test_code_hash_follows_closures_and_keyword_defaults():
    def make(k):
        def inner(x, *, m=1):
            return x * k * m
        return inner

    assert code_hash(make(2)) == code_hash(make(2))
    assert code_hash(make(2)) != code_hash(make(3))
    assert code_hash(_fn("def g(x, *, m=1):\n    return x\n", "g")) != \
        code_hash(_fn("def g(x, *, m=2):\n    return x\n", "g"))


def test_code_hash_handles_recursion_and_wrappers():
    import functools

    recursive = _fn("def fact(n):\n    return 1 if n < 2 else n * fact(n - 1)\n", "fact")
    assert len(code_hash(recursive)) == 64

    @functools.wraps(recursive)
    def wrapper(n):
        return recursive(n)

    assert code_hash(wrapper) == code_hash(recursive)
    assert code_hash(functools.partial(recursive, 3)) != code_hash(functools.partial(recursive, 4))
    with pytest.raises(TypeError):
        code_hash(len)


def test_code_hash_is_the_same_in_another_interpreter():
    # Set constants iterate in string-hash order, which PYTHONHASHSEED changes per process.
    source = "def f(x):\n    return x in {'alpha', 'beta', 'gamma', 'delta'}, 1.5\n"
    program = (
        "import sys; from tests.cache.test_keys import _fn; "
        "from containerdag_widgets.cache import code_hash; "
        f"print(code_hash(_fn({source!r})))"
    )
    hashes = {
        subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                       check=True, env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
                       cwd=str(__import__("pathlib").Path(__file__).parents[2])).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert hashes == {code_hash(_fn(source))}


# ---- parts and keys --------------------------------------------------------------------------


def _container(**changes):
    """A container process as discovery makes it (no pool: its key needs none)."""
    proc = ContainerProcess(
        name="python_add", image="containerdag/add_subtract:latest",
        image_id="sha256:" + "1a2b3c" * 10 + "abcd", command=["python3", "/app/add.py"],
        description="Addition. z = x + y.", inputs={"x": 1.0, "y": 1.0}, outputs={"z": 1.0},
        pool=None)
    for name, value in changes.items():
        setattr(proc, name, value)
    return proc


def _python(fn=None, **changes):
    proc = PythonProcess(fn or _fn(BASE), name="my_fn", description="Add and scale.",
                         inputs={"x": 1, "y": 2}, outputs={"z": []})
    for name, value in changes.items():
        setattr(proc, name, value)
    return proc


INPUTS = {"x": 1.0, "y": 2.0}


def test_container_parts_keep_what_matters_and_what_messages_need():
    parts = process_parts(_container(), INPUTS)
    assert parts["kind"] == "container"
    assert parts["image"] == "containerdag/add_subtract:latest"
    assert parts["argv"] == ["python3", "/app/add.py"]
    assert parts["description"] == {"description": "Addition. z = x + y.",
                                    "inputs": {"x": 1.0, "y": 1.0}, "outputs": {"z": 1.0}}
    assert parts["inputs"] == '{"x":1.0,"y":2.0}'
    assert parts["env"] == {}
    key = node_key(parts)
    assert len(key) == 64 and int(key, 16) >= 0


def test_a_container_key_ignores_the_tag_and_name_but_not_the_image_id():
    key = node_key(process_parts(_container(), INPUTS))
    assert node_key(process_parts(_container(image="other:tag", name="renamed"), INPUTS)) == key
    for change in ({"image_id": "sha256:" + "4d5e6f" * 10 + "abcd"},
                   {"command": ["python3", "/app/add.py", "--fast"]},
                   {"description": "Addition, faster."},
                   {"outputs": {"z": 1.0, "w": 1.0}}):
        assert node_key(process_parts(_container(**change), INPUTS)) != key, change
    assert node_key(process_parts(_container(), {"x": 1.0, "y": 2.5})) != key
    assert node_key(process_parts(_container(), {"x": 1, "y": 2.0})) != key  # 1 is not 1.0
    assert node_key(process_parts(_container(), INPUTS, env={"OMP_NUM_THREADS": "4"})) != key
    assert node_key(process_parts(_container(), {"y": 2.0, "x": 1.0})) == key


def test_a_python_key_follows_code_version_and_ports_but_not_the_docstring():
    parts = process_parts(_python(), INPUTS)
    assert (parts["kind"], parts["qualname"], parts["version"]) == ("python", "cell.f", None)
    assert parts["python"] == "{}.{}".format(*sys.version_info[:2])
    key = node_key(parts)
    assert node_key(process_parts(_python(description="Other words."), INPUTS)) == key
    assert node_key(process_parts(_python(fn=_fn(SAME["comment edited"])), INPUTS)) == key
    assert node_key(process_parts(_python(fn=_fn(DIFFERENT["body edited"])), INPUTS)) != key
    assert node_key(process_parts(_python(version="2"), INPUTS)) != key
    assert node_key(process_parts(_python(outputs={"z": [], "w": 1}), INPUTS)) != key


def test_non_deterministic_or_unknown_processes_have_no_parts():
    assert process_parts(_container(cacheable=False), INPUTS) is None
    assert process_parts(_python(cacheable=False), INPUTS) is None
    assert process_parts(_container(image_id=""), INPUTS) is None
    assert process_parts(Process(name="odd"), INPUTS) is None  # a kind that cannot be keyed


def test_parts_with_inputs_added_later_give_the_same_key():
    bare = process_parts(_container())
    assert "inputs" not in bare
    with pytest.raises(ValueError, match="inputs"):
        node_key(bare)
    assert node_key(with_inputs(bare, INPUTS)) == node_key(process_parts(_container(), INPUTS))
    with pytest.raises(ValueError, match="NaN"):
        with_inputs(bare, {"x": math.nan})
    with pytest.raises(ValueError, match="kind"):
        node_key({"inputs": "{}"})
    # A new kind of process brings its own parts: all but the labels count.
    shell = {"kind": "shell", "name": "a", "script": "echo 1", "inputs": "{}"}
    assert node_key(shell) == node_key({**shell, "name": "b"}) != node_key(
        {**shell, "script": "echo 2"})


def test_pick_env_takes_only_allow_listed_variables_that_are_set():
    environ = {"B": "2", "A": "1", "SECRET": "x"}
    assert list(pick_env(["B", "A", "MISSING"], environ).items()) == [("A", "1"), ("B", "2")]


def test_parts_of_a_real_python_process():
    from containerdag_widgets.processes.python import process

    @process(outputs={"n": 0.5}, name="random float", cache=False)
    def uniform(low: float = 0.0, high: float = 1.0):
        """A random float."""
        import random

        return {"n": random.uniform(low, high)}

    @process(outputs={"z": 1.0}, version="2")
    def double(x: float = 1.0):
        return {"z": 2 * x}

    assert process_parts(uniform, {"low": 0.0, "high": 1.0}) is None
    parts = process_parts(double, {"x": 3.0})
    assert parts["name"] == "double" and parts["version"] == "2"
    assert parts["qualname"].endswith("double")
    assert parts["description"] == {"inputs": {"x": 1.0}, "outputs": {"z": 1.0}}
