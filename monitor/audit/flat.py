"""The period's events and changes as JSON lines or one CSV table, for spreadsheets and SIEM
pipelines. Streamed: events are read and written a chunk at a time."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from monitor.audit.bundle import Period, event_body
from monitor.audit.chain import utc_text
from monitor.audit.standalone import PASS_KIND
from monitor.store import audit_reads
from monitor.store.tables import ChangeRow

_CHUNK = 1000
CSV_COLUMNS = [
    "seq",
    "at",
    "kind",
    "watch",
    "subject_table",
    "subject_id",
    "payload",
    "prev_sha256",
    "sha256",
    "change_labels",
    "change_severity",
    "change_summary",
]


def _chunks(engine: sa.Engine, period: Period) -> Iterator[list[audit_reads.StoredEvent]]:
    span = audit_reads.period(engine, period.since, period.until)
    if span is None:
        return
    stream = audit_reads.events(engine, *span)
    while chunk := list(islice(stream, _CHUNK)):
        yield chunk


def _changes(
    engine: sa.Engine, period: Period, chunk: list[audit_reads.StoredEvent]
) -> dict[int, ChangeRow]:
    ids = sorted(
        {
            int(e.subject_id)
            for e in chunk
            if e.table == "change" and (e.watch is None or e.watch in period.watches)
        }
    )
    return {c.id: c for c in audit_reads.changes_by_id(engine, ids) if c.id is not None}


def change_record(change: ChangeRow) -> dict[str, Any]:
    return {
        "record": "change",
        "id": change.id,
        "watch": change.watch_id,
        "detected_at": utc_text(change.detected_at),
        "from_version_id": change.from_version_id,
        "to_version_id": change.to_version_id,
        "labels": list(change.labels),
        "severity": change.severity,
        "summary": change.summary,
        "lines_added": change.lines_added,
        "lines_removed": change.lines_removed,
        "sections": list(change.sections),
        "facts": list(change.facts),
    }


def _pass_checks(engine: sa.Engine, event: audit_reads.StoredEvent) -> Iterator[dict[str, Any]]:
    """The checks a check_pass event records, each as its record with the event's seq."""
    if event.kind != PASS_KIND:
        return
    for record in audit_reads.check_records(engine, json.loads(event.payload)["checks"]):
        yield {"pass": event.seq, **record}


def write_jsonl(engine: sa.Engine, period: Period, out: Path) -> int:
    """An `event` line per event (with its hashes), after a change's event a `change` line with
    its labels, summary and facts, and after a check_pass event a `check` line per check it
    records. Returns the number of events."""
    count = 0
    with out.open("w", encoding="utf-8") as stream:
        for chunk in _chunks(engine, period):
            changes = _changes(engine, period, chunk)
            for event in chunk:
                count += 1
                line = {"record": "event", **event_body(event)}
                line.update(prev_sha256=event.prev_sha256, sha256=event.sha256)
                stream.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
                change = changes.get(int(event.subject_id)) if event.table == "change" else None
                if change is not None:
                    record = change_record(change)
                    stream.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
                for check in _pass_checks(engine, event):
                    record = {"record": "check", **check}
                    stream.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    return count


def write_csv(engine: sa.Engine, period: Period, out: Path) -> int:
    """One row per event; a change's event carries the change's labels, severity and summary;
    a check_pass event is followed by a `check` row per check it records (the pass's seq, the
    check's record as payload, no hashes of its own). Returns the number of events."""
    count = 0
    with out.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for chunk in _chunks(engine, period):
            changes = _changes(engine, period, chunk)
            for event in chunk:
                count += 1
                change = changes.get(int(event.subject_id)) if event.table == "change" else None
                writer.writerow(
                    [
                        event.seq,
                        utc_text(event.at),
                        event.kind,
                        event.watch or "",
                        event.table,
                        event.subject_id,
                        event.payload,
                        event.prev_sha256,
                        event.sha256,
                        " ".join(change.labels) if change else "",
                        change.severity if change else "",
                        change.summary if change else "",
                    ]
                )
                for check in _pass_checks(engine, event):
                    payload = json.dumps(check, ensure_ascii=False, sort_keys=True)
                    row = [event.seq, check["at"], "check", check["watch"], "check"]
                    writer.writerow([*row, check["id"], payload, "", "", "", "", ""])
    return count


def snapshot_rows(engine: sa.Engine, period: Period) -> Iterator[Any]:
    """The snapshots the period's events name (for the selected watches), for WARC export."""
    shas: set[str] = set()
    for chunk in _chunks(engine, period):
        for event in chunk:
            if event.watch not in period.watches:
                continue
            payload = json.loads(event.payload)
            if event.kind == "snapshot":
                shas.add(payload["sha256"])
            elif event.kind == "version":
                shas.add(payload["snapshot_sha256"])
    return audit_reads.snapshots_by_sha(engine, sorted(shas))
