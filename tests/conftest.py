"""Fixtures every test file may use: the local page server, the local Slack stand-in, and a
clean slate of database engines after each test."""

from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.pageserver", "tests.slack_server", "tests.databases", "tests.s3_server"]


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    from monitor.store.db import dispose_engines

    dispose_engines()
