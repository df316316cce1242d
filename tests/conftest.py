"""Fixtures every test file may use: the local page server, the local Slack stand-in, the
database under test (SQLite, and PostgreSQL when MONITOR_TEST_POSTGRES is set), the local S3
stand-in, and a clean slate of database engines after each test."""

from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.pageserver", "tests.slack_server", "tests.databases", "tests.s3_server"]


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    from monitor.store.db import dispose_engines

    dispose_engines()
