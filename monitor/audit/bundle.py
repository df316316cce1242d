"""The audit bundle: a zip that verifies on its own, byte-identical for the same period.

Entries are written in a fixed order with fixed timestamps and modes; events stream from the
store straight into the zip, so a year of checks never sits in memory."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from monitor import __version__
from monitor.audit import standalone
from monitor.audit.chain import GENESIS, SCHEMA_VERSION, dumps, event_line, utc_text
from monitor.audit.coverage import Coverage
from monitor.snapshots import Bodies
from monitor.store import audit_reads

ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime
    watches: tuple[str, ...]  # the watches whose bodies, changes and coverage the export holds
    intervals: dict[str, float]  # watch → seconds between checks, for coverage gaps


@dataclass
class Collected:
    """What the period's events name, gathered while they stream into the zip."""

    texts: set[str] = field(default_factory=set)
    snapshots: set[str] = field(default_factory=set)
    changes: set[int] = field(default_factory=set)
    watchlists: set[str] = field(default_factory=set)
    reviews: list[list[str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    pass_checks: int = 0  # checks recorded by the period's check_pass events
    first_seq: int | None = None
    last_seq: int | None = None
    anchor: str = GENESIS
    head: str | None = None


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    return info


class _Writer:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.files: dict[str, str] = {}

    @contextmanager
    def stream(self, name: str) -> Iterator[Callable[[bytes], None]]:
        digest = hashlib.sha256()
        with self.archive.open(_info(name), "w", force_zip64=True) as entry:

            def write(data: bytes) -> None:
                digest.update(data)
                entry.write(data)

            yield write
        self.files[name] = digest.hexdigest()

    def put(self, name: str, data: bytes, *, listed: bool = True) -> None:
        self.archive.writestr(_info(name), data)
        if listed:
            self.files[name] = hashlib.sha256(data).hexdigest()


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def event_body(event: audit_reads.StoredEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": utc_text(event.at),
        "kind": event.kind,
        "watch": event.watch,
        "subject": {"table": event.table, "id": event.subject_id},
        "payload": json.loads(event.payload),
    }


def _collect(body: dict[str, Any], period: Period, found: Collected, cover: Coverage) -> None:
    kind, payload, watch = body["kind"], body["payload"], body["watch"]
    found.counts[kind] = found.counts.get(kind, 0) + 1
    if watch is not None and watch not in period.watches:
        return
    if kind == "check":
        cover.add(watch, datetime.fromisoformat(body["at"]), payload["outcome"] == "failed")
    elif kind == "snapshot":
        found.snapshots.add(payload["sha256"])
    elif kind == "version":
        found.texts.add(payload["text_sha256"])
        found.snapshots.add(payload["snapshot_sha256"])
    elif kind in ("change", "change_reclassified"):
        found.changes.add(int(body["subject"]["id"]))
    elif kind == "watchlist":
        found.watchlists.add(payload["sha256"])
    elif kind == "review":
        found.reviews.append(
            [
                body["subject"]["id"],
                str(payload["change_id"]),
                watch or "",
                payload["reviewer"],
                payload["verdict"],
                payload["note"],
                payload["at"],
                str(body["seq"]),
            ]
        )


def _pass_checks(
    engine: sa.Engine,
    body: dict[str, Any],
    period: Period,
    write: Callable[[bytes], object],
    cover: Coverage,
) -> int:
    """A check_pass event's checks as lines of checks.jsonl (each with the event's seq), every
    check of the pass whatever its watch: the verifier needs them all to recompute the pass."""
    count = 0
    for record in audit_reads.check_records(engine, body["payload"]["checks"]):
        count += 1
        write(dumps({"pass": body["seq"], **record}) + b"\n")
        if record["watch"] in period.watches:
            failed = record["outcome"] == "failed"
            cover.add(record["watch"], datetime.fromisoformat(record["at"]), failed)
    return count


def write_events(
    engine: sa.Engine,
    period: Period,
    write: Callable[[bytes], None],
    cover: Coverage,
    write_check: Callable[[bytes], object] | None = None,
) -> Collected:
    """The period's events through `write`; the checks of its check_pass events through
    `write_check` (left out when None)."""
    found = Collected()
    span = audit_reads.period(engine, period.since, period.until)
    if span is None:
        return found
    first, last = span
    found.first_seq, found.last_seq = first, last
    for event in audit_reads.events(engine, first, last):
        if event.seq == first:
            found.anchor = event.prev_sha256
        body = event_body(event)
        write(event_line(body, event.prev_sha256, event.sha256))
        _collect(body, period, found, cover)
        if event.kind == standalone.PASS_KIND and write_check is not None:
            found.pass_checks += _pass_checks(engine, body, period, write_check, cover)
        found.head = event.sha256
    return found


def _in_force_rows(engine: sa.Engine, period: Period, found: Collected) -> list[list[str]]:
    from monitor.audit.in_force import CSV_COLUMNS, csv_row, in_force

    rows = [CSV_COLUMNS]
    for item in in_force(engine, period.watches, period.intervals, period.until):
        if item.text_sha256 and item.snapshot_sha256:
            found.texts.add(item.text_sha256)
            found.snapshots.add(item.snapshot_sha256)
        rows.append(csv_row(item))
    return rows


def _change_files(engine: sa.Engine, writer: _Writer, ids: set[int]) -> int:
    from monitor import report
    from monitor.store.audit_log import change_content

    count = 0
    for change in audit_reads.changes_by_id(engine, sorted(ids)):
        count += 1
        record = {
            "id": change.id,
            "watch": change.watch_id,
            "from_version_id": change.from_version_id,
            "to_version_id": change.to_version_id,
            "detected_at": utc_text(change.detected_at),
            "content": change_content(change),
        }
        writer.put(
            f"changes/{change.id}.json",
            json.dumps(record, sort_keys=True, indent=2, ensure_ascii=False).encode("utf-8"),
        )
        if change.diff:
            writer.put(
                f"changes/{change.id}.html", report.change_html(change, engine).encode("utf-8")
            )
    return count


README = """\
monitor audit bundle
====================

Period: {since} to {until} (UTC; `until` excluded)
Watches: {watches}
Events: {events} (chain seq {first_seq} to {last_seq})
Chain anchor (hash of the event before the period): {anchor}
Chain head (hash of the period's last event): {head}

What is here
  manifest.json   schema version, period, watches, counts, the SHA-256 of every other file
                  (except manifest.sig), the chain's anchor and head, and its own SHA-256
  events.jsonl    the period's audit events, one canonical JSON object per line:
                  {{seq, at, kind, watch, subject, payload, prev_sha256, sha256}} where
                  sha256 = SHA-256(prev_sha256 + the event without its two hashes, as JSON with
                  sorted keys, no spaces, UTF-8)
  checks.jsonl    (when checks were recorded a pass at a time) the checks of each check_pass
                  event, one per line: {{pass, id, watch, at, outcome, status, duration_ms,
                  raw_sha256, …}}; the event names their ids and holds the SHA-256 of their
                  records' SHA-256s (each record as canonical JSON, without `pass`) and the
                  first 4 bytes of each, so an altered or missing check is named
  versions/       extracted texts, named by their SHA-256
  snapshots/      raw fetched bodies, named by their SHA-256
  changes/        each change's classification and diff (ID.json) and a readable page (ID.html)
  watchlists/     each watchlist loaded in the period, named by its SHA-256
  coverage.csv    per watch: first and last check, checks, failures, and every gap longer than
                  twice its interval as an "unverified FROM–TO" row
  reviews.csv     who reviewed which change, with what verdict
  in-force.csv    per watch, the version in force at the end of the period
  verify.py       a standalone verifier (Python 3, standard library only)
  manifest.sig    (when signed) the Ed25519 signature of manifest.json

How to verify
  1. Without any tool but Python 3:     python3 verify.py THIS-BUNDLE.zip
     (exit 0 intact, 1 broken: one line per break, 2 unusable)
  2. By hand, after unzipping:          sha256sum manifest.json versions/* snapshots/*
     and compare with the "files" of manifest.json; bodies are named by their SHA-256.
  3. With monitor:                      monitor verify THIS-BUNDLE.zip [--key PUBLIC.pem]
  4. The signature, with OpenSSL 3:     openssl pkeyutl -verify -pubin -inkey PUBLIC.pem \\
                                          -rawin -in manifest.json -sigfile manifest.sig
"""


def write_bundle(
    engine: sa.Engine,
    bodies: Bodies,
    period: Period,
    out: Path,
    *,
    sign: Callable[[bytes], bytes] | None = None,
) -> dict[str, Any]:
    """Write the bundle to `out` (through a temporary file renamed into place). Returns the
    manifest."""
    partial = out.with_name(out.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            manifest = _write(engine, bodies, period, _Writer(archive), sign)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return manifest


def _write(
    engine: sa.Engine,
    bodies: Bodies,
    period: Period,
    writer: _Writer,
    sign: Callable[[bytes], bytes] | None,
) -> dict[str, Any]:
    cover = Coverage(list(period.watches), period.intervals, period.since, period.until)
    # one zip entry is written at a time: a pass's checks wait in a file while events stream
    with tempfile.TemporaryFile() as checks:
        with writer.stream(standalone.EVENTS) as write:
            found = write_events(engine, period, write, cover, checks.write)
        if found.counts.get(standalone.PASS_KIND):
            checks.seek(0)
            with writer.stream(standalone.CHECKS) as write:
                while chunk := checks.read(1 << 20):
                    write(chunk)
    writer.put("coverage.csv", _csv(cover.rows()))
    header = ["review_id", "change_id", "watch", "reviewer", "verdict", "note", "at", "event_seq"]
    writer.put("reviews.csv", _csv([header, *found.reviews]))
    writer.put("in-force.csv", _csv(_in_force_rows(engine, period, found)))
    changes = _change_files(engine, writer, found.changes)
    for sha in sorted(found.texts):
        writer.put(f"versions/{sha}.txt", bodies.get(sha))
    for sha in sorted(found.snapshots):
        writer.put(f"snapshots/{sha}", bodies.get(sha))
    for sha in sorted(found.watchlists):
        body = audit_reads.watchlist(engine, sha)
        if body is not None:
            writer.put(f"watchlists/{sha}.toml", body)
    counts = {
        "events": sum(found.counts.values()),
        "checks": found.counts.get("check", 0) + found.pass_checks,
        "changes": changes,
        "versions": len(found.texts),
        "snapshots": len(found.snapshots),
        "reviews": len(found.reviews),
        "watchlists": len(found.watchlists),
        "unverified_gaps": cover.gap_count,
        "by_kind": dict(sorted(found.counts.items())),
    }
    text = README.format(
        since=utc_text(period.since),
        until=utc_text(period.until),
        watches=", ".join(period.watches) or "none",
        events=counts["events"],
        first_seq=found.first_seq,
        last_seq=found.last_seq,
        anchor=found.anchor,
        head=found.head,
    )
    writer.put("README.txt", text.encode("utf-8"))
    writer.put("verify.py", Path(standalone.__file__).read_bytes())
    manifest: dict[str, Any] = {
        "format": "monitor audit bundle",
        "schema_version": SCHEMA_VERSION,
        "monitor_version": __version__,
        "period": {"since": utc_text(period.since), "until": utc_text(period.until)},
        "watches": list(period.watches),
        "counts": counts,
        "chain": {
            "anchor_sha256": found.anchor,
            "first_seq": found.first_seq,
            "last_seq": found.last_seq,
            "head_sha256": found.head,
        },
        "files": dict(sorted(writer.files.items())),
    }
    manifest["sha256"] = standalone.manifest_sha256(manifest)
    data = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False).encode("utf-8")
    writer.put(standalone.MANIFEST, data, listed=False)
    if sign is not None:
        writer.put(standalone.SIGNATURE, sign(data), listed=False)
    return manifest
