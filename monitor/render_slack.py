"""A change → Slack Block Kit blocks and a fallback text. Presentation only: no I/O.

Everything that comes from a page (summary, facts, diff, section headings) is escaped for mrkdwn
(`&`, `<`, `>`), and every mrkdwn text object is `verbatim`, so nothing a page says can become a
mention (`<!channel>`, `<@U123>`, `@here`) or a disguised link (`<http://x|y>`) in Slack.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.models import Hunk, Segment, TextDiff

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_FALLBACK = 3000
DIFF_BUDGET = 2800  # of a section's 3000 characters, for the excerpt
MAX_HUNKS = 6
CONTEXT = 60  # characters of unchanged text kept on each side of a change
EMOJI = {
    "critical": ":rotating_light:",
    "major": ":large_orange_circle:",
    "minor": ":large_yellow_circle:",
    "info": ":large_blue_circle:",
}
FACT_NAMES = {
    "model": "Model",
    "provider": "Provider",
    "surface": "Surface",
    "announced": "Announced",
    "shutdown_date": "Shutdown",
    "replacement": "Replacement",
    "effective_date": "Effective",
    "title": "Entry",
    "date": "Date",
    "url": "Link",
}

Block = dict[str, Any]


@dataclass(frozen=True)
class Alert:
    """What a message says about one change."""

    change_id: int
    watch_id: str
    watch_name: str
    url: str
    severity: str
    labels: tuple[str, ...]
    summary: str
    detected_at: datetime
    facts: tuple[dict[str, Any], ...] = ()
    sections: tuple[str, ...] = ()
    lines_added: int = 0
    lines_removed: int = 0
    diff: TextDiff | None = field(default=None, compare=False)
    change_url: str | None = None  # the change's page in `monitor serve`, with [defaults] base_url


def escape(text: str) -> str:
    """Page text → mrkdwn that shows the same characters and means nothing to Slack."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Escape `text` and cut it to at most `limit` characters, never inside an entity and, where
    a space allows, never inside a word."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    if limit < 1:
        return ""
    kept = 0
    used = 0
    for char in text:
        size = len(escape(char))
        if used + size > limit - 1:
            break
        kept += 1
        used += size
    head = text[:kept]
    space = head.rfind(" ")
    if not text[kept].isspace() and space >= kept // 2:
        head = head[:space]
    return escape(head.rstrip(" ,;:.-–—")) + "…"


def link(url: str, label: str) -> str:
    target = escape(url).replace("|", "%7C")
    return f"<{target}|{clip(label, 200)}>"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text[:MAX_SECTION])}


def _header(text: str) -> Block:
    if len(text) > MAX_HEADER:
        text = text[: MAX_HEADER - 1] + "…"
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text[:MAX_SECTION])]}


def _labels(labels: Iterable[str]) -> str:
    return " ".join(f"`{escape(label)}`" for label in labels)


def fact_lines(fact: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, value) pairs of a fact, in reading order; versions as `from → to`."""
    pairs: list[tuple[str, str]] = []
    if fact.get("kind") == "version" and (fact.get("from") or fact.get("to")):
        pairs.append(("Version", f"{fact.get('from') or '?'} → {fact.get('to') or '?'}"))
    for key, value in fact.items():
        if key in ("kind", "from", "to") or value in (None, "", [], {}):
            continue
        pairs.append((FACT_NAMES.get(key, key.replace("_", " ").capitalize()), str(value)))
    return pairs


def _fact_block(fact: dict[str, Any]) -> Block | None:
    pairs = fact_lines(fact)[:MAX_FIELDS]
    if not pairs:
        return None
    fields = [
        _mrkdwn(f"*{name}*\n{clip(value, MAX_FIELD - len(name) - 3)}") for name, value in pairs
    ]
    return {"type": "section", "fields": fields}


def _marked(text: str, mark: str) -> str:
    """Wrap each line's non-blank core in `mark` (Slack needs the marks against the words)."""
    out = []
    for part in text.split("\n"):
        core = part.strip()
        if not core:
            out.append(part)
            continue
        lead = part[: len(part) - len(part.lstrip())]
        trail = part[len(part.rstrip()) :]
        out.append(f"{lead}{mark}{escape(core)}{mark}{trail}")
    return "\n".join(out)


def _hunk_text(hunk: Hunk) -> str:
    segments: tuple[Segment, ...] = hunk.segments or (
        *(Segment("delete", line) for line in hunk.removed),
        *(Segment("insert", line) for line in hunk.added),
    )
    parts: list[str] = []
    for index, segment in enumerate(segments):
        if segment.op in ("delete", "insert"):
            marked = _marked(segment.text, "~" if segment.op == "delete" else "*")
            if parts and parts[-1][-1:] in ("~", "*") and marked[:1] in ("~", "*"):
                marked = " " + marked  # Slack needs a space between ~struck~ and *bold*
            parts.append(marked)
        else:
            text = segment.text
            head = index == 0
            tail = index == len(segments) - 1
            if head and len(text) > CONTEXT:
                text = "…" + text[-CONTEXT:]
            elif tail and len(text) > CONTEXT:
                text = text[:CONTEXT] + "…"
            elif len(text) > 2 * CONTEXT:
                text = text[:CONTEXT] + " … " + text[-CONTEXT:]
            parts.append(escape(text))
    body = "".join(parts)
    if hunk.section:
        body = f"_{escape(hunk.section.lstrip('# '))}_\n{body}"
    return body


def diff_excerpt(diff: TextDiff, budget: int = DIFF_BUDGET) -> str:
    """A short word-level excerpt: removed words struck through, added words in bold."""
    pieces: list[str] = []
    used = 0
    shown = 0
    for hunk in diff.hunks[:MAX_HUNKS]:
        text = _hunk_text(hunk)
        if used + len(text) + 2 > budget:
            if not pieces:  # one long hunk: its unformatted start, cut to fit
                pieces.append(clip("\n".join(hunk.added or hunk.removed), budget - 40))
                shown = 1
            break
        pieces.append(text)
        used += len(text) + 2
        shown += 1
    more = len(diff.hunks) - shown
    if more > 0:
        pieces.append(f"_…and {more} more change{'s' if more > 1 else ''}_")
    return "\n\n".join(pieces)


def _title(alert: Alert) -> str:
    return f"*{link(alert.url, alert.watch_name)}*  {_labels(alert.labels)}"


def _footer(alert: Alert) -> str:
    parts = [
        f"change #{alert.change_id}",
        f"+{alert.lines_added} −{alert.lines_removed} lines",
        alert.detected_at.strftime("%Y-%m-%d %H:%M UTC"),
    ]
    if alert.sections:
        parts.append("in " + ", ".join(clip(s.lstrip("# "), 80) for s in alert.sections[:5]))
    if alert.change_url:
        parts.append(link(alert.change_url, "review the change"))
    return " · ".join(parts)


def fallback_text(alert: Alert) -> str:
    text = f"[{alert.severity}] {escape(alert.watch_name)}: {escape(alert.summary)}"
    return text[:MAX_FALLBACK]


def change_message(alert: Alert) -> tuple[list[Block], str]:
    """Blocks and fallback text for one change."""
    emoji = EMOJI.get(alert.severity, "")
    blocks: list[Block] = [
        _header(f"{emoji} {alert.severity.upper()}: {alert.watch_name}".strip()),
        _section(_title(alert)),
    ]
    if alert.summary:
        blocks.append(_section(clip(alert.summary, MAX_SECTION)))
    for fact in alert.facts[:10]:
        block = _fact_block(fact)
        if block is not None:
            blocks.append(block)
    if alert.diff is not None and not alert.diff.empty:
        blocks.append({"type": "divider"})
        blocks.append(_section(diff_excerpt(alert.diff)))
    blocks.append(_context(_footer(alert)))
    return blocks[:MAX_BLOCKS], fallback_text(alert)


def digest_message(alerts: list[Alert], period: str) -> tuple[list[Block], str]:
    """One message for a channel's changes of one period (e.g. "2025-06-30" or "… 14:00 UTC")."""
    title = f"{len(alerts)} change{'s' if len(alerts) != 1 else ''} · {period}"
    blocks: list[Block] = [_header(f"Digest: {title}")]
    room = MAX_BLOCKS - 2
    for alert in alerts[:room]:
        line = f"{EMOJI.get(alert.severity, '')} *{alert.severity}* {_title(alert)}"
        if alert.summary:
            line += "\n" + clip(alert.summary, 500)
        blocks.append(_section(line))
    if len(alerts) > room:
        blocks.append(_context(f"…and {len(alerts) - room} more; see `monitor history`"))
    return blocks, f"Digest: {title}"


def probe_message(channel: str) -> tuple[list[Block], str]:
    text = f"Test message from monitor: channel {escape(channel)} is set up."
    return [_section(text)], text
