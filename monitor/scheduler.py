"""APScheduler wiring: the only module that imports apscheduler."""

from __future__ import annotations


def check_cron(expression: str) -> str | None:
    """None when `expression` is a valid five-field crontab, else a one-line problem."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        return f"bad cron {expression!r}: {exc} (use five fields, e.g. '0 */6 * * *')"
    return None
