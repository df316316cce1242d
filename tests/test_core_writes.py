"""A check's writes run on SQLAlchemy Core; the model registry's writes, still ORM, join the same
transaction: they commit with the version and are undone with it. And the audit chain's head,
kept per transaction on the connection, is read again by the next transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.models import FetchResult
from monitor.store import audit_log, record
from monitor.store.audit_reads import events
from monitor.store.db import open_engine, transaction, writing
from monitor.store.lifecycle import models
from monitor.store.schema import AUDIT_EVENT, VERSION

pytestmark = pytest.mark.usefixtures("database_url")
AT = datetime(2026, 4, 27, 18, 2, tzinfo=UTC)
RETIRING = {
    "kind": "retirement",
    "model": "gpt-4-0613",
    "provider": "openai",
    "event": "deprecation_announced",
    "shutdown_date": "2026-06-06",
}


def _fetch(body: bytes, at: datetime = AT) -> FetchResult:
    return FetchResult("https://example.com/d", "https://example.com/d", at, 12, 200, body=body)


def _first_version(engine: sa.Engine, facts: tuple[dict[str, Any], ...]) -> tuple[int, int | None]:
    return record.record_version(
        engine,
        "deprecations",
        "https://example.com/d",
        _fetch(b"<main>gpt-4-0613 2026-06-06</main>"),
        raw_sha256="a" * 64,
        text_sha256="b" * 64,
        text_size=20,
        rules_sha256="c" * 64,
        expected_latest=None,
        change=None,
        baseline_facts=facts,
    )


def test_registry_rows_commit_with_the_version(database_url: str) -> None:
    engine = open_engine(database_url)
    version_id, _ = _first_version(engine, (RETIRING,))
    (row,) = models(engine, today=AT.date())
    assert (row.model, row.status, row.source, row.watch_id) == (
        "gpt-4-0613", "retiring", "baseline", "deprecations",
    )  # fmt: skip
    with engine.connect() as connection:
        assert connection.execute(sa.select(VERSION.c.id)).scalars().all() == [version_id]


def test_a_crash_after_the_registry_write_undoes_it_with_the_version(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = open_engine(database_url)

    def crash(*args: object, **kwargs: object) -> int:
        raise RuntimeError("power cut")

    monkeypatch.setattr(record.Writes, "check", crash)  # runs after the registry's writes
    with pytest.raises(RuntimeError, match="power cut"):
        _first_version(engine, (RETIRING,))
    assert models(engine, today=AT.date()) == []
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(VERSION)).scalar() == 0
        assert connection.execute(sa.select(sa.func.count()).select_from(AUDIT_EVENT)).scalar() == 0
    monkeypatch.undo()
    _first_version(engine, (RETIRING,))
    assert [row.model for row in models(engine, today=AT.date())] == ["gpt-4-0613"]


def test_the_chain_head_is_read_again_by_each_transaction(database_url: str) -> None:
    """Core and ORM writers take turns on pooled connections; each appends after the head
    the one before committed, and a rolled-back append leaves no gap or fork."""
    engine = open_engine(database_url)
    event = audit_log.watchlist_event("d" * 64, "watchlist.toml", 10, 1, AT)
    with transaction(engine) as connection:
        audit_log.append_many(connection, [event, event])
    with writing(engine) as session:
        audit_log.append(session, event)
    with pytest.raises(RuntimeError), transaction(engine) as connection:
        audit_log.append(connection, event)
        raise RuntimeError("rolled back")
    for _ in range(2):
        with transaction(engine) as connection:
            audit_log.append(connection, event)
    chain = list(events(engine))
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert all(e.prev_sha256 == before.sha256 for before, e in zip(chain, chain[1:], strict=False))


def test_an_unchanged_check_after_a_failure_streak_resets_it(database_url: str) -> None:
    engine = open_engine(database_url)
    _first_version(engine, ())
    for minute in (1, 2):
        failed = _fetch(b"", AT + timedelta(minutes=minute))
        record.record_failure(
            engine, "deprecations", "https://example.com/d", failed, error_kind="http", error="500"
        )
    from monitor.store.state import load_state

    assert load_state(engine, "deprecations").failures_in_row == 2
    record.record_unchanged(
        engine,
        "deprecations",
        "https://example.com/d",
        _fetch(b"same", AT + timedelta(minutes=3)),
        outcome="unchanged",
        raw_sha256="e" * 64,
        rules_sha256="c" * 64,
    )
    state = load_state(engine, "deprecations")
    assert (state.failures_in_row, state.last_raw_sha256) == (0, "e" * 64)
