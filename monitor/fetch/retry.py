"""Retries: which problems are worth another attempt, and how long to wait before it
(exponential backoff with full jitter, or what `Retry-After` asks, within a cap)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from monitor.fetch.attempt import Attempt
from monitor.fetch.settings import FetchSettings
from monitor.models import ProblemKind


def should_retry(attempt: Attempt) -> bool:
    # An error page served with 200 comes and goes over hours: the next check will see.
    problem = attempt.problem
    return problem is not None and problem.transient and problem.kind is not ProblemKind.EMPTY


def backoff(
    settings: FetchSettings, rng: random.Random, attempt: int, retry_after: float | None
) -> float:
    """Seconds to wait after attempt number `attempt` (from 1) before the next one."""
    if retry_after is not None:
        return retry_after
    ceiling = min(settings.backoff_max, settings.backoff_base * 2 ** (attempt - 1))
    return rng.uniform(0, ceiling)


def retry_after(value: str | None, cap: float) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP date), at most `cap`."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), cap)
