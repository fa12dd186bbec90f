import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/reliability/test_faults" in str(item.path):
            item.add_marker(pytest.mark.docker)
