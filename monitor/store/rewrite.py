"""Rewriting the history's classification: `monitor reclassify` re-runs the rules over the
recorded changes and rebuilds the model registry from the new facts, in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import col, delete, select

from monitor.store import audit_log
from monitor.store.db import writing
from monitor.store.lifecycle import apply_facts
from monitor.store.record import NewChange, finding_json
from monitor.store.tables import ChangeRow, ModelEventRow, ModelLifecycleRow, VersionRow


def reclassify(
    engine: sa.Engine,
    watch_ids: Collection[str] | None,
    recompute: Callable[[ChangeRow, VersionRow, VersionRow], NewChange | None],
    providers: dict[str, str | None],
) -> tuple[int, int]:
    """Re-run the rules over every recorded content change of `watch_ids` (None: all watches)
    and rebuild the model registry from the new facts, in change order, in one transaction.
    `recompute(change_row, old_version_row, new_version_row)` returns a NewChange or None (keep).
    Returns (changes examined, changes whose labels or facts changed)."""
    examined = updated = 0
    now = datetime.now(UTC)
    with writing(engine) as session:
        query = select(ChangeRow).order_by(col(ChangeRow.detected_at), col(ChangeRow.id))
        rows = list(session.exec(query).all())
        for change in rows:
            if watch_ids is not None and change.watch_id not in watch_ids:
                continue
            if change.from_version_id is None or change.to_version_id is None:
                continue
            if {"rule_change", "revert"} & set(change.labels):
                continue
            old = session.get(VersionRow, change.from_version_id)
            new = session.get(VersionRow, change.to_version_id)
            if old is None or new is None:
                continue
            examined += 1
            fresh = recompute(change, old, new)
            if fresh is None:
                continue
            c = fresh.classification
            before = (change.labels, change.facts, change.severity, change.summary)
            content_before = audit_log.change_content(change)
            change.labels = list(c.labels)
            change.severity = c.severity
            change.summary = c.summary
            change.score = c.score
            change.score_factors = dict(c.score_factors)
            change.findings = [finding_json(f) for f in c.findings]
            change.facts = c.facts
            change.diff = fresh.diff_json
            change.sections = list(fresh.sections)
            session.add(change)
            if audit_log.change_content(change) != content_before:
                session.flush()
                event = audit_log.change_event(change, kind="change_reclassified", at=now)
                audit_log.append(session, event)
            updated += before != (change.labels, change.facts, change.severity, change.summary)
        session.flush()
        session.exec(delete(ModelEventRow))  # type: ignore[call-overload]
        session.exec(delete(ModelLifecycleRow))  # type: ignore[call-overload]
        for change in rows:
            if change.facts:
                apply_facts(
                    session,
                    facts=change.facts,
                    change_id=change.id,
                    watch_id=change.watch_id,
                    provider=providers.get(change.watch_id),
                    at=change.detected_at,
                )
    return examined, updated
