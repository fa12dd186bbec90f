"""CWL CommandLineTools as processes (issue 21), on the real engine: cwltool builds and
collects each job, the warm containers run it."""

import textwrap
from pathlib import Path

import pytest

from containerdag_widgets import Graph, ProcessFailed, Registry
from containerdag_widgets.model.errors import DescriptionError, ImageNotFound, InputError
from containerdag_widgets.model.files import File
from containerdag_widgets.processes.cwl import DEFAULT_IMAGE, CwlDescriptionError, CwlProcess

pytestmark = pytest.mark.docker


def write(where: Path, name: str, text: str) -> Path:
    path = where / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


ECHO = """
    cwlVersion: v1.2
    class: CommandLineTool
    label: Say a message into a file.
    baseCommand: echo
    requirements:
      InlineJavascriptRequirement: {}
    inputs:
      message: {type: string, inputBinding: {position: 1}}
      times: {type: int, default: 2}
      loud: boolean?
      mode: {type: {type: enum, symbols: [fast, slow]}, default: slow}
      words: {type: 'string[]', default: [a, b]}
    stdout: said.txt
    outputs:
      said: stdout
      n: {type: int, outputBinding: {outputEval: $(inputs.times * 3)}}
"""

# $(runtime.outdir), $(inputs.x.path), nameroot, basename, HOME and TMPDIR in the container
PATHS = """
    cwlVersion: v1.2
    class: CommandLineTool
    requirements:
      ShellCommandRequirement: {}
      InlineJavascriptRequirement: {}
      EnvVarRequirement: {envDef: {GREETING: hello from env}}
      InitialWorkDirRequirement:
        listing:
          - entryname: script.sh
            entry: |
              echo "$GREETING"
              echo "home=$HOME tmp=$TMPDIR pwd=$PWD"
    inputs:
      data: File
    arguments:
      - valueFrom: "sh script.sh > report.txt;"
        shellQuote: false
      - valueFrom: >-
          echo $(inputs.data.path) $(inputs.data.basename) $(inputs.data.nameroot)
          $(runtime.outdir) $(runtime.tmpdir) >> report.txt;
        shellQuote: false
      - valueFrom: "tr a-z A-Z < $(inputs.data.path) > $(inputs.data.nameroot).upper.txt"
        shellQuote: false
    outputs:
      report: {type: File, outputBinding: {glob: report.txt, loadContents: true}}
      upper: {type: File, outputBinding: {glob: "*.upper.txt"}}
      first_line:
        type: string
        outputBinding:
          glob: report.txt
          loadContents: true
          outputEval: "$(self[0].contents.split(String.fromCharCode(10))[0])"
"""


@pytest.fixture
def registry():
    with Registry() as reg:
        yield reg


def test_ports_defaults_details_and_key_parts(tmp_path, registry):
    proc = registry.add_cwl(write(tmp_path, "echo.cwl", ECHO))
    assert isinstance(proc, CwlProcess) and proc.name == "echo"
    assert proc.inputs == {"message": "", "times": 2, "loud": None, "mode": "slow",
                           "words": ["a", "b"]}
    assert proc.outputs == {"said": {"$file": "said.txt"}, "n": 0}
    assert proc.file_ports == {"outputs.said": ".txt"}
    assert proc.description == "Say a message into a file."
    assert proc.image == DEFAULT_IMAGE and proc.source == f"cwl:{DEFAULT_IMAGE}"
    details = proc.details()
    assert "the default" in details["image"] and details["command"] == "echo"
    parts = proc.key_parts()
    assert parts["kind"] == "cwl" and len(parts["document"]) == 64
    assert parts["image_id"].startswith("sha256:")
    assert proc.image_command() is None  # a CWL tool is never one command on JSON stdin
    other = registry.add_cwl(write(tmp_path, "echo2.cwl", ECHO.replace("* 3", "* 4")))
    assert other.key_parts()["document"] != parts["document"]
    same = registry.add_cwl(write(tmp_path / "..", "echo3.cwl", ECHO), name="again")
    assert same.name == "again" and same.key_parts()["document"] == parts["document"]


def test_a_call_builds_the_command_and_collects_outputs(tmp_path, registry):
    proc = registry.add_cwl(write(tmp_path, "echo.cwl", ECHO))
    out = proc.run({"message": "hello"})  # defaults and optional inputs may be left out
    assert out["n"] == 6 and isinstance(out["said"], File)
    assert out["said"].name == "said.txt" and out["said"].read_bytes() == b"hello\n"
    assert proc.run({"message": "x", "times": 5, "loud": None})["n"] == 15
    with pytest.raises(InputError, match="message"):
        proc.run({"times": 1})


def test_paths_environment_initial_workdir_and_shell_in_the_container(tmp_path, registry):
    proc = registry.add_cwl(write(tmp_path, "paths.cwl", PATHS))
    assert proc.inputs == {"data": {"$file": "data"}}
    data = tmp_path / "notes.v1.txt"
    data.write_text("abc\n")
    out = proc.run({"data": {"$file": str(data)}})
    report = out["report"].read_text().splitlines()
    assert report[0] == "hello from env" and out["first_line"] == "hello from env"
    home = report[1].split()[0].removeprefix("home=")
    assert home.startswith("/containerdag-work/out/cwl/") and home.endswith("/out")
    assert report[1] == f"home={home} tmp={home[:-4]}/tmp pwd={home}"
    path, basename, nameroot, outdir, tmpdir = report[2].split()
    assert path.startswith(home[:-4] + "/stg") and path.endswith("/notes.v1.txt")
    assert (basename, nameroot, outdir, tmpdir) == ("notes.v1.txt", "notes.v1", home,
                                                    home[:-4] + "/tmp")
    assert out["upper"].name == "notes.v1.upper.txt" and out["upper"].read_text() == "ABC\n"


def test_resources_set_the_container_and_runtime(tmp_path, registry):
    tool = write(tmp_path, "res.cwl", """
        cwlVersion: v1.2
        class: CommandLineTool
        requirements:
          ResourceRequirement: {coresMin: 1, ramMin: 700, outdirMin: 100, tmpdirMin: 50}
        baseCommand: [sh, -c, 'echo $0 $1 > r.txt']
        arguments: [$(runtime.cores), $(runtime.ram)]
        inputs: []
        outputs:
          r: {type: File, outputBinding: {glob: r.txt}}
        """)
    proc = registry.add_cwl(tool)
    assert proc.settings.mem_limit == 700 * 2**20
    assert proc.settings.tmp_size == max(150 * 2**20, 64 * 2**20)
    assert "memory 700m" in proc.details()["container"]
    assert proc.run({})["r"].read_text() == "1 700\n"


def test_image_replaces_the_docker_requirement(tmp_path, registry):
    tool = write(tmp_path, "img.cwl", """
        cwlVersion: v1.2
        class: CommandLineTool
        requirements:
          DockerRequirement: {dockerPull: "registry.example/not/here:1"}
        baseCommand: [cat, /etc/debian_version]
        inputs: []
        stdout: v.txt
        outputs: {v: stdout}
        """)
    with pytest.raises(ImageNotFound, match="registry.example/not/here:1"):
        registry.add_cwl(tool)
    proc = registry.add_cwl(tool, image="debian:bookworm-slim")
    assert proc.details()["image"] == "debian:bookworm-slim (given by image=)"
    assert proc.run({})["v"].read_text().startswith("12")


def test_a_tool_that_does_not_validate_names_file_line_and_field(tmp_path, registry):
    tool = write(tmp_path, "bad.cwl", """
        cwlVersion: v1.2
        class: CommandLineTool
        baseCommand: echo
        inputs:
          x: {type: strang}
        outputs: []
        """)
    with pytest.raises(CwlDescriptionError) as caught:
        registry.add_cwl(tool)
    err = caught.value
    assert isinstance(err, DescriptionError)
    assert err.file == str(tool) and err.line == 5 and err.field == "type"
    assert "strang" in str(err) and "Traceback" not in str(err)
    assert str(err).startswith(f"CWL tool {tool}, line 5, field 'type': ")


def test_a_workflow_is_refused_naming_graph_from_cwl(tmp_path, registry):
    flow = write(tmp_path, "flow.cwl", """
        cwlVersion: v1.2
        class: Workflow
        inputs: []
        outputs: []
        steps: []
        """)
    with pytest.raises(CwlDescriptionError, match=r"Graph\.from_cwl"):
        registry.add_cwl(flow)


@pytest.mark.parametrize("requirement, named", [
    ("InplaceUpdateRequirement: {inplaceUpdate: true}", "InplaceUpdateRequirement"),
    ("NetworkAccess: {networkAccess: true}", "NetworkAccess"),
])
def test_an_unsupported_requirement_is_refused_by_name(tmp_path, registry, requirement, named):
    tool = write(tmp_path, "req.cwl", f"""
        cwlVersion: v1.2
        class: CommandLineTool
        requirements:
          {requirement}
        baseCommand: "true"
        inputs: []
        outputs: []
        """)
    with pytest.raises(CwlDescriptionError, match=named) as caught:
        registry.add_cwl(tool)
    assert caught.value.requirement == named and caught.value.field == "requirements"


def test_an_expression_that_throws_fails_the_node_naming_it(tmp_path, registry):
    tool = write(tmp_path, "throws.cwl", """
        cwlVersion: v1.2
        class: CommandLineTool
        requirements:
          InlineJavascriptRequirement: {}
        baseCommand: echo
        inputs:
          n: int
        arguments: ['${ throw new Error("n must be even, got " + inputs.n); }']
        outputs: []
        """)
    proc = registry.add_cwl(tool)
    with pytest.raises(ProcessFailed) as caught:
        proc.run({"n": 3})
    text = str(caught.value)
    assert "n must be even, got 3" in text and 'throw new Error("n must be even' in text


def test_a_glob_that_matches_nothing_fails_naming_output_and_glob(tmp_path, registry):
    tool = write(tmp_path, "noglob.cwl", """
        cwlVersion: v1.2
        class: CommandLineTool
        baseCommand: "true"
        inputs: []
        outputs:
          result: {type: File, outputBinding: {glob: "result-*.csv"}}
        """)
    proc = registry.add_cwl(tool)
    with pytest.raises(ProcessFailed) as caught:
        proc.run({})
    assert "result" in str(caught.value) and "result-*.csv" in str(caught.value)


def test_a_graph_of_three_cwl_tools_reuses_all_three_on_a_second_run(tmp_path, registry):
    make = write(tmp_path, "make.cwl", """
        cwlVersion: v1.2
        class: CommandLineTool
        baseCommand: seq
        inputs:
          n: {type: int, inputBinding: {position: 1}}
        stdout: numbers.txt
        outputs: {numbers: stdout}
        """)
    total = write(tmp_path, "total.cwl", """
        cwlVersion: v1.2
        class: CommandLineTool
        baseCommand: [paste, -sd+]
        inputs:
          numbers: {type: File, inputBinding: {position: 1}}
        stdout: sum.txt
        outputs: {expression: stdout}
        """)
    count = write(tmp_path, "count.cwl", """
        cwlVersion: v1.2
        class: CommandLineTool
        baseCommand: [wc, -c]
        inputs:
          text: {type: File, inputBinding: {position: 1}}
        stdout: count.txt
        outputs:
          chars:
            type: int
            outputBinding: {glob: count.txt, loadContents: true,
                            outputEval: "$(parseInt(self[0].contents))"}
        requirements:
          InlineJavascriptRequirement: {}
        """)
    for path in (make, total, count):
        registry.add_cwl(path)
    graph = Graph.from_spec({
        "m": {"process": "make", "inputs": {"n": 4}},
        "t": {"process": "total", "inputs": {"numbers": ("m", "numbers")}},
        "c": {"process": "count", "inputs": {"text": ("t", "expression")}},
    })
    first = graph.run(registry)
    assert first.status == {"m": "done", "t": "done", "c": "done"}, first.errors
    assert first.outputs["t"]["expression"].read_text() == "1+2+3+4\n"
    assert first.outputs["c"]["chars"] == 8
    second = graph.run(registry)
    assert second.status == {"m": "cached", "t": "cached", "c": "cached"}


def test_a_node_names_its_tool_with_cwl_and_may_leave_optional_inputs_out(tmp_path, registry,
                                                                          monkeypatch):
    """``cwl: path`` in a node spec adds the tool when the graph runs (named by the node's
    process, else the file's stem); inputs with a default or an optional type may be left
    out, a required one may not."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "echo.cwl", ECHO)
    graph = Graph.from_yaml("say:\n  cwl: echo.cwl\n  inputs: {message: hi}\n")
    assert graph["say"].process == "echo" and graph.to_spec()["say"]["cwl"] == "echo.cwl"
    assert graph.plan(registry)["say"].action == "run"  # the plan adds the tool too
    result = graph.run(registry)
    assert result.status == {"say": "done"}, result.errors
    assert result.outputs["say"]["n"] == 6
    assert result.outputs["say"]["said"].read_text() == "hi\n"
    missing = Graph.from_yaml("quiet:\n  process: echo\n  inputs: {times: 1}\n")
    [problem] = missing.problems(registry)
    assert problem.kind == "missing_input" and "'message'" in problem.message


def test_a_process_cell_wraps_a_command_as_a_cwl_tool(tmp_path):
    from IPython.core.error import UsageError
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    shell.run_line_magic("load_ext", "containerdag_widgets")
    with Registry() as registry:
        shell.user_ns["reg"] = registry
        shell.run_line_magic("dag", "use reg")
        shell.run_cell_magic("process", "shout", textwrap.dedent("""
            cwlVersion: v1.2
            class: CommandLineTool
            baseCommand: [tr, a-z, A-Z]
            stdin: $(inputs.text.path)
            inputs: {text: File}
            stdout: upper.txt
            outputs: {upper: stdout}
            """))
        assert "shout" in registry
        (tmp_path / "in.txt").write_text("quiet\n")
        shell.run_cell_magic("node", "loud", f"process: shout\ninputs: {{text: {{file: "
                                             f"{tmp_path / 'in.txt'}}}}}\n")
        result = shell.run_line_magic("dag", "run --quiet")
        assert result.outputs["loud"]["upper"].read_text() == "QUIET\n"
        with pytest.raises(UsageError, match="%%process broken"):
            shell.run_cell_magic("process", "broken", "cwlVersion: v1.2\nclass: CommandLineTool\n"
                                                      "inputs: 3\noutputs: {}\n")
        shell.run_line_magic("dag", "clear")
        shell.run_line_magic("unload_ext", "containerdag_widgets")
