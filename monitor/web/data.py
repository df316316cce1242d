"""What each page and API route reads, gathered once so the HTML and the JSON agree. Reads go
through monitor.store; query parameters are checked here and refused with a one-line reason."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from monitor.config import LABELS, Config, Watch
from monitor.diff import diff_from_json, diff_texts
from monitor.models import SEVERITIES, TextDiff
from monitor.scheduler import period_of
from monitor.snapshots import Bodies
from monitor.store import browse, queries
from monitor.store.reviews import reviews_for
from monitor.store.tables import ChangeRow, DeliveryRow, ReviewRow, SnapshotRow, VersionRow
from monitor.web.views import COVERAGE_DAYS, Coverage, coverage, ignore_suggestion

PAGE_SIZE = 50
MAX_NOTE = 4000  # characters of a review's note


MAX_BODY = 64 * 1024  # bytes of a form or JSON body


class TooLarge(Exception):
    """A request body over MAX_BODY."""


async def read_body(request: Any) -> bytes:
    """The request body, refused past MAX_BODY without reading the rest."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise TooLarge(f"the request body is over {MAX_BODY // 1024} KB")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise TooLarge(f"the request body is over {MAX_BODY // 1024} KB")
    return body


class BadRequest(ValueError):
    """A query parameter that cannot be used; the message says which and why."""


class NotFound(LookupError):
    """What the path names is not recorded."""


@dataclass(frozen=True)
class WatchSummary:
    watch: Watch
    last_check_at: datetime | None
    last_outcome: str | None
    next_check_at: datetime | None
    failures_in_row: int
    coverage: Coverage | None
    unreviewed: int

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.watch.id,
            "name": self.watch.title,
            "url": self.watch.url,
            "kind": self.watch.kind,
            "tags": list(self.watch.tags),
            "last_check_at": iso(self.last_check_at),
            "last_outcome": self.last_outcome,
            "next_check_at": iso(self.next_check_at),
            "failures_in_row": self.failures_in_row,
            "coverage": self.coverage.to_json() if self.coverage else None,
            "unreviewed": self.unreviewed,
        }


class SpanCache:
    """Coverage is a 30-day figure: the check spans behind it are read at most once per `ttl`
    seconds (reading them costs about half a second per 100,000 checks)."""

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._read_at: datetime | None = None
        self._spans: dict[str, browse.CheckSpan] = {}

    def spans(
        self, engine: sa.Engine, now: datetime, min_gap: float
    ) -> dict[str, browse.CheckSpan]:
        with self._lock:
            fresh = (
                self._read_at is not None and 0 <= (now - self._read_at).total_seconds() < self.ttl
            )
            if not fresh:
                since = now - timedelta(days=COVERAGE_DAYS)
                self._spans = browse.check_spans(engine, since, min_gap)
                self._read_at = now
            return self._spans


def watch_summaries(
    config: Config, engine: sa.Engine, now: datetime, cache: SpanCache | None = None
) -> list[WatchSummary]:
    rows = queries.watch_rows(engine)
    unreviewed = browse.unreviewed_counts(engine)
    periods = {watch.id: period_of(config, watch, now) for watch in config.watches}
    min_gap = 2 * min(periods.values(), default=3600)
    spans = (cache or SpanCache(ttl=0)).spans(engine, now, min_gap)
    found = []
    for watch in config.watches:
        row = rows.get(watch.id)
        period = periods[watch.id]
        next_at = row.next_check_at if row else None
        if row and row.last_check_at and (next_at is None or next_at <= row.last_check_at):
            next_at = row.last_check_at + timedelta(seconds=period)
        found.append(
            WatchSummary(
                watch=watch,
                last_check_at=row.last_check_at if row else None,
                last_outcome=row.last_outcome if row else None,
                next_check_at=next_at,
                failures_in_row=row.failures_in_row if row else 0,
                coverage=coverage(
                    spans.get(watch.id),
                    period=period,
                    first_seen=row.created_at if row else None,
                    now=now,
                ),
                unreviewed=unreviewed.get(watch.id, 0),
            )
        )
    return found


def _one(params: Any, name: str) -> str | None:
    value = params.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _int(params: Any, name: str) -> int | None:
    value = _one(params, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"'{name}' must be a number, not {value!r}") from None


def change_filter(config: Config, engine: sa.Engine, params: Any) -> browse.ChangeFilter:
    """The filters of a change list from query parameters. A watch no longer in the watchlist
    can still be named while its history is recorded."""
    watch, label = _one(params, "watch"), _one(params, "label")
    severity, review = _one(params, "severity"), _one(params, "review")
    if watch is not None and watch_of(config, engine, watch) is None:
        raise BadRequest(f"no watch {watch!r}")
    if label is not None and label not in LABELS:
        raise BadRequest(f"unknown label {label!r}; known: {', '.join(LABELS)}")
    if severity is not None and severity not in SEVERITIES:
        raise BadRequest(f"unknown severity {severity!r}; known: {', '.join(SEVERITIES)}")
    if review is not None and review not in browse.REVIEW_STATES:
        raise BadRequest(f"unknown review {review!r}; known: {', '.join(browse.REVIEW_STATES)}")
    return browse.ChangeFilter(watch, label, severity, review, _int(params, "before"))


def watch_of(config: Config, engine: sa.Engine, watch_id: str) -> Watch | None:
    """The watch from the watchlist, or for one removed from it, what its recorded row says."""
    for watch in config.watches:
        if watch.id == watch_id:
            return watch
    row = browse.watch_row(engine, watch_id)
    return Watch(id=row.id, url=row.url, name=f"{row.id} (not in the watchlist)") if row else None


def timeline_before(params: Any) -> datetime | None:
    value = _one(params, "before")
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"'before' must be an ISO time, not {value!r}") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


@dataclass(frozen=True)
class ChangeDetail:
    change: ChangeRow
    diff: TextDiff | None
    versions: tuple[tuple[VersionRow, SnapshotRow] | None, tuple[VersionRow, SnapshotRow] | None]
    deliveries: list[DeliveryRow]
    reviews: list[ReviewRow]
    ignore_pattern: str | None


def _diff_of(change: ChangeRow) -> TextDiff | None:
    if not change.diff:
        return None
    try:
        return diff_from_json(change.diff)
    except ValueError:
        return None


def change_detail(
    engine: sa.Engine, snapshots: Bodies, change_id: int, *, suggest: bool
) -> ChangeDetail:
    change = queries.change(engine, change_id)
    if change is None:
        raise NotFound(f"no change {change_id}")
    old = queries.version(engine, change.from_version_id) if change.from_version_id else None
    new = queries.version(engine, change.to_version_id) if change.to_version_id else None
    diff = _diff_of(change)
    pattern = None
    if suggest and diff is not None and old and new:
        try:
            old_text = snapshots.get_text(old[0].text_sha256)
            new_text = snapshots.get_text(new[0].text_sha256)
            pattern = ignore_suggestion(old_text, new_text, diff)
        except Exception:  # noqa: BLE001 - a missing body only costs the suggestion
            pattern = None
    return ChangeDetail(
        change=change,
        diff=diff,
        versions=(old, new),
        deliveries=browse.deliveries_for(engine, change_id),
        reviews=reviews_for(engine, change_id),
        ignore_pattern=pattern,
    )


@dataclass(frozen=True)
class Comparison:
    old: tuple[VersionRow, SnapshotRow]
    new: tuple[VersionRow, SnapshotRow]
    diff: TextDiff


def compare(engine: sa.Engine, snapshots: Bodies, params: Any) -> Comparison:
    first, second = _int(params, "from"), _int(params, "to")
    if first is None or second is None:
        raise BadRequest("give two version ids: ?from=V&to=W")
    old = queries.version(engine, first)
    new = queries.version(engine, second)
    for wanted, found in ((first, old), (second, new)):
        if found is None:
            raise NotFound(f"no version {wanted}")
    assert old is not None and new is not None
    if old[0].watch_id != new[0].watch_id:
        raise BadRequest(
            f"version {first} is of {old[0].watch_id} and {second} of {new[0].watch_id}: "
            "compare two versions of one watch"
        )
    diff = diff_texts(
        snapshots.get_text(old[0].text_sha256), snapshots.get_text(new[0].text_sha256)
    )
    return Comparison(old, new, diff)
