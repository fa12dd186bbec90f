from __future__ import annotations

import pytest

from containerdag_widgets import Registry
from containerdag_widgets.docker import leftovers

from ..conftest import EXAMPLE_IMAGES, TESTKIT


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/docker/" in str(item.path):
            item.add_marker(pytest.mark.docker)


@pytest.fixture
def registry(docker_client):
    """A registry of the example images and the test kit; checks nothing of it is left."""
    reg = Registry.from_docker(images=[*EXAMPLE_IMAGES, TESTKIT])
    yield reg
    reg.close()
    assert leftovers(docker_client, reg.session) == []
