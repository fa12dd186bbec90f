"""The terminal's side of the command line: a spec file read as UTF-8 (or a SpecError naming
it), and text that may come from an image printed with its escapes made visible."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from ..model.errors import SpecError

__all__ = ["visible", "say", "read_spec", "say_process"]

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
