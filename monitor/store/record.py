"""Writes of one check. Each function is one transaction: every row of a check commits together
or not at all, and a version is only recorded against the latest version the caller diffed.

Written in SQLAlchemy Core on the tables of schema.py: a check imports no ORM."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from monitor.models import Classification, FetchResult, lifecycle_facts
from monitor.store import audit_log
from monitor.store.db import connection_of, orm_session, transaction
from monitor.store.inserts import Writes
from monitor.store.schema import CHECK as CHECKS
from monitor.store.schema import SNAPSHOT, VERSION, WATCH
from monitor.store.state import LatestVersion, latest_version

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass(frozen=True)
class NewChange:
    """What the pipeline decided to record for a new version."""

    classification: Classification
    diff_json: dict[str, Any]
    lines_added: int
    lines_removed: int
    sections: tuple[str, ...]
    channels: tuple[str, ...]  # deliveries to enqueue in the same transaction


class StaleLatest(Exception):
    """Another process recorded a version of this watch since the caller read its state."""


def _lock_watch(connection: sa.Connection, watch_id: str, url: str, now: datetime) -> None:
    """The watch's row, inserted if absent and locked for this transaction where the database
    can lock rows (SQLite's BEGIN IMMEDIATE already serialises writers). A watch never checked
    before is inserted first: two processes checking it at once would otherwise both find no
    row to lock and both insert it."""
    dialect = connection.dialect.name
    values = {"id": watch_id, "url": url, "created_at": now}
    if dialect in ("postgresql", "sqlite"):
        connection.execute(_insert_watch(dialect), values)
        if dialect == "postgresql":
            connection.execute(_LOCK_WATCH, {"id": watch_id})
        return
    if connection.execute(_LOCK_WATCH, {"id": watch_id}).first() is None:
        connection.execute(WATCH.insert(), values)


def _failures(connection: sa.Connection, watch_id: str) -> tuple[int, bool, bool]:
    """(failures in a row, failure alerted, gone) of a locked watch's row."""
    found = connection.execute(_FAILURES, {"id": watch_id}).one()
    return int(found[0]), bool(found[1]), bool(found[2])


_LOCK_WATCH = sa.select(WATCH.c.id).where(WATCH.c.id == sa.bindparam("id")).with_for_update()
_FAILURES = sa.select(WATCH.c.failures_in_row, WATCH.c.failure_alerted, WATCH.c.gone).where(
    WATCH.c.id == sa.bindparam("id")
)


@functools.cache
def _insert_watch(dialect: str) -> sa.Insert:
    """INSERT … ON CONFLICT DO NOTHING of a watch's row, built once per dialect."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql as chosen
    else:
        from sqlalchemy.dialects import sqlite as chosen  # type: ignore[no-redef]
    return (
        chosen.insert(WATCH)
        .values(
            id=sa.bindparam("id"),
            url=sa.bindparam("url"),
            created_at=sa.bindparam("created_at"),
            failures_in_row=0,
            failure_alerted=False,
            gone=False,
            needs_browser=False,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )


def _check_fields(
    watch_id: str,
    result: FetchResult,
    outcome: str,
    *,
    raw_sha256: str | None = None,
    version_id: int | None = None,
    error_kind: str | None = None,
    error: str | None = None,
) -> audit_log.CheckFields:
    return audit_log.CheckFields(
        id=0,
        watch_id=watch_id,
        at=result.fetched_at,
        outcome=outcome,
        status=result.status,
        duration_ms=result.duration_ms,
        raw_sha256=bytes.fromhex(raw_sha256) if raw_sha256 else None,
        version_id=version_id,
        error_kind=error_kind,
        error=error,
    )


def _good_fetch(result: FetchResult) -> dict[str, Any]:
    """The watch's state after a good fetch: its failure streak ends, the validators kept."""
    values: dict[str, Any] = {"failures_in_row": 0, "failure_alerted": False, "gone": False}
    if result.etag or result.last_modified:
        values.update(etag=result.etag, last_modified=result.last_modified)
    elif not result.not_modified:
        values.update(etag=None, last_modified=None)
    return values


def _update_watch(connection: sa.Connection, watch_id: str, values: dict[str, Any]) -> None:
    connection.execute(WATCH.update().where(WATCH.c.id == watch_id).values(values))


def record_unchanged(
    engine: sa.Engine,
    watch_id: str,
    url: str,
    result: FetchResult,
    *,
    outcome: str,
    raw_sha256: str | None,
    rules_sha256: str | None,
    needs_browser: bool | None = None,
    event: tuple[Classification, tuple[str, ...]] | None = None,
) -> int | None:
    """An unchanged (or noise-only, or 304) check: a check row and the watch's state, no body.
    `event` records a page_restored change with its deliveries. Returns that change's id."""
    with transaction(engine) as connection:
        _lock_watch(connection, watch_id, url, result.fetched_at)
        writes = Writes(connection)
        writes.check(_check_fields(watch_id, result, outcome, raw_sha256=raw_sha256))
        writes.flush()
        values = {
            "url": url,
            "last_check_at": result.fetched_at,
            "last_outcome": outcome,
            **_good_fetch(result),
        }
        if raw_sha256:
            values.update(last_raw_sha256=raw_sha256, last_rules_sha256=rules_sha256)
        if needs_browser is not None:
            values["needs_browser"] = needs_browser
        _update_watch(connection, watch_id, values)
        if event is None:
            return None
        return event_change(connection, watch_id, result.fetched_at, *event)


@dataclass(frozen=True)
class Unchanged:
    """An unchanged check of a watch already recorded, waiting to be written in a batch."""

    watch_id: str
    result: FetchResult
    outcome: str
    raw_sha256: str | None
    rules_sha256: str | None
    needs_browser: bool | None


def record_unchanged_many(engine: sa.Engine, items: list[Unchanged]) -> None:
    """Many unchanged checks in one transaction: each check's rows still commit together, and
    a pass over a thousand quiet pages costs one commit and two statements, not two thousand.
    The audit log records them with one `check_pass` event that commits to every check."""
    if not items:
        return
    update = (
        WATCH.update()
        .where(WATCH.c.id == sa.bindparam("b_id"))
        .values(
            last_check_at=sa.bindparam("b_at"),
            last_outcome=sa.bindparam("b_outcome"),
            failures_in_row=0,
            failure_alerted=False,
            gone=False,
            # a 304 keeps the validators we sent; a 200 without any forgets them
            etag=sa.case(
                (sa.bindparam("b_keep", type_=sa.Boolean), WATCH.c.etag),
                else_=sa.bindparam("b_etag", type_=sa.String),
            ),
            last_modified=sa.case(
                (sa.bindparam("b_keep2", type_=sa.Boolean), WATCH.c.last_modified),
                else_=sa.bindparam("b_lm", type_=sa.String),
            ),
            last_raw_sha256=sa.func.coalesce(
                sa.bindparam("b_raw", type_=sa.String), WATCH.c.last_raw_sha256
            ),
            last_rules_sha256=sa.case(
                (sa.bindparam("b_raw2", type_=sa.String).is_(None), WATCH.c.last_rules_sha256),
                else_=sa.bindparam("b_rules", type_=sa.String),
            ),
            needs_browser=sa.func.coalesce(
                sa.bindparam("b_browser", type_=sa.Boolean), WATCH.c.needs_browser
            ),
        )
    )
    with transaction(engine) as connection:
        inserted = connection.execute(
            CHECKS.insert().returning(CHECKS.c.id, sort_by_parameter_order=True),
            [
                {
                    "watch_id": item.watch_id,
                    "at": item.result.fetched_at,
                    "outcome": item.outcome,
                    "status": item.result.status,
                    "duration_ms": item.result.duration_ms,
                    "raw_sha256": bytes.fromhex(item.raw_sha256) if item.raw_sha256 else None,
                }
                for item in items
            ],
        )
        audit_log.append(
            connection,
            audit_log.check_pass_event(
                [
                    audit_log.CheckFields(
                        id=check_id,
                        watch_id=item.watch_id,
                        at=item.result.fetched_at,
                        outcome=item.outcome,
                        status=item.result.status,
                        duration_ms=item.result.duration_ms,
                        raw_sha256=bytes.fromhex(item.raw_sha256) if item.raw_sha256 else None,
                    )
                    for (check_id,), item in zip(inserted.all(), items, strict=True)
                ]
            ),
        )
        rows = []
        for item in items:
            r = item.result
            keep = bool(r.not_modified and not (r.etag or r.last_modified))
            rows.append(
                {
                    "b_id": item.watch_id,
                    "b_at": r.fetched_at,
                    "b_outcome": item.outcome,
                    "b_keep": keep,
                    "b_keep2": keep,
                    "b_etag": r.etag,
                    "b_lm": r.last_modified,
                    "b_raw": item.raw_sha256,
                    "b_raw2": item.raw_sha256,
                    "b_rules": item.rules_sha256,
                    "b_browser": item.needs_browser,
                }
            )
        connection.execute(update, rows)


def record_failure(
    engine: sa.Engine,
    watch_id: str,
    url: str,
    result: FetchResult,
    *,
    error_kind: str,
    error: str,
    event_for: Any = None,
) -> tuple[int, int | None]:
    """A failed check. `event_for(failures_in_row, already_alerted, gone, has_versions)` may
    return (classification, channels) for a fetch_problem or page_gone change recorded in the
    same transaction. Returns (failures_in_row, change id or None)."""
    with transaction(engine) as connection:
        _lock_watch(connection, watch_id, url, result.fetched_at)
        failures, alerted, gone = _failures(connection, watch_id)
        writes = Writes(connection)
        fields = _check_fields(watch_id, result, "failed", error_kind=error_kind, error=error)
        writes.check(fields)
        writes.flush()
        failures += 1
        values: dict[str, Any] = {
            "url": url,
            "last_check_at": result.fetched_at,
            "last_outcome": "failed",
            "failures_in_row": failures,
        }
        change_id = None
        if event_for is not None:
            has_versions = latest_version(connection, watch_id) is not None
            event = event_for(failures, alerted, gone, has_versions)
            if event is not None:
                classification, channels = event
                change_id = event_change(
                    connection, watch_id, result.fetched_at, classification, channels
                )
                if "page_gone" in classification.labels:
                    values["gone"] = True
                values["failure_alerted"] = True
        _update_watch(connection, watch_id, values)
        return failures, change_id


def event_change(
    db: sa.Connection | Session,
    watch_id: str,
    at: datetime,
    classification: Classification,
    channels: tuple[str, ...],
) -> int:
    """A change outside content (fetch_problem, page_gone, page_restored, a reminder) and its
    deliveries, in the caller's transaction."""
    writes = Writes(connection_of(db))
    change_id = writes.change(
        {
            "watch_id": watch_id,
            "from_version_id": None,
            "to_version_id": None,
            "detected_at": at,
            "labels": list(classification.labels),
            "severity": classification.severity,
            "summary": classification.summary,
            "score": 0.0,
            "score_factors": {},
            "findings": [finding_json(f) for f in classification.findings],
            "facts": classification.facts,
            "diff": {},
            "lines_added": 0,
            "lines_removed": 0,
            "sections": [],
        }
    )
    writes.deliveries(watch_id, change_id, channels, at)
    writes.flush()
    return change_id


def record_version(
    engine: sa.Engine,
    watch_id: str,
    url: str,
    result: FetchResult,
    *,
    raw_sha256: str,
    text_sha256: str,
    text_size: int,
    rules_sha256: str,
    expected_latest: LatestVersion | None,
    change: NewChange | None,
    needs_browser: bool | None = None,
    provider: str | None = None,
    page: tuple[FetchResult, str] | None = None,
    baseline_facts: tuple[dict[str, Any], ...] = (),
    changed_shapes: Mapping[str, str] | None = None,
) -> tuple[int, int | None]:
    """A new version, its snapshot, its change and deliveries, and the check: one transaction.
    `page` (fetch, SHA-256) is the page a followed document was linked from: kept too.
    Raises StaleLatest when another process recorded a version since `expected_latest`.
    `baseline_facts` (a first version only) seed the model registry, with no change.
    `changed_shapes`: the lines this check saw change only in numbers, times or ids, learnt
    in the same transaction (see store/volatile.py).
    Returns (version id, change id or None)."""
    with transaction(engine) as connection:
        _lock_watch(connection, watch_id, url, result.fetched_at)
        latest = latest_version(connection, watch_id)
        if latest != expected_latest:
            raise StaleLatest(watch_id)
        if changed_shapes:
            from monitor.store.volatile import learn_in

            learn_in(connection, watch_id, changed_shapes, at=result.fetched_at)
        writes = Writes(connection)
        snapshot_id, snapshot_sha = writes.snapshot(watch_id, result, raw_sha256)
        if page is not None:
            writes.snapshot(watch_id, *page)
        version_id = writes.version(
            {
                "watch_id": watch_id,
                "seq": (latest.seq + 1) if latest else 1,
                "text_sha256": text_sha256,
                "rules_sha256": rules_sha256,
                "snapshot_id": snapshot_id,
                "seen_at": result.fetched_at,
                "size": text_size,
            },
            snapshot_sha,
        )
        change_id = None
        if change is not None and latest is not None:
            change_id = _content_change(
                writes, watch_id, latest.id, version_id, result.fetched_at, change
            )
            if lifecycle_facts(change.classification.facts):
                from monitor.store.lifecycle import apply_facts

                writes.flush()  # the registry's events follow the change's in the chain
                with orm_session(connection) as session:
                    apply_facts(
                        session,
                        facts=change.classification.facts,
                        change_id=change_id,
                        watch_id=watch_id,
                        provider=provider,
                        at=result.fetched_at,
                    )
                    session.flush()
        if latest is None and lifecycle_facts(baseline_facts):
            from monitor.store.lifecycle import apply_facts

            writes.flush()
            with orm_session(connection) as session:
                apply_facts(
                    session,
                    facts=baseline_facts,
                    change_id=None,
                    watch_id=watch_id,
                    provider=provider,
                    at=result.fetched_at,
                    baseline=True,
                )
                session.flush()
        outcome = "first" if latest is None else _outcome(change)
        writes.check(
            audit_log.CheckFields(
                id=0,
                watch_id=watch_id,
                at=result.fetched_at,
                outcome=outcome,
                status=result.status,
                duration_ms=result.duration_ms,
                raw_sha256=bytes.fromhex(raw_sha256),
                version_id=version_id,
            )
        )
        writes.flush()
        state: dict[str, Any] = {
            "url": url,
            "last_check_at": result.fetched_at,
            "last_outcome": outcome,
            "failures_in_row": 0,
            "failure_alerted": False,
            "gone": False,
            "last_raw_sha256": raw_sha256,
            "last_rules_sha256": rules_sha256,
            "rules_sha256": None,
        }
        if result.etag or result.last_modified or not result.not_modified:
            state.update(etag=result.etag, last_modified=result.last_modified)
        if needs_browser is not None:
            state["needs_browser"] = needs_browser
        writes.good_fetch(watch_id, state)
        return version_id, change_id


def _content_change(
    writes: Writes,
    watch_id: str,
    from_id: int,
    to_id: int,
    at: datetime,
    change: NewChange,
    *,
    deliver: bool = True,
) -> int:
    c = change.classification
    change_id = writes.change(
        {
            "watch_id": watch_id,
            "from_version_id": from_id,
            "to_version_id": to_id,
            "detected_at": at,
            "labels": list(c.labels),
            "severity": c.severity,
            "summary": c.summary,
            "score": c.score,
            "score_factors": dict(c.score_factors),
            "findings": [finding_json(f) for f in c.findings],
            "facts": c.facts,
            "diff": change.diff_json,
            "lines_added": change.lines_added,
            "lines_removed": change.lines_removed,
            "sections": list(change.sections),
        }
    )
    if deliver:
        writes.deliveries(watch_id, change_id, change.channels, at)
    return change_id


def record_rules_agree(engine: sa.Engine, watch_id: str, rules_sha256: str) -> None:
    """New rules re-extract the latest snapshot to the same text: remember it, so the next
    checks do not re-extract it again."""
    with transaction(engine) as connection:
        _update_watch(connection, watch_id, {"rules_sha256": rules_sha256})


def record_rule_change(
    engine: sa.Engine,
    watch_id: str,
    url: str,
    *,
    at: datetime,
    text_sha256: str,
    text_size: int,
    rules_sha256: str,
    expected_latest: LatestVersion,
    change: NewChange,
) -> int:
    """The watch's select/ignore rules changed: the latest snapshot re-extracted becomes a new
    version with a `rule_change` change, recorded and never alerted. Returns the change id."""
    with transaction(engine) as connection:
        _lock_watch(connection, watch_id, url, at)
        latest = latest_version(connection, watch_id)
        if latest != expected_latest:
            raise StaleLatest(watch_id)
        snapshot_id, snapshot_sha256 = connection.execute(
            sa.select(VERSION.c.snapshot_id, SNAPSHOT.c.sha256)
            .join(SNAPSHOT, SNAPSHOT.c.id == VERSION.c.snapshot_id)
            .where(VERSION.c.id == latest.id)
        ).one()
        writes = Writes(connection)
        version_id = writes.version(
            {
                "watch_id": watch_id,
                "seq": latest.seq + 1,
                "text_sha256": text_sha256,
                "rules_sha256": rules_sha256,
                "snapshot_id": snapshot_id,
                "seen_at": at,
                "size": text_size,
            },
            snapshot_sha256,
        )
        writes.flush()
        # the next fetch must extract with the new rules
        _update_watch(
            connection, watch_id, {"url": url, "last_rules_sha256": None, "rules_sha256": None}
        )
        change_id = _content_change(
            writes, watch_id, latest.id, version_id, at, change, deliver=False
        )
        writes.flush()
        return change_id


def _outcome(change: NewChange | None) -> str:
    if change is None:
        return "changed"
    return "revert" if "revert" in change.classification.labels else "changed"


def finding_json(finding: Any) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "label": finding.label,
        "reason": finding.reason,
        "fragment": finding.fragment,
        "old": finding.old,
        "new": finding.new,
        "facts": list(finding.facts),
    }
