"""Fixtures of the cache tests: a cache directory of their own and a clock moved by hand."""

from __future__ import annotations

import pytest

from containerdag_widgets.cache import Store


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """``$CONTAINERDAG_CACHE_DIR`` for this test (not created: the store must create it)."""
    path = tmp_path / "store-cache"  # not "cache": tests/conftest.py may make that one
    monkeypatch.setenv("CONTAINERDAG_CACHE_DIR", str(path))
    return path


@pytest.fixture
def store(cache_dir):
    """A Store at the default path of this test's cache directory."""
    with Store.open() as opened:
        yield opened
