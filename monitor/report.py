"""Text and JSON views of checks, changes and versions for the CLI. Presentation only."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any

from monitor.errors import MonitorError
from monitor.wording import plural, shorten

if TYPE_CHECKING:
    import sqlalchemy as sa

    from monitor.pipeline import CheckReport
    from monitor.store.tables import ChangeRow, CheckRow, SnapshotRow, VersionRow

SEVERITY_TAG = {"critical": "CRIT", "major": "MAJOR", "minor": "MINOR", "info": "INFO"}


def color_ok(stream: Any) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    import os

    return not os.environ.get("NO_COLOR") and bool(getattr(stream, "isatty", lambda: False)())


class Progress:
    """A one-line progress counter on stderr, only when it is a terminal."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled and total > 0

    def step(self, item: CheckReport) -> None:
        self.done += 1
        if self.enabled:
            line = f"\r[{self.done}/{self.total}] {item.watch_id[:40]:<40} {item.outcome}"
            sys.stderr.write(line)
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 70 + "\r")
            sys.stderr.flush()


def _table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def check_table(reports: Sequence[CheckReport]) -> str:
    rows = []
    for r in reports:
        detail = r.error or r.summary or ""
        if r.change_id:
            detail = f"change {r.change_id}: {detail}"
        rows.append((r.watch_id, r.outcome, f"{r.duration_ms} ms", shorten(detail, 100)))
    counts = Counter(_bucket(r) for r in reports)
    summary = (
        f"checked {len(reports)}: {counts['new']} new, {counts['unchanged']} unchanged, "
        f"{counts['changed']} changed, {counts['failed']} failed"
    )
    if not reports:
        return "no watches to check"
    return _table(rows, ("watch", "outcome", "time", "detail")) + "\n\n" + summary


def _bucket(r: CheckReport) -> str:
    if r.failed:
        return "failed"
    if r.outcome == "first":
        return "new"
    return "changed" if r.outcome in ("changed", "revert") else "unchanged"


def check_json(r: CheckReport) -> dict[str, Any]:
    return {
        "watch": r.watch_id,
        "outcome": r.outcome,
        "duration_ms": r.duration_ms,
        "change_id": r.change_id,
        "version_id": r.version_id,
        "labels": list(r.labels),
        "severity": r.severity,
        "summary": r.summary,
        "error": r.error,
    }


def change_table(changes: Sequence[ChangeRow]) -> str:
    rows = [
        (
            str(c.id),
            f"{c.detected_at:%Y-%m-%d %H:%M}",
            c.watch_id,
            SEVERITY_TAG.get(c.severity, c.severity.upper()),
            ", ".join(c.labels),
            shorten(c.summary, 110),
        )
        for c in changes
    ]
    return _table(rows, ("id", "detected (UTC)", "watch", "sev", "labels", "summary"))


def check_row_json(c: CheckRow) -> dict[str, Any]:
    return {
        "id": c.id,
        "at": c.at.isoformat(),
        "outcome": c.outcome,
        "status": c.status,
        "duration_ms": c.duration_ms,
        "version_id": c.version_id,
        "error_kind": c.error_kind,
        "error": c.error,
    }


def change_json(c: ChangeRow, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": c.id,
        "watch": c.watch_id,
        "detected_at": c.detected_at.isoformat(),
        "from_version_id": c.from_version_id,
        "to_version_id": c.to_version_id,
        "labels": c.labels,
        "severity": c.severity,
        "summary": c.summary,
        "facts": c.facts,
        "lines_added": c.lines_added,
        "lines_removed": c.lines_removed,
        "sections": c.sections,
        "monitor_version": c.monitor_version,
    }
    if full:
        data["findings"] = c.findings
        data["score"] = c.score
        data["score_factors"] = c.score_factors
        data["diff"] = c.diff
    return data


def _heading(c: ChangeRow) -> list[str]:
    lines = [
        f"change {c.id}  {c.watch_id}  {c.detected_at:%Y-%m-%d %H:%M} UTC  "
        f"{SEVERITY_TAG.get(c.severity, c.severity)}  {', '.join(c.labels)}",
        c.summary,
    ]
    if c.from_version_id or c.to_version_id:
        lines.append(f"versions {c.from_version_id} → {c.to_version_id}")
    for finding in c.findings:
        lines.append(f"  · {finding.get('label')}: {finding.get('reason')} [{finding.get('rule')}]")
    return lines


def change_text(c: ChangeRow, *, color: bool) -> str:
    lines = _heading(c)
    if c.diff:
        from monitor.diff import diff_from_json
        from monitor.render import render_terminal

        lines += ["", render_terminal(diff_from_json(c.diff), color=color)]
    return "\n".join(lines)


def change_html(c: ChangeRow, engine: sa.Engine) -> str:
    """The change side by side, headed by where and when it was seen, its severity and facts."""
    from monitor.diff import diff_from_json
    from monitor.render import render_html
    from monitor.render_slack import fact_lines
    from monitor.store import queries

    if not c.diff:
        raise MonitorError(f"change {c.id} ({', '.join(c.labels)}) has no text diff to render")
    about = [("watch", c.watch_id)]
    new = queries.version(engine, c.to_version_id) if c.to_version_id else None
    old = queries.version(engine, c.from_version_id) if c.from_version_id else None
    if new is not None:
        about.append(("page", new[1].final_url))
    about += [
        ("detected", f"{c.detected_at:%Y-%m-%d %H:%M:%S} UTC"),
        ("severity", c.severity),
        ("labels", ", ".join(c.labels)),
        ("summary", c.summary),
    ]
    if old is not None and new is not None:
        about.append(
            ("versions", f"{old[0].seq} (seen {old[0].seen_at:%Y-%m-%d %H:%M} UTC) → "
             f"{new[0].seq} (seen {new[0].seen_at:%Y-%m-%d %H:%M} UTC)")
        )  # fmt: skip
    for fact in c.facts:
        pairs = fact_lines(fact)
        if pairs:
            about.append(("fact", "; ".join(f"{name}: {value}" for name, value in pairs)))
    return render_html(
        diff_from_json(c.diff), title=f"{c.watch_id}: {c.summary}", about=list(dict.fromkeys(about))
    )


def version_json(v: VersionRow, s: SnapshotRow) -> dict[str, Any]:
    return {
        "id": v.id,
        "seq": v.seq,
        "seen_at": v.seen_at.isoformat(),
        "text_sha256": v.text_sha256,
        "rules_sha256": v.rules_sha256,
        "size": v.size,
        "snapshot": {
            "sha256": s.sha256,
            "fetched_at": s.fetched_at.isoformat(),
            "size": s.size,
            "requested_url": s.requested_url,
            "final_url": s.final_url,
            "status": s.status,
            "fetcher": s.fetcher,
        },
        "monitor_version": v.monitor_version,
    }


def version_table(rows: Sequence[tuple[VersionRow, SnapshotRow]]) -> str:
    table = [
        (
            str(v.id),
            str(v.seq),
            f"{v.seen_at:%Y-%m-%d %H:%M}",
            f"{v.size}",
            v.text_sha256[:12],
            s.sha256[:12],
            s.final_url,
        )
        for v, s in rows
    ]
    return _table(table, ("id", "seq", "seen (UTC)", "bytes", "text sha256", "snapshot", "url"))


def timeline(engine: sa.Engine, watch_id: str, *, limit: int) -> str:
    from monitor.store import queries

    events: list[tuple[datetime, str]] = []
    for check in queries.checks(engine, watch_id, limit=limit):
        detail = check.error or (f"status {check.status}" if check.status else "")
        events.append((check.at, f"check    {check.outcome:<12} {detail}"))
    for v, _s in queries.versions(engine, watch_id)[-limit:]:
        events.append(
            (v.seen_at, f"version  {v.id} (#{v.seq}) {v.size} bytes {v.text_sha256[:12]}")
        )
    for c in queries.changes(engine, watch_id, limit=limit):
        events.append(
            (
                c.detected_at,
                f"change   {c.id} {SEVERITY_TAG.get(c.severity)} {', '.join(c.labels)}: {c.summary}",
            )
        )
    events.sort(key=lambda e: e[0], reverse=True)
    n_checks, n_versions, n_changes = queries.counts(engine, watch_id)
    head = (
        f"{watch_id}: {plural(n_checks, 'check')}, {plural(n_versions, 'version')}, "
        f"{plural(n_changes, 'change')}"
    )
    body = [f"{at:%Y-%m-%d %H:%M:%S}  {text}" for at, text in events[: limit * 3]]
    return "\n".join([head, *body])


def parse_when(text: str) -> datetime:
    """'2026-03-01' → the end of that day, UTC; an ISO time → that time (UTC if no zone)."""
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date()
            return datetime.combine(day, time.max, tzinfo=UTC)
        when = datetime.fromisoformat(text)
    except ValueError:
        raise MonitorError(f"bad date {text!r}: use YYYY-MM-DD or an ISO time") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
