"""Printing text that may come from an image: terminal escapes made visible, not executed."""

from __future__ import annotations

import re
import sys
from typing import Any

__all__ = ["visible", "say"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """``text`` with control characters other than newline and tab shown as escapes."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def say(*parts: Any, file: Any = None, end: str = "\n") -> None:
    """``print`` for text that may come from an image."""
    print(visible(" ".join(str(p) for p in parts)), file=file or sys.stdout, end=end)
