"""The daemon's log lines on stderr: one per check, plain or JSON lines."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.pipeline import CheckReport

log = logging.getLogger("monitor.daemon")


def _iso(when: datetime | None, *, ms: bool = False) -> str | None:
    if when is None:
        return None
    text = when.astimezone(UTC).isoformat(timespec="milliseconds" if ms else "seconds")
    return text.replace("+00:00", "Z")


def log_check(report: CheckReport, *, next_at: datetime | None, failures: int | None) -> None:
    fields: dict[str, Any] = {
        "watch": report.watch_id,
        "outcome": report.outcome,
        "duration_ms": report.duration_ms,
        "change_id": report.change_id,
        "labels": list(report.labels),
        "severity": report.severity,
        "error": report.error,
        "failures_in_row": failures,
        "next_check_at": _iso(next_at),
    }
    level = logging.WARNING if report.outcome in ("failed", "error") else logging.INFO
    log.log(
        level, "%s %s", report.watch_id, report.outcome, extra={"event": "check", "fields": fields}
    )


class LineFormatter(logging.Formatter):
    """Plain: `TIME check WATCH OUTCOME 123ms change=7 labels=a,b next=TIME` for checks,
    `TIME LEVEL message` otherwise. JSON: one object per line with time, level, event and the
    check's fields."""

    def __init__(self, log_format: str) -> None:
        super().__init__()
        self.json = log_format == "json"

    def format(self, record: logging.LogRecord) -> str:
        at = _iso(datetime.fromtimestamp(record.created, UTC), ms=True)
        event = getattr(record, "event", None)
        if event is None:
            event = (
                "scheduler" if record.name.startswith(("apscheduler", "procrastinate")) else "log"
            )
        fields: dict[str, Any] = getattr(record, "fields", {})
        message = record.getMessage()
        if record.exc_info:
            message += " | " + " ".join(self.formatException(record.exc_info).split())[-600:]
        if self.json:
            item = {"time": at, "level": record.levelname.lower(), "event": event}
            if event != "check":
                item["message"] = message
            return json.dumps({**item, **fields}, ensure_ascii=False)
        if event != "check":
            return f"{at} {record.levelname.lower()} {message}"
        parts = [f"{at} check {fields['watch']} {fields['outcome']} {fields['duration_ms']}ms"]
        if fields["change_id"] is not None:
            parts.append(f"change={fields['change_id']}")
        if fields["labels"]:
            parts.append("labels=" + ",".join(fields["labels"]))
        if fields["failures_in_row"]:
            parts.append(f"failures={fields['failures_in_row']}")
        if fields["error"]:
            parts.append("error=" + json.dumps(fields["error"], ensure_ascii=False))
        if fields["next_check_at"]:
            parts.append(f"next={fields['next_check_at']}")
        return " ".join(parts)


@contextlib.contextmanager
def logging_to_stderr(log_format: str) -> Iterator[None]:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LineFormatter(log_format))
    saved = []
    quiet = (("apscheduler", logging.WARNING), ("procrastinate", logging.WARNING))
    for name, level in (("monitor", logging.INFO), *quiet):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
