"""The example notebooks run under nbval; they need the Docker Engine and the images."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "/notebooks/" in str(item.path):
            item.add_marker(pytest.mark.notebooks)
            item.add_marker(pytest.mark.docker)


@pytest.fixture(autouse=True, scope="session")
def _engine_for_notebooks():
    """Fail (under CONTAINERDAG_REQUIRE_DOCKER=1) or skip when no engine is there."""
    from tests.conftest import require_engine

    require_engine().close()
