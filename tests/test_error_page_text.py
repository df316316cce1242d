"""A site's error message read in the page's place ("This page isn't available … An unexpected
error has occurred") from a source the fetch cannot judge by its HTML (plain text, Markdown): it
is never a version and never alerts; a page back after one recorded earlier is recorded again,
without an alert. A real local server, a real SQLite file, the real stages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.classify import classify_change
from monitor.classify.error_page import error_message
from monitor.config import Watch
from monitor.diff import diff_texts
from monitor.store import queries
from monitor.store.db import open_engine
from tests.pageserver import PageServer, Response
from tests.test_pipeline import run, write_watchlist

pytestmark = pytest.mark.usefixtures("database_url")

POLICY = """Acceptable Use Policy
=====================

Effective March 1, 2026.

You agree you will not use the Services to:

1.  Violate the law or others' rights.
2.  Generate malicious code.
"""
ERROR = """This page isn\u2019t available
-------------------------

An unexpected error has occurred. Try reloading the page or come back later."""
WATCH = Watch(id="aup", url="https://example.com/aup", kind="policy")
AT = datetime(2026, 3, 2, tzinfo=UTC)


def classify(old: str, new: str) -> tuple[str, ...]:
    return classify_change(diff_texts(old, new), old, new, WATCH, at=AT).labels


def test_an_error_message_is_read_from_its_heading_or_its_few_words() -> None:
    assert error_message(ERROR) == "This page isn\u2019t available"
    assert error_message("# 404\n\nThe page you asked for could not be found.") == "404"
    assert error_message("Sorry, something went wrong. Please try again.") is not None
    assert error_message(POLICY) is None
    # a real page that mentions an error, or opens with one among much more text, is a page
    assert error_message(POLICY + "\nIf an error has occurred, contact us.\n") is None
    long_page = "# Service unavailable notices\n\n" + "We publish each outage here. " * 80
    assert error_message(long_page) is None


def test_the_error_message_in_the_policys_place_is_not_a_change() -> None:
    assert classify(POLICY, ERROR) == ()


def test_the_policy_back_after_a_recorded_error_message_is_a_revert_never_alerted() -> None:
    result = classify_change(diff_texts(ERROR, POLICY), ERROR, POLICY, WATCH, at=AT)
    assert result.labels == ("revert",) and result.severity == "info"
    assert "error message" in result.summary


def test_a_check_that_reads_the_error_message_records_no_version(
    tmp_path: Path, page_server: PageServer
) -> None:
    body = [POLICY]
    page_server.route(
        "/rsp",
        lambda request: Response(body=body[0].encode(), content_type="text/plain; charset=utf-8"),
    )
    config = write_watchlist(tmp_path, page_server)
    assert run(config).outcome == "first"
    body[0] = ERROR
    error_check = run(config)
    assert error_check.outcome == "noise" and error_check.change_id is None
    body[0] = POLICY
    assert run(config).outcome == "unchanged"
    engine = open_engine(config.database_url)
    assert [c.outcome for c in queries.checks(engine, "rsp")][:3] == [
        "unchanged",
        "noise",
        "first",
    ]
    assert queries.counts(engine, "rsp")[1] == 1  # one version: the policy
