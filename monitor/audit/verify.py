"""`monitor verify`: the live store (chain, rows against their events, bodies against their
hashes), or a bundle offline (the standalone checks, plus the signature with a public key)."""

from __future__ import annotations

import bisect
import hashlib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from monitor.audit import standalone
from monitor.audit.bundle import event_body
from monitor.audit.chain import GENESIS, event_sha256
from monitor.errors import StoreError
from monitor.snapshots import Bodies
from monitor.store import audit_reads


@dataclass
class Verdict:
    code: int  # 0 intact, 1 broken, 2 unusable
    breaks: list[str] = field(default_factory=list)
    summary: str = ""


def _chain(engine: sa.Engine, tally: dict[str, int]) -> Iterator[str]:
    prev, expected = GENESIS, 1
    for event in audit_reads.events(engine):
        tally["events"] += 1
        where = f"event {event.seq} ({event.kind} {event.table} {event.subject_id})"
        if event.seq != expected:
            yield f"{where}: expected event {expected} here: events missing"
        if event.prev_sha256 != prev:
            yield f"{where}: its prev_sha256 is not the previous event's hash"
        if event_sha256(event.prev_sha256, event_body(event)) != event.sha256:
            yield f"{where}: hash does not match its content (event altered)"
        prev, expected = event.sha256, event.seq + 1


class _Covered:
    """The check ids `check_pass` events name, as sorted ranges."""

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int]] = []
        self.firsts: list[int] = []

    def add(self, ranges: list[list[int]]) -> None:
        self.ranges.extend((first, last) for first, last in ranges)

    def close(self) -> None:
        self.ranges.sort()
        self.firsts = [first for first, _ in self.ranges]

    def __contains__(self, check_id: int) -> bool:
        at = bisect.bisect_right(self.firsts, check_id) - 1
        return at >= 0 and self.ranges[at][0] <= check_id <= self.ranges[at][1]


def _passes(engine: sa.Engine, tally: dict[str, int], covered: _Covered) -> Iterator[str]:
    """Each `check_pass` event against the check rows it names."""
    for seq, payload in audit_reads.check_passes(engine):
        where = f"event {seq} ({standalone.PASS_KIND})"
        try:
            standalone.pass_ids(payload)
        except ValueError as exc:
            yield f"{where}: {exc}"
            continue
        covered.add(payload["checks"])
        found = {r["id"]: r for r in audit_reads.check_records(engine, payload["checks"])}
        tally["rows"] += len(found)
        try:
            result = standalone.check_pass(payload, found)
        except ValueError as exc:
            yield f"{where}: {exc}"
            continue
        for check_id in result.missing:
            yield f"{where}: the check {check_id} it records is missing (row deleted)"
        for check_id in result.altered:
            yield (
                f"check {check_id}: not the check event {seq} recorded: its watch, time, "
                "outcome, status or hash differs (row altered)"
            )
        if not result.digest_ok and not (result.missing or result.altered):
            yield f"{where}: its checks do not hash to its checks_sha256 (a row altered)"
    covered.close()


def _rows(engine: sa.Engine, tally: dict[str, int], covered: _Covered) -> Iterator[str]:
    for table in audit_reads.AUDITED_TABLES:
        for row_id, now, seq, recorded in audit_reads.rows_against_events(engine, table):
            if seq is None or recorded is None:
                if table == "check" and row_id in covered:
                    continue  # counted and checked with its pass
                tally["rows"] += 1
                yield f"{table} {row_id}: no audit event records it (row added outside monitor)"
                continue
            tally["rows"] += 1
            if now != recorded:
                fields = sorted(
                    k for k in now.keys() | recorded.keys() if now.get(k) != recorded.get(k)
                )
                yield (
                    f"{table} {row_id}: {', '.join(fields)} differ from event {seq} that "
                    "recorded it (row altered)"
                )
        for seq, subject_id in audit_reads.events_without_rows(engine, table):
            yield f"event {seq}: the {table} {subject_id} it records is missing (row deleted)"


def _bodies(engine: sa.Engine, bodies: Bodies, tally: dict[str, int]) -> Iterator[str]:
    for what, sha in audit_reads.body_hashes(engine):
        tally["bodies"] += 1
        try:
            bodies.get(sha)
        except StoreError as exc:
            yield f"{what} body {sha}: {exc}"
    for sha, body in audit_reads.watchlists(engine):
        tally["bodies"] += 1
        if hashlib.sha256(body).hexdigest() != sha:
            yield f"watchlist {sha}: its stored bytes do not match its hash (altered)"


def verify_store(engine: sa.Engine, bodies: Bodies) -> Verdict:
    tally = {"events": 0, "rows": 0, "bodies": 0}
    covered = _Covered()
    breaks = [
        *_chain(engine, tally),
        *_passes(engine, tally, covered),
        *_rows(engine, tally, covered),
        *_bodies(engine, bodies, tally),
    ]
    summary = f"{tally['events']} events, {tally['rows']} rows, {tally['bodies']} bodies"
    return Verdict(1 if breaks else 0, breaks, summary)


def verify_bundle(
    path: Path, public_key: Path | None = None, max_size: int | None = None
) -> Verdict:
    try:
        report = standalone.verify(str(path), max_size or standalone.MAX_TOTAL)
    except standalone.Unusable as exc:
        return Verdict(2, [str(exc)])
    breaks = list(report.breaks)
    if public_key is not None:
        breaks.extend(_signature(path, public_key))
    return Verdict(1 if breaks else 0, breaks, report.summary)


def _signature(path: Path, public_key: Path) -> list[str]:
    from monitor.audit.signing import public_key as load_key
    from monitor.audit.signing import signature_ok

    load_key(public_key)  # a bad key file is the user's to fix, before anything is read
    with zipfile.ZipFile(path) as bundle:
        names = set(bundle.namelist())
        if standalone.SIGNATURE not in names:
            return [f"{standalone.SIGNATURE}: missing: the bundle is not signed"]
        manifest = bundle.read(standalone.MANIFEST)
        signature = bundle.read(standalone.SIGNATURE)
    if not signature_ok(public_key, manifest, signature):
        return [f"{standalone.SIGNATURE}: not a signature of manifest.json by {public_key.name}"]
    return []
