"""The terminal's side of the command line: a spec file read as UTF-8 (or a SpecError naming
it), text that may come from an image printed with its escapes made visible, and a run's
progress as a terminal shows it while the run goes (``RunProgress``, built from its events)."""

from __future__ import annotations

import json
import re
import sys
from collections import deque
from pathlib import Path
from typing import Any

from ..model.errors import SpecError
from ..model.files import human_size
from ..run.events import (
    Event,
    NodeFinished,
    NodeLog,
    NodeProgress,
    NodeStarted,
    RunFinished,
    RunStarted,
)

__all__ = ["visible", "say", "read_spec", "say_process", "RunProgress"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """``text`` with control characters other than newline and tab shown as escapes."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def say(*parts: Any, file: Any = None, end: str = "\n") -> None:
    """``print`` for text that may come from an image."""
    print(visible(" ".join(str(p) for p in parts)), file=file or sys.stdout, end=end)


def read_spec(path: str) -> str:
    """The text of a spec file; ``SpecError`` naming the file if it is not UTF-8."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path} is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset "
                        f"{exc.start}; save it as UTF-8") from None


def say_process(proc: Any) -> None:
    """A process as ``containerdag describe`` prints it: name and source, description, ports,
    file ports, and how it runs (``Process.details``)."""
    say(f"{proc.name}  [{proc.source}]")
    if proc.description:
        say(f"  {proc.description}")
    say(f"  inputs:  {json.dumps(proc.inputs, default=str)}")
    say(f"  outputs: {json.dumps(proc.outputs, default=str)}")
    if proc.file_ports:
        say("  file ports: " + ", ".join(f"{port} ({hint or 'any extension'})"
                                         for port, hint in proc.file_ports.items()))
    for label, text in proc.details().items():
        say(f"  {label}: {text}")


class RunProgress:
    """What ``containerdag run`` shows on a terminal while the run goes, built from the run's
    events (a listener, called in the run's thread): a tqdm bar of the nodes finished, with
    the running ones after it; a line per finished node above the bar (node, status, time,
    why it ran or was reused, or its error); and with ``verbose`` the last ``log_lines``
    lines of the running nodes' logs under the bar, each after its node's name (a node's
    lines go when it ends). Text from images is shown with its escapes made visible; the bar
    and the log lines are cut to the terminal's width, so they stay where they are."""

    def __init__(self, stream: Any, *, verbose: bool = False, log_lines: int = 4):
        self.stream = stream
        self.verbose = verbose
        self.bar: Any = None
        self.log_bars: list[Any] = []
        self.tail: deque[tuple[str, str]] = deque(maxlen=log_lines)
        self.partial: dict[str, str] = {}  # a node's log line not yet ended by a newline
        self.running: dict[str, None] = {}  # in the order they started
        self.moving: dict[str, str] = {}  # a running node's file on the move, in words
        self.width = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._start(event.nodes)
        elif self.bar is None:
            return
        elif isinstance(event, NodeStarted):
            self.running[event.node] = None
            self._postfix()
        elif isinstance(event, NodeLog):
            self._log(event.node, event.text)
        elif isinstance(event, NodeProgress):
            self.moving[event.node] = (f"{event.what}: {human_size(event.done)} of "
                                       f"{human_size(event.total)}")
            self._postfix()
        elif isinstance(event, NodeFinished):
            self._finished(event)
        elif isinstance(event, RunFinished):
            self.close()

    def _start(self, nodes: tuple[str, ...]) -> None:
        from tqdm import tqdm

        self.width = max((len(visible(n)) for n in nodes), default=0)
        self.bar = tqdm(total=len(nodes), file=self.stream, leave=True, dynamic_ncols=True,
                        position=0, bar_format="{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                               "nodes [{elapsed}{postfix}]")
        if self.verbose:  # the lines under the bar, filled as logs arrive
            self.log_bars = [tqdm(total=0, file=self.stream, bar_format="{desc}",
                                  dynamic_ncols=True, position=i + 1, leave=False)
                             for i in range(self.tail.maxlen or 0)]

    def _postfix(self, refresh: bool = True) -> None:
        names = ", ".join(visible(n) + (f" ({visible(self.moving[n])})" if n in self.moving
                                        else "") for n in self.running)
        self.bar.set_postfix_str(f"running: {names}" if names else "", refresh=refresh)

    def _log(self, node: str, text: str) -> None:
        if not self.verbose:
            return
        *ended, rest = (self.partial.pop(node, "") + text).split("\n")
        if rest:
            self.partial[node] = rest
        for line in ended:
            if line.strip():
                self.tail.append((node, line.rstrip("\r")))
        self._show_tail()

    def _show_tail(self) -> None:
        lines = [f"  {visible(node)} | {visible(line)}" for node, line in self.tail]
        for i, log_bar in enumerate(self.log_bars):
            log_bar.set_description_str(lines[i] if i < len(lines) else "", refresh=True)

    def _finished(self, event: NodeFinished) -> None:
        self.running.pop(event.node, None)
        self.moving.pop(event.node, None)
        self.partial.pop(event.node, None)
        if any(node == event.node for node, _ in self.tail):  # its lines go with it
            kept = [(node, line) for node, line in self.tail if node != event.node]
            self.tail.clear()
            self.tail.extend(kept)
            self._show_tail()
        secs = f"{event.duration:.3f}s" if event.duration is not None else "-"
        detail = (str(event.error).splitlines() or [""])[0] if event.error is not None \
            else event.reason
        line = f"{visible(event.node):<{self.width}}  {event.status:<9}  {secs:>8}  {detail}"
        self.bar.write(visible(line.rstrip()).replace("\n", " "), file=self.stream)
        self._postfix(refresh=False)
        self.bar.update(1)
        self.bar.refresh()

    def close(self) -> None:
        """Take the log lines away and leave the bar as it ended (also after Ctrl-C)."""
        for log_bar in self.log_bars:
            log_bar.close()
        self.log_bars = []
        if self.bar is not None:
            self.bar.close()
            self.bar = None
