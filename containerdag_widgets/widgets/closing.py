"""Closing a widget and everything it opened.

``Widget.close`` closes one comm. A composite widget also holds its children, and every
``DOMWidget`` holds a ``Layout`` (a ``Button`` a ``ButtonStyle`` too), each a widget with a
comm of its own that stays open, and referenced from ``Widget._instances``, until closed.
"""

from __future__ import annotations

from ipywidgets import Widget

__all__ = ["close_tree"]


def close_tree(root: Widget) -> None:
    """Close ``root`` and every widget reachable through its traits (children, layout, style,
    models), each once. Uses ``Widget.close`` itself, so a subclass's ``close`` may call this."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        widget = todo.pop()
        if id(widget) in seen:
            continue
        seen.add(id(widget))
        for name in widget.trait_names():
            value = widget._trait_values.get(name)
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, Widget):
                    todo.append(item)
        Widget.close(widget)
