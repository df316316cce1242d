"""Coverage: when each watch was checked in a period, and where it was not. Pure; fed one check
at a time, so a year of checks never sits in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.audit.chain import utc_text


@dataclass
class WatchCoverage:
    watch: str
    interval: timedelta
    since: datetime
    first: datetime | None = None
    last: datetime | None = None
    checks: int = 0
    failures: int = 0
    gaps: list[tuple[datetime, datetime]] = field(default_factory=list)

    @property
    def allowed(self) -> timedelta:
        return 2 * self.interval

    def add(self, at: datetime, failed: bool) -> None:
        self.checks += 1
        self.failures += failed
        previous = self.last if self.last is not None else self.since
        if at - previous > self.allowed:
            self.gaps.append((previous, at))
        if self.first is None or at < self.first:
            self.first = at
        if self.last is None or at > self.last:
            self.last = at

    def close(self, until: datetime) -> None:
        end = self.last if self.last is not None else self.since
        if until - end > self.allowed:
            self.gaps.append((end, until))


class Coverage:
    """Every watch's coverage over [since, until)."""

    def __init__(
        self, watches: list[str], intervals: dict[str, float], since: datetime, until: datetime
    ) -> None:
        self.since, self.until = since, until
        self.watches = {
            w: WatchCoverage(w, timedelta(seconds=intervals[w]), since) for w in sorted(watches)
        }

    def add(self, watch: str, at: datetime, failed: bool) -> None:
        found = self.watches.get(watch)
        if found is not None and self.since <= at < self.until:
            found.add(at, failed)

    def rows(self) -> list[list[str]]:
        """coverage.csv: a `checked` row per watch, then one `unverified` row per gap."""
        rows = [["watch", "row", "from", "to", "checks", "failures", "interval_seconds", "note"]]
        for cover in self.watches.values():
            cover.close(self.until)
            rows.append(
                [
                    cover.watch,
                    "checked",
                    utc_text(cover.first) if cover.first else "",
                    utc_text(cover.last) if cover.last else "",
                    str(cover.checks),
                    str(cover.failures),
                    str(int(cover.interval.total_seconds())),
                    "no check in the period" if not cover.checks else "",
                ]
            )
            for start, end in cover.gaps:
                note = f"unverified {utc_text(start)}–{utc_text(end)}"
                rows.append(
                    [cover.watch, "unverified", utc_text(start), utc_text(end), "", "", "", note]
                )
        return rows

    @property
    def gap_count(self) -> int:
        return sum(len(c.gaps) for c in self.watches.values())


def around(
    when: datetime, before: datetime | None, after: datetime | None, interval: float
) -> str | None:
    """A warning when a watch was not verified around `when`: no check that saw the page within
    twice its interval before the date, or none within twice its interval after it (if the date
    is not the present)."""
    allowed = timedelta(seconds=2 * interval)
    if before is None:
        return "not verified: no check saw the page on or before the date"
    if when - before > allowed:
        return f"not verified around the date: last check that saw the page {utc_text(before)}"
    if after is not None and after - when > allowed:
        return f"not verified around the date: next check {utc_text(after)}"
    return None
