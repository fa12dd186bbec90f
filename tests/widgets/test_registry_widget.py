from pathlib import Path

import pytest

from containerdag_widgets import Registry, RegistryWidget, process


def make_registry():
    @process(outputs={"n": 0.5}, name="random float")
    def uniform(min: float = 0.0, max: float = 1.0):
        """A uniformly distributed random float."""
        return {"n": min}

    @process(outputs={"choice": 1.0}, name="random choice")
    def choice(choices: list = [1, 2]):  # noqa: B006 - example value
        """A random choice."""
        return {"choice": choices[0]}

    return Registry([uniform, choice])


def test_python_processes_are_grouped():
    w = RegistryWidget(make_registry())
    nodes = {i: n["data"].get("parent") for i, n in w.pane.nodes.items()}
    assert nodes == {"group:python": None, "random float": "group:python",
                     "random choice": "group:python"}
    assert w.summary.value == "2 of 2 processes"


def test_click_shows_description_and_ports():
    w = RegistryWidget(make_registry())
    w._on_click({"data": {"id": "random float"}})
    html = w.panel.value
    assert 'data-process="random float"' in html
    assert "A uniformly distributed random float." in html
    assert "min" in html and "0.5" in html


def test_filter_narrows_processes():
    w = RegistryWidget(make_registry())
    w.filter_box.value = "choice"
    assert list(w.pane.nodes) == ["group:python", "random choice"]
    assert w.summary.value == "1 of 2 processes"
    w.filter_box.value = "uniformly"  # descriptions match too
    assert w.visible_processes() == ["random float"]


def test_refresh_keeps_manual_processes():
    reg = make_registry()
    w = RegistryWidget(reg)
    w.refresh_button.click()
    assert sorted(reg) == ["random choice", "random float"]


def test_summary_counts_only_description_failures_as_undescribed():
    from containerdag_widgets.docker import RunnerUnavailable
    from containerdag_widgets.model.errors import DescriptionError

    class Noted(Registry):
        @property
        def problems(self):
            return [DescriptionError("no JSON on stdout", process="broken", image="x:1"),
                    RunnerUnavailable("the runner did not start", image="y:1")]

    w = RegistryWidget(Noted(list(make_registry().processes.values())))
    assert w.summary.value == "2 of 2 processes, 1 could not be described, 1 note"
    assert "the runner did not start" in w.panel.value


@pytest.mark.docker
def test_cwl_tools_are_a_group_of_their_own_with_their_doc_and_hints(docker_client):
    examples = Path(__file__).resolve().parents[2] / "examples" / "cwl"
    reg = make_registry()
    try:
        reg.add_cwl(examples / "resize.cwl")
        reg.add_cwl(examples / "identify.cwl")
        w = RegistryWidget(reg)
        parents = {i: n["data"].get("parent") for i, n in w.pane.nodes.items()}
        assert parents["resize"] == parents["identify"] == "group:cwl"
        assert parents["random float"] == "group:python"
        group = w.pane.nodes["group:cwl"]
        assert group["data"]["label"] == "CWL tools" and "cwl" in group["classes"]
        w._on_click({"data": {"id": "resize"}})
        html = w.panel.value
        assert "documentation" in html and "cdw-cwl-doc" in html
        # its doc with its line breaks, not only the one-line description
        assert "Scales the picture to fit in `geometry`" in html
        assert "ratio, 64x64! does not)." in html.replace("\n", " ")
        assert "\n" in html.split("cdw-cwl-doc")[1].split("</pre>")[0]
        assert 'class="cdw-cwl-hints"' in html and "DockerRequirement" in html
        assert "dockerPull: <code>containerdag/imagemagick:latest</code>" in html
        w._on_click({"data": {"id": "random float"}})
        assert "cdw-cwl-hints" not in w.panel.value
        w.close()
    finally:
        reg.close()
