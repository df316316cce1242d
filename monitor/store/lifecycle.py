"""The model lifecycle registry: facts from changes → one row per provider, model and surface,
plus every event, so a moved shutdown date updates the row and keeps its history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from monitor.store.tables import ModelEventRow, ModelLifecycleRow


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _status(fact: dict[str, Any]) -> str:
    if fact.get("kind") == "launch":
        return str(fact.get("status") or "active")
    event = fact.get("event", "")
    if event == "retired":
        return "retired"
    if fact.get("shutdown_date"):
        return "retiring"
    return "deprecated"


def apply_facts(
    session: Session,
    *,
    facts: Iterable[dict[str, Any]],
    change_id: int | None,
    watch_id: str | None,
    provider: str | None,
    at: datetime,
) -> None:
    """Update the registry from a change's facts, inside the change's own transaction."""
    for fact in facts:
        kind = fact.get("kind")
        if kind not in ("retirement", "retirement_change", "launch") or not fact.get("model"):
            continue
        key_provider = str(fact.get("provider") or provider or "unknown")
        surface = str(fact.get("surface") or "api")
        row = session.exec(
            select(ModelLifecycleRow).where(
                ModelLifecycleRow.provider == key_provider,
                ModelLifecycleRow.model == fact["model"],
                ModelLifecycleRow.surface == surface,
            )
        ).first()
        previous = row.shutdown_on if row else None
        if row is None:
            row = ModelLifecycleRow(
                provider=key_provider,
                model=fact["model"],
                surface=surface,
                status="active",
                updated_at=at,
            )
        if kind == "retirement_change":
            row.shutdown_on = _date(fact.get("to"))
            if fact.get("event") == "retirement_date_withdrawn":
                row.status = "deprecated"
        else:
            if kind == "launch" and row.id is not None:
                pass  # a model listed again keeps its known lifecycle
            else:
                row.status = _status(fact)
            row.announced_on = _date(fact.get("announced")) or row.announced_on
            row.shutdown_on = _date(fact.get("shutdown_date")) or row.shutdown_on
            row.shutdown_qualifier = fact.get("qualifier") or row.shutdown_qualifier
            row.replacement = fact.get("replacement") or row.replacement
        row.source_change_id = change_id
        row.watch_id = watch_id
        row.updated_at = at
        session.add(row)
        session.flush()
        assert row.id is not None
        moved = previous is not None and row.shutdown_on not in (None, previous)
        session.add(
            ModelEventRow(
                lifecycle_id=row.id,
                event="date_moved" if moved else str(fact.get("event") or kind),
                change_id=change_id,
                shutdown_on=row.shutdown_on,
                previous_shutdown_on=previous if moved else None,
                detail=dict(fact),
                at=at,
            )
        )
