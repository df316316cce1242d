"""Writes of one check. Each function is one transaction: every row of a check commits together
or not at all, and a version is only recorded against the latest version the caller diffed."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from monitor import __version__
from monitor.models import Classification, FetchResult
from monitor.store import audit_log
from monitor.store.db import writing
from monitor.store.inserts import Writes
from monitor.store.state import LatestVersion, latest_version
from monitor.store.tables import (
    ChangeRow,
    CheckRow,
    DeliveryRow,
    SnapshotRow,
    VersionRow,
    WatchRow,
)


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


def _watch_row(session: Session, watch_id: str, url: str, now: datetime) -> WatchRow:
    """The watch's row, locked for this transaction where the database can lock rows. A watch
    never checked before is inserted first if absent (two processes checking it at once would
    otherwise both find no row to lock and both insert it)."""
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        session.execute(_insert_watch(dialect), {"id": watch_id, "url": url, "created_at": now})
    if dialect == "sqlite":
        row = session.get(WatchRow, watch_id)  # BEGIN IMMEDIATE already serialises writers
    else:
        row = session.exec(
            select(WatchRow).where(WatchRow.id == watch_id).with_for_update()
        ).first()
    if row is None:
        row = WatchRow(id=watch_id, url=url, created_at=now)
        session.add(row)
        session.flush()
    row.url = url
    return row


@functools.cache
def _insert_watch(dialect: str) -> sa.Insert:
    """INSERT … ON CONFLICT DO NOTHING of a watch's row, built once per dialect."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql as chosen
    else:
        from sqlalchemy.dialects import sqlite as chosen  # type: ignore[no-redef]
    return (
        chosen.insert(WatchRow.__table__)  # type: ignore[attr-defined]
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


def _check(
    session: Session,
    watch: WatchRow,
    result: FetchResult,
    outcome: str,
    *,
    raw_sha256: str | None = None,
    version_id: int | None = None,
    error_kind: str | None = None,
    error: str | None = None,
) -> CheckRow:
    row = CheckRow(
        watch_id=watch.id,
        at=result.fetched_at,
        outcome=outcome,
        status=result.status,
        duration_ms=result.duration_ms,
        raw_sha256=bytes.fromhex(raw_sha256) if raw_sha256 else None,
        version_id=version_id,
        error_kind=error_kind,
        error=error,
    )
    session.add(row)
    session.flush()
    audit_log.append(session, audit_log.check_event(row))
    watch.last_check_at = result.fetched_at
    watch.last_outcome = outcome
    return row


def _good_fetch(watch: WatchRow, result: FetchResult) -> None:
    watch.failures_in_row = 0
    watch.failure_alerted = False
    watch.gone = False
    if result.etag or result.last_modified:
        watch.etag = result.etag
        watch.last_modified = result.last_modified
    elif not result.not_modified:
        watch.etag = watch.last_modified = None


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
    with writing(engine) as session:
        watch = _watch_row(session, watch_id, url, result.fetched_at)
        _check(session, watch, result, outcome, raw_sha256=raw_sha256)
        _good_fetch(watch, result)
        if raw_sha256:
            watch.last_raw_sha256 = raw_sha256
            watch.last_rules_sha256 = rules_sha256
        if needs_browser is not None:
            watch.needs_browser = needs_browser
        if event is None:
            return None
        return event_change(session, watch, result.fetched_at, *event)


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
    a pass over a thousand quiet pages costs one commit and two statements, not two thousand."""
    if not items:
        return
    checks = CheckRow.__table__  # type: ignore[attr-defined]
    watches = WatchRow.__table__  # type: ignore[attr-defined]
    update = (
        watches.update()
        .where(watches.c.id == sa.bindparam("b_id"))
        .values(
            last_check_at=sa.bindparam("b_at"),
            last_outcome=sa.bindparam("b_outcome"),
            failures_in_row=0,
            failure_alerted=False,
            gone=False,
            # a 304 keeps the validators we sent; a 200 without any forgets them
            etag=sa.case(
                (sa.bindparam("b_keep", type_=sa.Boolean), watches.c.etag),
                else_=sa.bindparam("b_etag", type_=sa.String),
            ),
            last_modified=sa.case(
                (sa.bindparam("b_keep2", type_=sa.Boolean), watches.c.last_modified),
                else_=sa.bindparam("b_lm", type_=sa.String),
            ),
            last_raw_sha256=sa.func.coalesce(
                sa.bindparam("b_raw", type_=sa.String), watches.c.last_raw_sha256
            ),
            last_rules_sha256=sa.case(
                (sa.bindparam("b_raw2", type_=sa.String).is_(None), watches.c.last_rules_sha256),
                else_=sa.bindparam("b_rules", type_=sa.String),
            ),
            needs_browser=sa.func.coalesce(
                sa.bindparam("b_browser", type_=sa.Boolean), watches.c.needs_browser
            ),
        )
    )
    with writing(engine) as session:
        connection = session.connection()
        inserted = connection.execute(
            checks.insert().returning(checks.c.id, sort_by_parameter_order=True),
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
        audit_log.append_many(
            session,
            [
                audit_log.check_event(
                    audit_log.CheckFields(
                        id=check_id,
                        watch_id=item.watch_id,
                        at=item.result.fetched_at,
                        outcome=item.outcome,
                        status=item.result.status,
                        duration_ms=item.result.duration_ms,
                        raw_sha256=bytes.fromhex(item.raw_sha256) if item.raw_sha256 else None,
                    )
                )
                for (check_id,), item in zip(inserted.all(), items, strict=True)
            ],
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
    with writing(engine) as session:
        watch = _watch_row(session, watch_id, url, result.fetched_at)
        _check(session, watch, result, "failed", error_kind=error_kind, error=error)
        watch.failures_in_row += 1
        change_id = None
        if event_for is not None:
            has_versions = latest_version(session, watch_id) is not None
            event = event_for(
                watch.failures_in_row, watch.failure_alerted, watch.gone, has_versions
            )
            if event is not None:
                classification, channels = event
                change_id = event_change(
                    session, watch, result.fetched_at, classification, channels
                )
                if "page_gone" in classification.labels:
                    watch.gone = True
                watch.failure_alerted = True
        return watch.failures_in_row, change_id


def event_change(
    session: Session,
    watch: WatchRow,
    at: datetime,
    classification: Classification,
    channels: tuple[str, ...],
) -> int:
    change = ChangeRow(
        watch_id=watch.id,
        detected_at=at,
        labels=list(classification.labels),
        severity=classification.severity,
        summary=classification.summary,
        findings=[finding_json(f) for f in classification.findings],
        facts=classification.facts,
        monitor_version=__version__,
    )
    session.add(change)
    session.flush()
    assert change.id is not None
    audit_log.append(session, audit_log.change_event(change))
    _enqueue(session, watch.id, change.id, channels, at)
    return change.id


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
    with writing(engine) as session:
        _lock_watch(session, watch_id, url, result.fetched_at)
        latest = latest_version(session, watch_id)
        if latest != expected_latest:
            raise StaleLatest(watch_id)
        if changed_shapes:
            from monitor.store.volatile import learn_in

            learn_in(session, watch_id, changed_shapes, at=result.fetched_at)
        writes = Writes(session)
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
            if change.classification.facts:
                from monitor.store.lifecycle import apply_facts

                writes.flush()  # the registry's events follow the change's in the chain
                apply_facts(
                    session,
                    facts=change.classification.facts,
                    change_id=change_id,
                    watch_id=watch_id,
                    provider=provider,
                    at=result.fetched_at,
                )
        if latest is None and baseline_facts:
            from monitor.store.lifecycle import apply_facts

            writes.flush()
            apply_facts(
                session,
                facts=baseline_facts,
                change_id=None,
                watch_id=watch_id,
                provider=provider,
                at=result.fetched_at,
                baseline=True,
            )
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


def _lock_watch(session: Session, watch_id: str, url: str, now: datetime) -> None:
    """`_watch_row` without loading the row: inserted if absent, locked for this transaction
    where the database can lock rows (SQLite's BEGIN IMMEDIATE already serialises writers)."""
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        _watch_row(session, watch_id, url, now)  # elsewhere: the ORM's portable way
        session.flush()
        return
    connection = session.connection()
    connection.execute(_insert_watch(dialect), {"id": watch_id, "url": url, "created_at": now})
    if dialect == "postgresql":
        connection.execute(_LOCK_WATCH, {"id": watch_id})


_LOCK_WATCH = (
    sa.select(WatchRow.id)  # type: ignore[call-overload]
    .where(col(WatchRow.id) == sa.bindparam("id"))
    .with_for_update()
)


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
    with writing(engine) as session:
        session.execute(
            sa.update(WatchRow)
            .where(col(WatchRow.id) == watch_id)
            .values(rules_sha256=rules_sha256)
        )


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
    with writing(engine) as session:
        watch = _watch_row(session, watch_id, url, at)
        latest = latest_version(session, watch_id)
        if latest != expected_latest:
            raise StaleLatest(watch_id)
        snapshot_id = session.exec(
            select(VersionRow.snapshot_id).where(VersionRow.id == latest.id)
        ).one()
        snapshot_sha256 = session.exec(
            select(SnapshotRow.sha256).where(SnapshotRow.id == snapshot_id)
        ).one()
        version = VersionRow(
            watch_id=watch_id,
            seq=latest.seq + 1,
            text_sha256=text_sha256,
            rules_sha256=rules_sha256,
            snapshot_id=snapshot_id,
            seen_at=at,
            size=text_size,
            monitor_version=__version__,
        )
        session.add(version)
        session.flush()
        assert version.id is not None
        audit_log.append(session, audit_log.version_event(version, snapshot_sha256))
        watch.last_rules_sha256 = None  # the next fetch must extract with the new rules
        watch.rules_sha256 = None
        writes = Writes(session)
        change_id = _content_change(
            writes, watch_id, latest.id, version.id, at, change, deliver=False
        )
        writes.flush()
        return change_id


def _outcome(change: NewChange | None) -> str:
    if change is None:
        return "changed"
    return "revert" if "revert" in change.classification.labels else "changed"


def _enqueue(
    session: Session, watch_id: str, change_id: int, channels: tuple[str, ...], at: datetime
) -> None:
    rows = [
        DeliveryRow(change_id=change_id, channel=channel, created_at=at, next_try_at=at)
        for channel in channels
    ]
    session.add_all(rows)
    session.flush()
    audit_log.append_many(session, [audit_log.delivery_event(row, watch_id, at) for row in rows])


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
