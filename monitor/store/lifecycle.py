"""The model lifecycle registry: facts from changes → one row per provider, model and surface,
plus an event per fact, so a moved shutdown date updates the row and keeps its history.

Statuses: active (listed, nothing announced), legacy, deprecated (announced, no date), retiring
(a shutdown date ahead), retired. A row whose shutdown date has passed reads as retired.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from monitor.models import LIFECYCLE_KINDS, lifecycle_facts, model_key
from monitor.store.db import reading
from monitor.store.tables import ModelEventRow, ModelLifecycleRow

KINDS = LIFECYCLE_KINDS
STATUSES = ("active", "legacy", "deprecated", "retiring", "retired")


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _retirement_status(fact: dict[str, Any], shutdown: date | None, today: date) -> str:
    if fact.get("event") == "retired" or (shutdown is not None and shutdown <= today):
        return "retired"
    if shutdown is not None:
        return "retiring"
    return "legacy" if fact.get("status") == "legacy" else "deprecated"


def _row(
    session: Session, provider: str, model: str, surface: str, at: datetime
) -> tuple[ModelLifecycleRow, bool]:
    row = session.exec(
        select(ModelLifecycleRow).where(
            ModelLifecycleRow.provider == provider,
            ModelLifecycleRow.model == model,
            ModelLifecycleRow.surface == surface,
        )
    ).first()
    if row is not None:
        return row, False
    return ModelLifecycleRow(
        provider=provider, model=model, surface=surface, status="active", updated_at=at
    ), True


def _apply(
    row: ModelLifecycleRow, new: bool, fact: dict[str, Any], at: datetime, baseline: bool = False
) -> str:
    """Update `row` from one fact; returns the event's name. A baseline fact (what a page listed
    when monitoring began) gives no announcement date of its own: the page was not seen then."""
    kind, event = fact["kind"], str(fact.get("event") or fact["kind"])
    if kind == "launch":
        if new:
            row.status = "active"
            row.announced_on = _date(fact.get("released"))
            return "launched"
        return "listed"
    if kind == "replacement_changed":
        row.replacement = fact.get("to") or row.replacement
        return "replacement_changed"
    if kind == "retirement_change":
        row.shutdown_on = _date(fact.get("to"))
        row.shutdown_qualifier = fact.get("qualifier")
        if row.shutdown_on is None:
            row.status = "deprecated"
            return "retirement_date_withdrawn"
        row.status = _retirement_status(fact, row.shutdown_on, at.date())
        return event
    shutdown = _date(fact.get("shutdown_date")) or row.shutdown_on
    row.shutdown_on = shutdown
    row.status = _retirement_status(fact, shutdown, at.date())
    row.announced_on = row.announced_on or _date(fact.get("announced"))
    if row.announced_on is None and event == "deprecation_announced" and not baseline:
        row.announced_on = at.date()
    if fact.get("shutdown_date"):  # a date given firm drops the old date's "no earlier than"
        row.shutdown_qualifier = fact.get("qualifier")
    row.replacement = fact.get("replacement") or row.replacement
    return event


def apply_facts(
    session: Session,
    *,
    facts: Iterable[dict[str, Any]],
    change_id: int | None,
    watch_id: str | None,
    provider: str | None,
    at: datetime,
    baseline: bool = False,
) -> None:
    """Update the registry from a change's facts, inside the change's own transaction.
    `baseline`: the facts were read from a watch's first version (what the page already listed
    when monitoring began); each is recorded as a `baseline` event."""
    for fact in lifecycle_facts(facts):
        key_provider = str(fact.get("provider") or provider or "unknown")
        surface = str(fact.get("surface") or "api")
        row, new = _row(session, key_provider, model_key(fact), surface, at)
        if new and fact["kind"] == "replacement_changed":
            continue  # a replacement named for a model the registry has never listed
        previous = row.shutdown_on
        event = _apply(row, new, fact, at, baseline)
        if new or event != "listed":
            row.source_change_id = change_id
            row.source = "baseline" if baseline else None
            row.watch_id = watch_id
            row.updated_at = at
        if baseline:
            event = "baseline"
        session.add(row)
        session.flush()
        assert row.id is not None
        moved = previous is not None and row.shutdown_on not in (None, previous)
        session.add(
            ModelEventRow(
                lifecycle_id=row.id,
                event="date_moved" if moved else event,
                change_id=change_id,
                shutdown_on=row.shutdown_on,
                previous_shutdown_on=previous if moved or row.shutdown_on is None else None,
                detail=dict(fact),
                at=at,
            )
        )


def effective_status(row: ModelLifecycleRow, today: date) -> str:
    """The row's status as of `today`: a retiring model whose date has passed is retired."""
    if row.status == "retiring" and row.shutdown_on is not None and row.shutdown_on <= today:
        return "retired"
    return row.status


def models(
    engine: sa.Engine,
    provider: str | None = None,
    status: str | None = None,
    upcoming_days: int | None = None,
    *,
    today: date | None = None,
) -> list[ModelLifecycleRow]:
    """Registry rows, soonest shutdown first. `upcoming_days`: only models shutting down from
    today to that many days ahead and not retired yet."""
    today = today or datetime.now(UTC).date()
    with reading(engine) as session:
        query = select(ModelLifecycleRow)
        if provider:
            query = query.where(ModelLifecycleRow.provider == provider.lower())
        if upcoming_days is not None:
            query = query.where(
                col(ModelLifecycleRow.shutdown_on) >= today,
                col(ModelLifecycleRow.shutdown_on) <= today + timedelta(days=upcoming_days),
                ModelLifecycleRow.status != "retired",
            )
        rows = list(session.exec(query).all())
    if status:
        rows = [row for row in rows if effective_status(row, today) == status]
    return sorted(rows, key=lambda r: (r.shutdown_on or date.max, r.provider, r.model, r.surface))


@dataclass(frozen=True)
class Event:
    at: datetime
    event: str
    shutdown_on: date | None
    previous_shutdown_on: date | None
    change_id: int | None


def events(engine: sa.Engine, provider: str, model: str, surface: str = "api") -> list[Event]:
    """A model's lifecycle history on one surface, oldest first."""
    with reading(engine) as session:
        rows = session.exec(
            select(ModelEventRow)
            .join(ModelLifecycleRow, col(ModelLifecycleRow.id) == ModelEventRow.lifecycle_id)
            .where(
                ModelLifecycleRow.provider == provider,
                ModelLifecycleRow.model == model,
                ModelLifecycleRow.surface == surface,
            )
            .order_by(col(ModelEventRow.at), col(ModelEventRow.id))
        ).all()
    return [Event(r.at, r.event, r.shutdown_on, r.previous_shutdown_on, r.change_id) for r in rows]


def as_dict(row: ModelLifecycleRow, today: date) -> dict[str, Any]:
    """A registry row for JSON output: dates as ISO strings."""
    return {
        "provider": row.provider,
        "model": row.model,
        "surface": row.surface,
        "status": effective_status(row, today),
        "announced": row.announced_on.isoformat() if row.announced_on else None,
        "shutdown": row.shutdown_on.isoformat() if row.shutdown_on else None,
        "qualifier": row.shutdown_qualifier,
        "replacement": row.replacement,
        "source_change": row.source_change_id,
        "source": row.source
        or (f"change {row.source_change_id}" if row.source_change_id else None),
        "watch": row.watch_id,
        "updated_at": row.updated_at.isoformat(),
    }
