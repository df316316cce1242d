"""Dates in the forms pages write them, read into ISO strings with their qualifiers, and the rule
that labels a change where only dates moved (`date_change`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from monitor import patterns as p
from monitor.classify.context import Pair

AMBIGUOUS = "ambiguous day/month"
IMPLAUSIBLE = "implausible year"
STRAY_COMMA = "a stray comma after the month"
YEAR_FROM_CONTEXT = "year from context"
# "November 12", "May 15th": a month and a day with no year after them
_NO_YEAR = re.compile(
    r"\b(?P<month>(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?|May)\s+"
    r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\b(?![,.]?\s*\d)"
)


@dataclass(frozen=True)
class DateHit:
    iso: str  # "2026-04-27"
    start: int
    end: int
    text: str  # as written
    qualifier: str | None = None
    region: str | None = None
    flag: str | None = None  # AMBIGUOUS or IMPLAUSIBLE: a reader should check the date
    day_first: str | None = None  # for an AMBIGUOUS date, its ISO read day first


_STRUCK = re.compile(r"~~[^~\n]{1,300}?~~")
# every date pattern holds a four-digit year: a text without four digits in a row has no date
_YEAR_DIGITS = re.compile(r"\d{4}")


def _flag(iso: str) -> str | None:
    return None if int(iso[:4]) in p.PLAUSIBLE_YEARS else IMPLAUSIBLE


def _numeric(match: re.Match[str]) -> tuple[str, str | None, str | None] | None:
    """(ISO, flag, day-first ISO) of "09/30/2026" or "30/09/2026"; month first when both read."""
    first, second, year = match.group("first"), match.group("second"), match.group("year")
    month_first, day_first = _iso(year, first, second), _iso(year, second, first)
    if month_first and day_first and month_first != day_first:
        return month_first, AMBIGUOUS, day_first
    iso = month_first or day_first
    return (iso, None, None) if iso else None


def numeric_order(text: str) -> str | None:
    """ "month first" or "day first": how the text's numeric dates that read one way only are
    written (the majority), None when none decides."""
    month = day = 0
    for match in p.DATE_NUMERIC.finditer(text):
        found = _numeric(match)
        if found is None or found[1] == AMBIGUOUS:
            continue
        if int(match.group("first")) > 12:
            day += 1
        elif int(match.group("second")) > 12:
            month += 1
    if month == day:
        return None
    return "month first" if month > day else "day first"


def _iso(year: str, month: str | int, day: str) -> str | None:
    month_no = month if isinstance(month, int) else p.MONTHS.get(month.lower().rstrip("."))
    if month_no is None:
        try:
            month_no = int(month)
        except ValueError:
            return None
    try:
        return date(int(year), month_no, int(day)).isoformat()
    except ValueError:
        return None


def _qualifier(text: str, start: int, end: int) -> tuple[str | None, str | None]:
    before, after = text[max(0, start - 24) : start], text[end : end + 40]
    for name, pattern in p.QUALIFIERS_AFTER.items():
        match = pattern.search(after)
        if match:
            if name == "region":
                return None, match.group("region")
            return name, None
    for name, pattern in p.QUALIFIERS_BEFORE.items():
        if pattern.search(before):
            return name, None
    return None, None


# "April, 30, 2025": a comma typed between the month and its day, read and flagged
_MONTH_COMMA = re.compile(r"[A-Za-z]+\.?,\s")


def find_dates(text: str) -> list[DateHit]:
    """Every date in `text`, in order, overlaps resolved in favour of the earliest match."""
    if not _YEAR_DIGITS.search(text):
        return []
    hits: list[DateHit] = []
    for pattern in p.DATE_PATTERNS:
        for match in pattern.finditer(text):
            iso = _iso(match.group("year"), match.group("month"), match.group("day"))
            if iso is None:
                continue
            qualifier, region = _qualifier(text, match.start(), match.end())
            flag = _flag(iso) or (STRAY_COMMA if _MONTH_COMMA.match(match.group(0)) else None)
            hits.append(
                DateHit(iso, match.start(), match.end(), match.group(0), qualifier, region, flag)
            )
    for match in p.DATE_NUMERIC.finditer(text):
        found = _numeric(match)
        if found is None:
            continue
        qualifier, region = _qualifier(text, match.start(), match.end())
        iso, flag, day_first = found
        hits.append(
            DateHit(
                iso, match.start(), match.end(), match.group(0), qualifier, region, flag, day_first
            )
        )
    hits.sort(key=lambda hit: (hit.start, -hit.end))
    struck = [(m.start(), m.end()) for m in _STRUCK.finditer(text)] if "~~" in text else []
    kept: list[DateHit] = []
    for hit in hits:
        if any(start <= hit.start < end for start, end in struck):
            continue  # crossed out on the page: a date no longer in force
        if not kept or hit.start >= kept[-1].end:
            kept.append(hit)
    return kept


def dates_near(text: str, reference: str | None) -> list[DateHit]:
    """Every date in `text`; with a `reference` date (ISO), also a month and day written
    without a year ("November 12"), given the year that puts it nearest after the reference
    (at most half a year before it), flagged as such."""
    found = find_dates(text)
    if not reference:
        return found
    ref = date.fromisoformat(reference)
    for match in _NO_YEAR.finditer(text):
        if any(hit.start <= match.start() < hit.end for hit in found):
            continue
        iso = _iso(str(ref.year), match.group("month").rstrip("."), match.group("day"))
        if iso is None:
            continue
        if (ref - date.fromisoformat(iso)).days > 183:
            iso = _iso(str(ref.year + 1), match.group("month").rstrip("."), match.group("day"))
        if iso is not None:
            found.append(
                DateHit(iso, match.start(), match.end(), match.group(0), flag=YEAR_FROM_CONTEXT)
            )
    return sorted(found, key=lambda hit: hit.start)


def first_date(text: str) -> DateHit | None:
    found = find_dates(text)
    return found[0] if found else None


def mask_dates(text: str) -> str:
    """`text` with every date (and time of day) replaced by a placeholder."""
    out, last = [], 0
    for hit in find_dates(text):
        out.append(text[last : hit.start])
        out.append("\x00date\x00")
        last = hit.end
    out.append(text[last:])
    return p.TIME_OF_DAY.sub("\x00time\x00", "".join(out))


def is_date_line(text: str) -> bool:
    """A line that is nothing but a date, e.g. a release-notes heading "## July 21, 2026"."""
    hit = first_date(text)
    return hit is not None and not re.sub(r"[\W\d_]+", "", mask_dates(text).replace("date", ""))


_STAMP_WORDS = re.compile(
    r"\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\b|\b(?:gmt|utc|z)\b|[+-]\d{4}\b", re.I
)


def is_timestamp(text: str) -> bool:
    """A value that is nothing but a date and time ("Tue, 21 Apr 2026 04:49:55 GMT")."""
    text = re.sub(r"(?<=\d)[TZ](?=\d|$)", " ", text.strip())  # 2026-04-21T04:49:55Z
    masked = _STAMP_WORDS.sub("", mask_dates(text)).replace("date", "").replace("time", "")
    return first_date(text) is not None and not re.sub(r"[\W\d_]+", "", masked)


def only_dates_differ(pair: Pair) -> bool:
    """True when the two lines differ, and only in their dates (not in how a date is written)."""
    old, new = pair.old.core, pair.new.core
    if mask_dates(old) != mask_dates(new):
        return False
    return [h.iso for h in find_dates(old)] != [h.iso for h in find_dates(new)]


def same_dates_rewritten(pair: Pair) -> bool:
    """True when the lines differ only in how their (equal) dates are written."""
    old, new = pair.old.core, pair.new.core
    if old == new or mask_dates(old) != mask_dates(new):
        return False
    return [h.iso for h in find_dates(old)] == [h.iso for h in find_dates(new)]


def moved_dates(pair: Pair) -> list[tuple[str, str]]:
    """(old ISO, new ISO) for each date that changed between the two lines, in order."""
    old = [h.iso for h in find_dates(pair.old.core)]
    new = [h.iso for h in find_dates(pair.new.core)]
    if len(old) != len(new):
        return [(a, b) for a, b in zip(old, new, strict=False) if a != b]
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


YEAR_FROM_CONTEXT = "year taken from the dated heading"
_MONTH_DAY = re.compile(
    p.MONTH_NAME + r"\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b(?!,?\s*\d)", re.I
)  # "August 14", "Aug. 14th", not followed by a year


def yearless_date(sentence: str, dated: str) -> DateHit | None:
    """A "Month Day" the sentence writes without a year, read in the year of `dated` (the ISO
    date of the heading it sits under), or the year after when it would fall before that date:
    "will be removed on August 14" under "Retiring GPT-4.5 (July 14, 2025)" is 2025-08-14."""
    found = _MONTH_DAY.search(sentence)
    if found is None:
        return None
    year = int(dated[:4])
    iso = _iso(str(year), found.group("month"), found.group("day"))
    if iso is not None and iso < dated:
        iso = _iso(str(year + 1), found.group("month"), found.group("day"))
    if iso is None:
        return None
    return DateHit(iso, found.start(), found.end(), found.group(0), flag=YEAR_FROM_CONTEXT)


MONTH_ONLY = "month only: its first day"
_MONTH_YEAR = re.compile(p.MONTH_NAME + r"\.?,?\s+(?P<year>[1-9]\d{3})(?!\d)", re.I)


def month_year_date(text: str) -> DateHit | None:
    """A month the text names without a day ("retired in March 2026"), as its first day (the
    earliest the page allows), flagged so a reader sees the day was not written."""
    found = _MONTH_YEAR.search(text)
    if found is None:
        return None
    iso = _iso(found.group("year"), found.group("month"), "1")
    if iso is None:
        return None
    return DateHit(iso, found.start(), found.end(), found.group(0), flag=MONTH_ONLY)


_SHORT_YEAR = re.compile(r"(?P<first>\d{1,2})/(?P<second>\d{1,2})/(?P<year>\d{2})")


def short_year_date(cell: str) -> DateHit | None:
    """A table cell that holds only a numeric date with a two-digit year ("03/31/25", as US
    status tables write it), read as 20YY, month first unless only day first reads."""
    found = _SHORT_YEAR.fullmatch(cell.strip())
    if found is None:
        return None
    written = f"{found.group('first')}/{found.group('second')}/20{found.group('year')}"
    full = p.DATE_NUMERIC.fullmatch(written)
    read = _numeric(full) if full else None
    if read is None:
        return None
    iso, flag, day_first = read
    return DateHit(iso, found.start(), found.end(), found.group(0), flag=flag, day_first=day_first)
