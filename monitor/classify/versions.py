"""`version_bump`: the document's own version marker changed ("Version 3.0" → "3.1", "Effective
…", "Last updated …", an RSS lastBuildDate). A marker only written differently ("8 July 2026" ↔
"July 8, 2026") or a relative age that only ticks on ("5 days ago" → "6 days ago") is cosmetic; an
age that resets ("21 days ago" → "10 hours ago") is a new version."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from monitor import patterns as p
from monitor.classify.context import Context, Line
from monitor.classify.dates import find_dates
from monitor.classify.records import record_changes
from monitor.classify.text import normalise
from monitor.models import Finding, TextDiff

_GAP = re.compile(
    r"^[\s:：*_|,(\[-]*(?:(?:on|as of|at|from)\s+)?"
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?,?\s*)?$",
    re.I,
)
_NUMERIC_DATE = re.compile(r"(?<![\d/.])(\d{1,4})([/.])(\d{1,2})\2(\d{4}|\d{1,2})(?![\d/.])")
_AFTER_DATE_TIME = re.compile(
    r"^[\sT,]*(?:at\s+)?(\d{1,2}):(\d{2}(?::\d{2})?)(?:\s*([AaPp])\.?[Mm]\.?)?"
    r"(?:\s*(?:[A-Z]{2,4}T|UTC|GMT|Z)(?:[+-]\d{1,2}(?::?\d{2})?)?)?(?![\w:])"
)
MARKER_LINE_WORDS = 15
MARKER_LINE_START = 40


@dataclass(frozen=True)
class Marker:
    kind: str  # version, effective, last updated, build, age
    value: str  # "3.1", "2026-04-02", "2026-03-27T04:35:46", or seconds for an age
    start: int
    end: int
    alt: str | None = None  # the other reading of an ambiguous numeric date (day/month)
    order: str | None = None  # "mdy" or "dmy" when a numeric date says which it is

    def same(self, other: Marker) -> bool:
        """The same value, reading an ambiguous numeric date either way."""
        mine = {self.value, self.alt} - {None}
        return bool(mine & ({other.value, other.alt} - {None}))


@dataclass(frozen=True)
class _Numeric:
    iso: str
    alt: str | None
    order: str | None
    start: int
    end: int


def _iso(year: int, month: int, day: int) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31 and 1900 <= year <= 2200):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def numeric_date(text: str) -> _Numeric | None:
    """The first numeric date in `text`: YYYY/MM/DD, or MM/DD/YYYY and DD/MM/YYYY told apart by
    a part above 12; when both readings hold, month first (the US form), the other kept."""
    for m in _NUMERIC_DATE.finditer(text):
        a, b, c = m.group(1), m.group(3), m.group(4)
        if len(a) == 4:
            iso = _iso(int(a), int(b), int(c)) if len(c) <= 2 else None
            if iso:
                return _Numeric(iso, None, "ymd", m.start(), m.end())
            continue
        if len(c) != 4 or len(a) > 2:
            continue
        us, eu = _iso(int(c), int(a), int(b)), _iso(int(c), int(b), int(a))
        if us and eu:
            return _Numeric(us, eu if eu != us else None, None, m.start(), m.end())
        if us or eu:
            return _Numeric(us or eu or "", None, "mdy" if us else "dmy", m.start(), m.end())
    return None


def _clock(time: re.Match[str]) -> str:
    """ "4:12 PM" → "16:12", "04:35:46" as it is."""
    hour, rest, half = int(time.group(1)), time.group(2), (time.group(3) or "").lower()
    if half == "p" and hour < 12:
        hour += 12
    elif half == "a" and hour == 12:
        hour = 0
    return f"{hour:02d}:{rest}"


def markers(text: str) -> list[Marker]:
    """The version markers in one line."""
    text = normalise(text)
    found = []
    for m in p.VERSION_NUMBER.finditer(text):
        dated = p.VERSION_DATED.match(text, m.end())  # "Version 2.2 (October 2025)"
        end = dated.end() if dated else m.end()
        found.append(Marker("version", m.group("value") or m.group("short"), m.start(), end))
    for kind, pattern in p.MARKER_WORDS.items():
        for m in pattern.finditer(text):
            window = text[m.end() : m.end() + 60]
            age = p.RELATIVE_AGE.match(window)
            if age:
                count = age.group("n")
                seconds = (1 if not count.isdigit() else int(count)) * p.AGE_UNITS[
                    age.group("unit").lower()
                ]
                found.append(Marker("age", str(seconds), m.start(), m.end() + age.end()))
                continue
            dates = [hit for hit in find_dates(window) if _GAP.match(window[: hit.start])]
            numeric = numeric_date(window)
            alt = order = None
            if (
                numeric is not None
                and _GAP.match(window[: numeric.start])
                and (not dates or numeric.start <= dates[0].start)
            ):
                # a numeric date is read here, both ways when ambiguous, whatever the date
                # reader decides for the page: a marker is compared with its other side
                iso, hit_end, alt, order = numeric.iso, numeric.end, numeric.alt, numeric.order
            elif dates:
                iso, hit_end = dates[0].iso, dates[0].end
            else:
                continue
            value, end = iso, hit_end
            time = _AFTER_DATE_TIME.match(window[hit_end:])
            if time:
                clock = _clock(time)
                value, end = f"{iso}T{clock}", hit_end + time.end()
                alt = f"{alt}T{clock}" if alt else None
            found.append(
                Marker(
                    "build" if kind == "build" else kind,
                    value,
                    m.start(),
                    m.end() + end,
                    alt,
                    order,
                )
            )
    return found


def mask_markers(text: str) -> str:
    text = normalise(text)
    out, last = [], 0
    for marker in sorted(markers(text), key=lambda m: m.start):
        if marker.start < last:
            continue
        out += [text[last : marker.start], f"\x00{marker.kind}\x00"]
        last = marker.end
    return "".join(out) + text[last:]


def marker_pair(old: Line, new: Line) -> bool:
    """The two lines differ only inside their version markers."""
    return bool(markers(new.text)) and mask_markers(old.text) == mask_markers(new.text)


def _document_marker(line: Line, marker: Marker) -> bool:
    """A marker of the document itself: on a short line, or where a long line starts."""
    return len(line.text.split()) <= MARKER_LINE_WORDS or marker.start <= MARKER_LINE_START


def _by_kind(lines: list[Line]) -> dict[str, list[tuple[Marker, Line]]]:
    out: dict[str, list[tuple[Marker, Line]]] = {}
    for line in lines:
        for marker in markers(line.text):
            if _document_marker(line, marker):
                out.setdefault(marker.kind, []).append((marker, line))
    return out


def bumps(ctx: Context) -> list[tuple[str, Marker, Marker, Line, Line]]:
    """(kind, old marker, new marker, old line, new line) for each marker whose value changed."""
    records = record_changes(ctx)
    old_covered = records[1] if records else frozenset()
    new_covered = records[2] if records else frozenset()
    old_side = [pair.old for pair in ctx.changed] + list(ctx.removed)
    new_side = [pair.new for pair in ctx.changed] + list(ctx.added)
    # an index's entries carry their own dates ("Published …" on each card): not the page's
    from monitor.classify.entries import entry_lines

    old_covered = old_covered | entry_lines(ctx, (*ctx.removed, *(c.old for c in ctx.changed)))[1]
    new_covered = new_covered | entry_lines(ctx, (*ctx.added, *(c.new for c in ctx.changed)))[1]
    old_side = [line for line in old_side if line.number not in old_covered]
    new_side = [line for line in new_side if line.number not in new_covered]
    # "date: …" at a line's start is the page's date only in its front matter, not in a sample
    old_side = [x for x in old_side if not _key_outside_front(x, ctx.old_doc.front_end)]
    new_side = [x for x in new_side if not _key_outside_front(x, ctx.new_doc.front_end)]
    old_markers, new_markers = _by_kind(old_side), _by_kind(new_side)
    out = []
    for kind, new_list in new_markers.items():
        old_list = old_markers.get(kind)
        if not old_list:
            continue
        (old, old_line), (new, new_line) = old_list[0], new_list[0]
        old, new = _read_alike(old, new), _read_alike(new, old)
        if old.same(new):
            continue
        if kind == "age" and int(new.value) >= int(old.value):
            continue  # the counter only ticked on
        out.append((kind, old, new, old_line, new_line))
    return out


def _key_outside_front(line: Line, front_end: int) -> bool:
    return line.number > front_end and bool(p.FRONT_MATTER_DATE.match(line.text))


def _read_alike(marker: Marker, other: Marker) -> Marker:
    """An ambiguous numeric date read in the order the other side's date shows."""
    if marker.alt and other.order == "dmy":
        return replace(marker, value=marker.alt, alt=None)
    if marker.alt and other.order == "mdy":
        return replace(marker, alt=None)
    return marker


def effective_date(ctx: Context) -> str | None:
    """The document's effective date as the new text states it."""
    for line in ctx.new_doc.first(40):
        for marker in markers(line.text):
            if marker.kind == "effective":
                return marker.value[:10]
    return None


def _went_back(kind: str, old: Marker, new: Marker) -> bool:
    """The marker moved to an earlier version or date: the document was rolled back."""
    if kind == "age":
        return False
    if kind == "version":
        try:
            return tuple(map(int, new.value.split("."))) < tuple(map(int, old.value.split(".")))
        except ValueError:
            return False
    return new.value < old.value


def rule_version(diff: TextDiff, ctx: Context) -> list[Finding]:
    found = []
    changes = bumps(ctx)
    effective = effective_date(ctx)
    for kind, old, new, _, new_line in changes:
        fact: dict[str, Any]
        if kind == "age":
            fact = {
                "kind": "version",
                "marker": "age",
                "from": f"{old.value}s ago",
                "to": f"{new.value}s ago",
            }
        else:
            fact = {"kind": "version", "marker": kind, "from": old.value, "to": new.value}
        if effective and kind in ("version", "effective"):
            fact["effective_date"] = effective
        if _went_back(kind, old, new):
            fact["rolled_back"] = True
        found.append(
            Finding(
                rule=f"version.{kind.replace(' ', '_')}",
                label="version_bump",
                reason=f"{kind} {fact['from']} → {fact['to']}"
                + (" (back to an earlier version)" if fact.get("rolled_back") else ""),
                fragment=new_line.text,
                old=old.value,
                new=new.value,
                facts=(fact,),
            )
        )
    kinds = {kind for kind, *_ in changes}
    if "version" not in kinds:
        found += _history_bump(ctx)
        kinds |= {"version"} if found and found[-1].rule == "version.history" else set()
    if "version" in kinds:  # one bump, told by its version number; the other markers explain it
        found = [f for f in found if f.rule == "version.version"] + [
            f for f in found if f.rule != "version.version" and f.rule != "version.effective"
        ]
    return found


_DOTTED = re.compile(r"v?(\d{1,3}(?:\.\d{1,3}){0,3})")


def _history(ctx: Context, side: str) -> list[tuple[tuple[int, ...], str]]:
    """The versions a policy's version-history table lists (a table with a Version column and no
    model column, its values numbers like 3.1), with each as written."""
    from monitor.classify.tables import roles, tables_of

    out = []
    for table in tables_of(ctx, side):
        by_index = roles(table.header)
        column = next((i for i, r in by_index.items() if r == "version"), None)
        if column is None or "model" in by_index.values():
            continue
        for row in table.rows:
            found = _DOTTED.fullmatch(row.cell(column))
            if found:
                out.append((tuple(int(n) for n in found.group(1).split(".")), found.group(1)))
    return out


def _history_bump(ctx: Context) -> list[Finding]:
    """A policy whose version-history table gains a newer version than it listed: the document
    moved to that version ("| 3.1 | January 15, 2026 | … |" above "| 3.0 | … |")."""
    touched = [line for line in (*ctx.added, *(pair.new for pair in ctx.changed)) if line.table]
    if ctx.kind != "policy" or not touched:
        return []
    old, new = _history(ctx, "old"), _history(ctx, "new")
    if not old or not new or max(new) <= max(old):
        return []
    was, now = max(old)[1], max(new)[1]
    fact = {"kind": "version", "marker": "version history", "from": was, "to": now}
    line = next((line for line in touched if now in line.text), touched[0])
    return [
        Finding("version.history", "version_bump", f"version {was} → {now}", line.text, was, now,
                (fact,))
    ]  # fmt: skip


def marker_changes(diff: TextDiff) -> list[tuple[str, str, str]]:
    """(kind, old value, new value) of each document marker the diff's hunks change, read from
    the changed lines only. Relative ages are left out: they tick on their own."""
    old: dict[str, Marker] = {}
    new: dict[str, Marker] = {}
    for hunk in diff.hunks:
        for lines, side in ((hunk.removed, old), (hunk.added, new)):
            for text in lines:
                for marker in markers(text):
                    if marker.kind != "age" and (
                        len(text.split()) <= MARKER_LINE_WORDS or marker.start <= MARKER_LINE_START
                    ):
                        side.setdefault(marker.kind, marker)
    return [
        (kind, old[kind].value, new[kind].value)
        for kind in new
        if kind in old and not old[kind].same(new[kind])
    ]
