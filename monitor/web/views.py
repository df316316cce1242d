"""What the pages and the API share, computed from stored rows. Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.extract import drop_text  # what extract does with ignore_text
from monitor.models import TextDiff
from monitor.store.browse import CheckSpan
from monitor.store.tables import ChangeRow, CheckRow, ReviewRow, SnapshotRow, VersionRow

COVERAGE_DAYS = 30
LABELS_SEVERITIES = ("critical", "major", "minor", "info")


@dataclass(frozen=True)
class Coverage:
    """Share of the scheduled checks of the window that succeeded, and the gaps between them."""

    expected: int
    succeeded: int
    gaps: tuple[tuple[datetime, datetime], ...]

    @property
    def share(self) -> float:
        return min(1.0, self.succeeded / self.expected) if self.expected else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "share": round(self.share, 4),
            "expected": self.expected,
            "succeeded": self.succeeded,
            "gaps": [{"from": a.isoformat(), "to": b.isoformat()} for a, b in self.gaps],
        }


def coverage(
    span: CheckSpan | None,
    *,
    period: float,
    first_seen: datetime | None,
    now: datetime,
    days: int = COVERAGE_DAYS,
) -> Coverage | None:
    """`span`: the watch's successful checks within the window. A gap is a stretch of more than
    two periods without a successful check. None for a watch never checked."""
    if first_seen is None:
        return None
    start = max(now - timedelta(days=days), first_seen)
    expected = max(1, int((now - start).total_seconds() // period))
    limit = timedelta(seconds=2 * period)
    if span is None:
        return Coverage(expected, 0, ((start, now),) if now - start > limit else ())
    gaps = [(a, b) for a, b in span.long_gaps if b - a > limit]
    if span.first_at - start > limit:
        gaps.insert(0, (start, span.first_at))
    if now - span.last_at > limit:
        gaps.append((span.last_at, now))
    return Coverage(expected, min(span.succeeded, expected), tuple(sorted(gaps)))


QUIET = ("unchanged", "not_modified")


@dataclass(frozen=True)
class TimelineRow:
    """One line of a watch's timeline: a change, a version, or a run of checks: failed ones
    (a gap) or ones that found the page unchanged; other checks stand alone."""

    at: datetime  # the newest moment of the row
    kind: str  # change, version, gap, quiet, check
    checks: list[CheckRow] = field(default_factory=list)  # newest first
    version: tuple[VersionRow, SnapshotRow] | None = None
    change: ChangeRow | None = None

    @property
    def since(self) -> datetime:
        return self.checks[-1].at if self.checks else self.at


def _run_of(check: CheckRow) -> str:
    if check.outcome == "failed":
        return "gap"
    return "quiet" if check.outcome in QUIET else "check"


def timeline_rows(
    checks: list[CheckRow],
    versions: list[tuple[VersionRow, SnapshotRow]],
    changes: list[ChangeRow],
    limit: int,
    check_limit: int | None = None,
) -> tuple[list[TimelineRow], datetime | None]:
    """Merge the three lists (each newest first, each at most `limit` long) into rows, newest
    first, folding runs of failed and of unchanged checks (`check_limit`: the checks' own). Returns the rows and, when a list was
    cut at `limit`, the time before which the next page starts (older rows may be missing)."""
    full = [
        times[-1]
        for times, cap in (
            ([c.at for c in checks], check_limit or limit),
            ([v.seen_at for v, _ in versions], limit),
            ([c.detected_at for c in changes], limit),
        )
        if len(times) >= cap
    ]
    cutoff = max(full) if full else None
    events: list[tuple[datetime, int, TimelineRow]] = []
    events += [(c.detected_at, 2, TimelineRow(c.detected_at, "change", change=c)) for c in changes]
    events += [
        (v.seen_at, 1, TimelineRow(v.seen_at, "version", version=(v, s))) for v, s in versions
    ]
    events += [(c.at, 0, TimelineRow(c.at, _run_of(c), checks=[c])) for c in checks]
    events.sort(key=lambda e: (e[0], e[1]), reverse=True)
    rows: list[TimelineRow] = []
    for at, _, row in events:
        if cutoff is not None and at < cutoff:
            break
        if row.kind in ("gap", "quiet") and rows and rows[-1].kind == row.kind:
            rows[-1].checks.extend(row.checks)
            continue
        rows.append(row)
    return rows, cutoff


def review_json(review: ReviewRow) -> dict[str, Any]:
    return {
        "id": review.id,
        "change_id": review.change_id,
        "reviewer": review.reviewer,
        "verdict": review.verdict,
        "note": review.note,
        "at": review.at.isoformat(),
    }


_SPECIAL = re.compile(r"([.^$*+?{}\[\]\\|()])")
_BOUNDARY = re.compile(r"[\s:;,.(\[–—-]")


def _literal(text: str) -> str:
    """`text` as a regex matching itself, escaping only what a regex treats specially."""
    return _SPECIAL.sub(r"\\\1", text)


def _stem(old: str, new: str) -> str:
    """The common start of two lines, cut back to a word boundary."""
    n = 0
    while n < min(len(old), len(new)) and old[n] == new[n]:
        n += 1
    stem = old[:n]
    cut = max((m.end() for m in _BOUNDARY.finditer(stem)), default=0)
    return stem[:cut] if cut < n else stem


def ignore_suggestion(old_text: str, new_text: str, diff: TextDiff) -> str | None:
    """An ignore_text regex that would have hidden this change (both versions extract to the
    same text with it), or None when no simple one does."""
    patterns: list[str] = []
    for hunk in diff.hunks:
        pairs = list(zip(hunk.removed, hunk.added, strict=False))
        for old, new in pairs:
            stem = _stem(old, new)
            if len(stem.strip()) >= 4:
                patterns.append(_literal(stem) + ".*")
            else:
                patterns += ["^" + _literal(old) + "$", "^" + _literal(new) + "$"]
        extra = hunk.removed[len(pairs) :] + hunk.added[len(pairs) :]
        patterns += ["^" + _literal(line) + "$" for line in extra]
    if not patterns:
        return None
    unique = list(dict.fromkeys(patterns))
    pattern = unique[0] if len(unique) == 1 else "(?:" + "|".join(unique) + ")"
    hidden_old = drop_text(old_text.split("\n"), [pattern])
    hidden_new = drop_text(new_text.split("\n"), [pattern])
    return pattern if hidden_old == hidden_new else None
