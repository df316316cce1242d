"""Canonical JSON and the chain's hashing. Pure: no I/O.

An event is `{seq, at, kind, watch, subject: {table, id}, payload}`; its canonical form is JSON
with sorted keys, no spaces, UTF-8, times as UTC `YYYY-MM-DDTHH:MM:SS.ffffffZ` and no floats.
`sha256 = SHA-256(prev_sha256 ‖ canonical event)`, where `prev_sha256` is the previous event's
hex digest (64 zeros before the first event)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

GENESIS = "0" * 64
SCHEMA_VERSION = 1


def utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime in an audit event; use UTC-aware times")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def plain(value: Any) -> Any:
    """`value` as JSON-ready data for the chain: times as UTC text, bytes as hex. A float is
    refused: its text differs between languages, so payloads carry it as a string."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        raise TypeError("a float in an audit payload; pass it through without_floats")
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    raise TypeError(f"cannot put {type(value).__name__} in an audit payload")


def without_floats(value: Any) -> Any:
    """Floats (scores) become their shortest round-trip text, so the data hashes the same
    everywhere."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {k: without_floats(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_floats(v) for v in value]
    return value


def dumps(plain_value: Any) -> bytes:
    """Canonical JSON of data that is already plain (see `plain`)."""
    return json.dumps(
        plain_value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def canonical(value: Any) -> bytes:
    return dumps(plain(value))


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


@dataclass(frozen=True)
class Event:
    seq: int
    at: datetime
    kind: str
    watch: str | None
    subject_table: str
    subject_id: str
    payload: dict[str, Any]

    def body(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": utc_text(self.at),
            "kind": self.kind,
            "watch": self.watch,
            "subject": {"table": self.subject_table, "id": self.subject_id},
            "payload": plain(self.payload),
        }


def event_sha256(prev_sha256: str, body: dict[str, Any]) -> str:
    """`body` is plain data, as `Event.body()` gives it."""
    return hashlib.sha256(prev_sha256.encode("ascii") + dumps(body)).hexdigest()


def event_line(body: dict[str, Any], prev_sha256: str, sha256: str) -> bytes:
    """One line of events.jsonl: the event with its two hashes, canonical, newline-ended."""
    return dumps({**body, "prev_sha256": prev_sha256, "sha256": sha256}) + b"\n"
