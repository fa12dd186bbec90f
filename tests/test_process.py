import pytest

from containerdag_widgets import InputError, ProcessFailed, ProcessTimeout, ProtocolError, process
from containerdag_widgets.model.ports import accepts, json_type


@process(outputs={"n": 0.5}, name="random float")
def uniform(min: float = 0.0, max: float = 1.0):
    """A uniformly distributed random float."""
    return {"n": (min + max) / 2}


def test_ports_come_from_signature_and_docstring():
    assert uniform.name == "random float"
    assert uniform.inputs == {"min": 0.0, "max": 1.0}
    assert uniform.outputs == {"n": 0.5}
    assert uniform.description == "A uniformly distributed random float."
    assert uniform.source == "python"


def test_annotation_without_default_gives_typed_example():
    @process(outputs={"s": ""})
    def f(a: int, b: str, c: list):
        return {"s": f"{a}{b}{c}"}

    assert f.inputs == {"a": 0, "b": "", "c": []}
    assert f.run({"a": 1, "b": "x", "c": [2]}) == {"s": "1x[2]"}


def test_parameter_without_example_is_refused():
    with pytest.raises(TypeError, match="needs a default value"):
        @process(outputs={"z": 1})
        def f(a):
            return a


def test_run_checks_inputs_and_names_them():
    with pytest.raises(InputError) as info:
        uniform.run({"min": 0.0, "mx": 2.0})
    msg = str(info.value)
    assert "'mx'" in msg and "'max'" in msg and "random float" in msg


def test_int_accepted_for_float_not_string():
    assert uniform.run({"min": 0, "max": 2}) == {"n": 1.0}
    with pytest.raises(InputError,
                       match="input 'max' of process 'random float' is string '2', expected"):
        uniform.run({"min": 0, "max": "2"})


def test_single_output_may_be_returned_bare():
    @process(outputs={"z": 1.0})
    def double(x: float = 1.0):
        return 2 * x

    assert double.run({"x": 3.0}) == {"z": 6.0}


def test_missing_output_is_protocol_error():
    @process(outputs={"z": 1.0, "w": 1.0})
    def half(x: float = 1.0):
        return {"z": x}

    with pytest.raises(ProtocolError, match="miss declared key.*'w'"):
        half.run({"x": 1.0})


def test_exception_becomes_process_failed_with_cause():
    @process(outputs={"z": 1.0})
    def boom(x: float = 1.0):
        raise ZeroDivisionError("nope")

    with pytest.raises(ProcessFailed, match="ZeroDivisionError: nope") as info:
        boom.run({"x": 1.0})
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_timeout_abandons_a_slow_python_call():
    import threading

    gate = threading.Event()

    @process(outputs={"z": 1.0})
    def stuck(x: float = 1.0):
        gate.wait(5)
        return {"z": x}

    with pytest.raises(ProcessTimeout, match="timed out after 0.2 s"):
        stuck.run({"x": 1.0}, timeout=0.2)
    gate.set()


@pytest.mark.parametrize(
    "value,kind",
    [(None, "null"), (True, "boolean"), (1, "integer"), (1.5, "number"), ("s", "string"),
     ([1], "array"), ((1,), "array"), ({"a": 1}, "object")],
)
def test_json_type(value, kind):
    assert json_type(value) == kind


def test_accepts():
    assert accepts("number", "integer")
    assert not accepts("integer", "number")
    assert accepts("null", "string")
    assert not accepts("boolean", "integer")
