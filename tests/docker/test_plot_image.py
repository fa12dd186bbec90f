"""The example image around a real tool: containerdag/plot (Debian's gnuplot) on the engine."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from containerdag_widgets import File, Graph, Registry
from containerdag_widgets.cache.artifacts import ArtifactStore
from containerdag_widgets.docker import leftovers

PLOT = "containerdag/plot:latest"
CSV_PATH = "/tmp/m\u00e9 sure's.csv"  # quoted for gnuplot: a space, a quote, not ASCII
CSV = b"t,temperature\n0,20.1\n1,20.5\n2,21.3\n3,22.0\n4,21.7\n"


@pytest.fixture(scope="module")
def plot_registry(docker_client):
    reg = Registry.from_docker(images=[PLOT])
    yield reg
    reg.close()
    assert leftovers(docker_client, reg.session) == []


def _exec(proc, argv: list[str], stdin: bytes = b""):
    """``argv`` in the process's warm (hardened) container, as a call of the toolkit runs."""
    return proc.pool.exec(proc.image_id, proc.image, argv, stdin, process=proc.name,
                          timeout=60, max_output=8 << 20, max_stderr=1 << 20)


def test_the_plot_image_describes_plot_csv(plot_registry):
    proc = plot_registry.get("plot_csv")
    assert plot_registry.problems == []
    assert "gnuplot" in proc.description and proc.source == PLOT
    assert set(proc.inputs) == {"data", "title", "x", "y"} and set(proc.outputs) == {"plot"}
    assert proc.inputs["x"] == 1 and proc.inputs["y"] == 2
    assert proc.command == ["python3", "/app/plot.py"]


def test_gnuplot_plots_in_the_locked_down_container(plot_registry):
    """No network, read-only root, caps dropped: the CSV and the PNG live in /tmp only."""
    proc = plot_registry.get("plot_csv")
    try:
        assert _exec(proc, ["tee", CSV_PATH], CSV).exit_code == 0
        given = {"data": {"$file": CSV_PATH}, "title": "it's 'quoted' & ^{raw}",
                 "x": 1, "y": 2}
        run = _exec(proc, ["env", "CONTAINERDAG_OUTPUT_DIR=/tmp", *proc.command],
                    json.dumps(given).encode())
        assert run.exit_code == 0, run.stderr
        assert json.loads(run.stdout) == {"plot": {"$file": "/tmp/plot.png"}}
        png = _exec(proc, ["cat", "/tmp/plot.png"]).stdout
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG" and image.size == (640, 400)
            assert len(image.convert("RGB").getcolors(1 << 16)) > 2  # something was drawn

        bad = _exec(proc, ["env", "CONTAINERDAG_OUTPUT_DIR=/tmp", *proc.command],
                    json.dumps({**given, "y": 5}).encode())
        assert bad.exit_code == 1
        assert (f"input 'y' is column 5, but {CSV_PATH.rsplit('/', 1)[1]!r} has 2 column(s): "
                "t, temperature") in bad.stderr.decode()
    finally:
        _exec(proc, ["rm", "-f", CSV_PATH, "/tmp/plot.png"])


def test_a_csv_goes_through_plot_csv_to_a_png_by_the_file_transport(plot_registry, tmp_path,
                                                                     monkeypatch):
    """The toolkit places the CSV in the warm container and copies the PNG out."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mé sure's.csv").write_bytes(CSV)
    graph = Graph.from_yaml("plot:\n  process: plot_csv\n"
                            "  inputs: {data: {file: \"mé sure's.csv\"}, title: t, x: 1, y: 2}\n")
    png = graph.run(plot_registry).raise_for_status().outputs["plot"]["plot"]
    assert isinstance(png, File) and png.name == "plot.png"
    assert ArtifactStore().contains(png) and png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(png.path) as image:
        assert image.format == "PNG" and image.size == (640, 400)
        assert len(image.convert("RGB").getcolors(1 << 16)) > 2
    assert plot_registry.get("plot_csv").file_ports == {"inputs.data": ".csv",
                                                        "outputs.plot": ".png"}


def test_describe_and_the_registry_widget_show_the_file_ports(plot_registry, capsys):
    from containerdag_widgets import cli
    from containerdag_widgets.widgets import RegistryWidget

    assert cli.main(["--image", PLOT, "describe", "plot_csv"]) == 0
    assert "  file ports: inputs.data (.csv), outputs.plot (.png)\n" in capsys.readouterr().out
    html = RegistryWidget(plot_registry)._panel_html("plot_csv")
    assert ('<div class="cdw-file-ports">file ports: inputs.data (.csv), outputs.plot (.png)'
            '</div>') in html
