"""In-process processes shared by the tests that need no Docker."""

import time

from containerdag_widgets import process


@process(outputs={"z": 1.0})
def add(x: float = 1.0, y: float = 1.0):
    """x + y."""
    return {"z": x + y}


@process(outputs={"z": 1.0})
def divide(a: float = 1.0, b: float = 1.0):
    """a / b."""
    return {"z": a / b}


@process(outputs={"tag": "a"})
def wait(seconds: float = 0.1, tag: str = "a"):
    """Sleeps ``seconds``, returns the tag."""
    time.sleep(seconds)
    return {"tag": tag}


class CallLog:
    """Records calls. An opaque object: a process's code hash counts its type, not its
    contents (a JSON-like global that a process reads is part of its code's hash)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def append(self, name: str) -> None:
        self.names.append(name)

    def clear(self) -> None:
        self.names.clear()

    def __eq__(self, other: object) -> bool:
        return self.names == other
