"""What was in force on a date, for every watch: the version, the snapshot it came from, when it
was first seen, the last check that confirmed it, and whether the watch was verified around
the date."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from monitor.audit.chain import utc_text
from monitor.audit.coverage import around
from monitor.store import audit_reads


@dataclass(frozen=True)
class InForce:
    watch: str
    at: datetime
    version_id: int | None
    version_seq: int | None
    text_sha256: str | None
    snapshot_sha256: str | None
    first_seen_at: datetime | None
    final_url: str | None
    last_confirmed_at: datetime | None
    warning: str | None  # None: verified around the date

    def as_json(self) -> dict[str, Any]:
        return {
            "watch": self.watch,
            "at": utc_text(self.at),
            "version_id": self.version_id,
            "version_seq": self.version_seq,
            "text_sha256": self.text_sha256,
            "snapshot_sha256": self.snapshot_sha256,
            "first_seen_at": utc_text(self.first_seen_at) if self.first_seen_at else None,
            "final_url": self.final_url,
            "last_confirmed_at": utc_text(self.last_confirmed_at)
            if self.last_confirmed_at
            else None,
            "coverage": self.warning or "verified",
        }


CSV_COLUMNS = [
    "watch",
    "at",
    "version_id",
    "version_seq",
    "text_sha256",
    "snapshot_sha256",
    "first_seen_at",
    "final_url",
    "last_confirmed_at",
    "coverage",
]


def csv_row(item: InForce) -> list[str]:
    data = item.as_json()
    return ["" if data[c] is None else str(data[c]) for c in CSV_COLUMNS]


def in_force(
    engine: sa.Engine, watches: Sequence[str], intervals: dict[str, float], when: datetime
) -> Iterator[InForce]:
    for watch, version, snapshot, before, after in audit_reads.in_force(engine, watches, when):
        before_at = before.at if before else None
        warning = around(when, before_at, after.at if after else None, intervals[watch])
        if version is None or snapshot is None:
            yield InForce(watch, when, None, None, None, None, None, None, before_at, "no version")
            continue
        yield InForce(
            watch,
            when,
            version.id,
            version.seq,
            version.text_sha256,
            snapshot.sha256,
            version.seen_at,
            snapshot.final_url,
            before_at,
            warning,
        )
