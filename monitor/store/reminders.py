"""Shutdown reminders for the teams whose inventory models retire: 30, 7 and 1 days before the
date, once each. A reminder is a change (label `shutdown_reminder`) with deliveries to the team's
channels, written in one transaction with the row that says it was sent, so a reminder goes out
through the outbox like any alert and never twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from monitor.config import Config
from monitor.inventory.exposure import REMINDER_DAYS, TeamModel, due_reminder, team_report
from monitor.models import Classification, Finding
from monitor.store.db import reading, writing
from monitor.store.record import event_change
from monitor.store.tables import ModelLifecycleRow, ReminderRow, WatchRow


def _summary(item: TeamModel, days_left: int) -> str:
    row = item.row
    assert row is not None and row.shutdown_on is not None
    when = "tomorrow" if days_left == 1 else f"in {days_left} days"
    if days_left == 0:
        when = "today"
    text = f"{row.model} shuts down {when} ({row.shutdown_on.isoformat()}); team {item.team} uses {item.used}"
    if item.used_in:
        text += f" in {', '.join(item.used_in[:5])}"
    if row.replacement:
        text += f"; replacement: {row.replacement}"
    return text


def enqueue_reminders(engine: sa.Engine, config: Config, *, now: datetime | None = None) -> int:
    """Write the reminders due today; returns how many were written."""
    if not config.inventory:
        return 0
    now = now or datetime.now(UTC)
    today = now.date()
    horizon = today + timedelta(days=max(REMINDER_DAYS))
    with reading(engine) as session:
        rows = list(
            session.exec(
                select(ModelLifecycleRow).where(
                    col(ModelLifecycleRow.shutdown_on) >= today,
                    col(ModelLifecycleRow.shutdown_on) <= horizon,
                    ModelLifecycleRow.status != "retired",
                )
            ).all()
        )
    written = 0
    for item in team_report(config.inventory, config.aliases, rows):
        if item.row is None or item.row.shutdown_on is None or not item.channels:
            continue
        row = item.row
        assert isinstance(row, ModelLifecycleRow) and row.id is not None
        if row.watch_id is None:
            continue
        written += _write_one(engine, item, row, today, now)
    return written


def _write_one(
    engine: sa.Engine, item: TeamModel, row: ModelLifecycleRow, today: date, now: datetime
) -> int:
    assert row.shutdown_on is not None and row.id is not None and row.watch_id is not None
    days_left = (row.shutdown_on - today).days
    with writing(engine) as session:
        sent = session.exec(
            select(ReminderRow.days_before).where(
                ReminderRow.team == item.team,
                ReminderRow.lifecycle_id == row.id,
                ReminderRow.shutdown_on == row.shutdown_on,
            )
        ).all()
        due = due_reminder(days_left, sent)
        if due is None:
            return 0
        fact = {
            "kind": "reminder",
            "team": item.team,
            "model": item.used,
            "matches": row.model,
            "rule": item.rule,
            "shutdown_date": row.shutdown_on.isoformat(),
            "days_left": days_left,
            "replacement": row.replacement,
            "used_in": ", ".join(item.used_in) if item.used_in else None,
            "source_change": row.source_change_id,
        }
        summary = _summary(item, days_left)
        watch = session.get(WatchRow, row.watch_id)
        if watch is None:
            return 0
        finding = Finding(
            "inventory.shutdown_reminder", "shutdown_reminder", summary, facts=(fact,)
        )
        reminder = Classification(("shutdown_reminder",), "critical", summary, (finding,))
        change_id = event_change(session, watch.id, now, reminder, item.channels)
        session.add(
            ReminderRow(
                team=item.team,
                lifecycle_id=row.id,
                shutdown_on=row.shutdown_on,
                days_before=due,
                change_id=change_id,
                at=now,
            )
        )
    return 1
