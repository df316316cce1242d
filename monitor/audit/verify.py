"""`monitor verify`: the live store (chain, rows against their events, bodies against their
hashes), or a bundle offline (the standalone checks, plus the signature with a public key)."""

from __future__ import annotations

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


def _rows(engine: sa.Engine, tally: dict[str, int]) -> Iterator[str]:
    for table in audit_reads.AUDITED_TABLES:
        for row_id, now, seq, recorded in audit_reads.rows_against_events(engine, table):
            tally["rows"] += 1
            if seq is None or recorded is None:
                yield f"{table} {row_id}: no audit event records it (row added outside monitor)"
            elif now != recorded:
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
    breaks = [*_chain(engine, tally), *_rows(engine, tally), *_bodies(engine, bodies, tally)]
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
