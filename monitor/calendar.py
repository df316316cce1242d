"""An iCalendar (RFC 5545) feed of model shutdown dates: one all-day event per registry row that
has a shutdown date. Lines end in CRLF and are folded at 75 octets; text is escaped; each event's
UID is derived from provider, model and surface, so re-exporting updates events in place."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from monitor import __version__

PRODID = f"-//monitor//model shutdowns {__version__}//EN"
SURFACE_NAMES = {
    "api": "the API",
    "chatgpt": "ChatGPT",
    "azure": "Azure",
    "bedrock": "Bedrock",
    "vertex": "Vertex AI",
}


class Shutdown(Protocol):
    """What an event is made from (a ModelLifecycleRow has all of it)."""

    provider: str
    model: str
    surface: str
    status: str
    shutdown_on: date | None
    shutdown_qualifier: str | None
    replacement: str | None
    source_change_id: int | None
    watch_id: str | None
    updated_at: datetime


def escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11)."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line into chunks of at most 75 octets, never inside a UTF-8 character."""
    out: list[str] = []
    current, size = "", 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def uid(row: Shutdown) -> str:
    key = f"{row.provider}\x00{row.model}\x00{row.surface}".encode()
    return f"{hashlib.sha256(key).hexdigest()[:32]}@monitor"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event(row: Shutdown) -> list[str]:
    assert row.shutdown_on is not None
    where = SURFACE_NAMES.get(row.surface, row.surface)
    summary = f"{row.model} shuts down on {where} ({row.provider})"
    details = [f"Status: {row.status}"]
    if row.shutdown_qualifier:
        details.append(f"Date: {row.shutdown_qualifier} {row.shutdown_on.isoformat()}")
    if row.replacement:
        details.append(f"Replacement: {row.replacement}")
    if row.source_change_id is not None:
        details.append(f"Source: change {row.source_change_id} (watch {row.watch_id})")
    return [
        "BEGIN:VEVENT",
        f"UID:{uid(row)}",
        f"DTSTAMP:{_stamp(row.updated_at)}",
        f"LAST-MODIFIED:{_stamp(row.updated_at)}",
        f"DTSTART;VALUE=DATE:{row.shutdown_on.strftime('%Y%m%d')}",
        f"DTEND;VALUE=DATE:{(row.shutdown_on + timedelta(days=1)).strftime('%Y%m%d')}",
        f"SUMMARY:{escape(summary)}",
        f"DESCRIPTION:{escape(chr(10).join(details))}",
        f"CATEGORIES:{escape(row.provider)},{escape(row.surface)}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
    ]


def shutdown_calendar(rows: Iterable[Shutdown], *, name: str = "Model shutdowns") -> str:
    """The calendar text; rows without a shutdown date are left out. Same rows, same bytes."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
    ]
    dated = [row for row in rows if row.shutdown_on is not None]
    for row in sorted(dated, key=lambda r: (r.shutdown_on, r.provider, r.model, r.surface)):
        lines += _event(row)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
