"""The terminal view of ``containerdag run`` (``cli.terminal.RunProgress``), fed events."""

from __future__ import annotations

import io

from containerdag_widgets import NodeFinished, NodeProgress, NodeStarted, RunStarted
from containerdag_widgets.cli.terminal import RunProgress


def test_the_bar_names_a_running_nodes_file_on_the_move_and_drops_it_when_it_ends():
    stream = io.StringIO()
    view = RunProgress(stream)
    view(RunStarted("1", ("make", "hash"), 0.0))
    view(NodeStarted("make", {}, 0.0))
    view(NodeProgress("make", "output made (big.bin)", 3 * 2**29, 2**31, 0.0))
    shown = stream.getvalue()
    assert "running: make (output made (big.bin): 1.5 GiB of 2.0 GiB)" in shown
    view(NodeFinished("make", "done", 1.0, {}, None, "", 1.0))
    view(NodeStarted("hash", {}, 1.0))
    tail = stream.getvalue()[len(shown):]
    assert "running: hash" in tail and "big.bin" not in tail.split("running: hash")[-1]
    view.close()
