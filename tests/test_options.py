"""Run options are checked before anything starts, each bad value with its own error."""

import math

import pytest

from containerdag_widgets import Graph, OptionError, Registry, process

from .processes import add

BAD_OPTIONS = [
    ({"max_workers": "4"}, "max_workers"),
    ({"max_workers": 0}, "max_workers"),
    ({"max_workers": -2}, "max_workers"),
    ({"max_workers": 2.5}, "max_workers"),
    ({"max_workers": True}, "max_workers"),
    ({"timeout": 0}, "timeout"),
    ({"timeout": -1}, "timeout"),
    ({"timeout": math.nan}, "timeout"),
    ({"timeout": math.inf}, "timeout"),
    ({"timeout": "10"}, "timeout"),
    ({"nodes": ["no such"]}, "nodes"),
    ({"nodes": "a"}, "nodes"),
    ({"listeners": print}, "listeners"),
    ({"listeners": [1]}, "listeners"),
    ({"executor": object()}, "executor"),
]


class HalfChained:
    """An executor with ``chain_limit`` but not ``submit_chain``: half of an optional pair."""

    slots = 0

    def prepare(self, max_workers): ...
    def runs_inline(self, call): ...
    def run_inline(self, call, *, report): ...
    def submit(self, call, *, cancel, report): ...
    def close(self): ...
    def chain_limit(self, process, *, bundle=False): ...


def test_an_executor_with_half_the_chain_members_is_refused_naming_the_other():
    g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 2.0}}})
    with pytest.raises(OptionError, match="missing: submit_chain") as info:
        g.run(Registry([add]), executor=HalfChained())
    assert info.value.option == "executor"
    with pytest.raises(OptionError, match="missing: slots, prepare, runs_inline"):
        g.run(Registry([add]), executor=object())


@pytest.mark.parametrize(("options", "option"), BAD_OPTIONS)
@pytest.mark.parametrize("how", ["run", "start"])
def test_a_bad_option_is_refused_before_any_node_starts(options, option, how):
    calls = []

    @process(outputs={"z": 1.0})
    def counted(x: float = 1.0):
        calls.append(x)
        return {"z": x}

    g = Graph.from_spec({"a": {"process": "counted", "inputs": {"x": 1.0}}})
    with pytest.raises(OptionError) as info:
        getattr(g, how)(Registry([counted]), **options)
    assert info.value.option == option
    assert f"option {option}=" in str(info.value)
    value = next(iter(options.values()))
    if isinstance(value, list):
        value = value[0]  # the offending element is named
    assert repr(value) in str(info.value)
    assert calls == []


def test_options_are_keyword_only_and_spelled_out():
    g = Graph.from_spec({"a": {"process": "add", "inputs": {"x": 1.0, "y": 2.0}}})
    with pytest.raises(TypeError):
        g.run(Registry([add]), 4)  # positional max_workers
    with pytest.raises(OptionError, match="did you mean 'max_workers'"):
        g.run(Registry([add]), max_worker=4)  # a typo is not swallowed by **options
    assert g.run(Registry([add]), max_workers=1, timeout=5, nodes=["a"]).outputs == {
        "a": {"z": 3.0}}
