"""Volatile lines: text a page renders anew on every request ("Rendered 10:42:07 · request
8f3a…"). A line whose only changes are numbers, times or opaque ids has a *shape* (the line with
those tokens masked) that stays put while its values move. A shape seen changing at two checks
in a row is volatile for that watch: the pipeline learns it in the store and masks it before
classifying, so it is recorded as noise and never alerted. Pure: no I/O.

Lines that carry data a reader acts on are never learnt: version markers, dates, table rows,
prices and percentages. Everything here is linear in the length of the changed lines."""

from __future__ import annotations

import re
from collections.abc import Iterable, Set

from monitor.classify.dates import find_dates
from monitor.classify.versions import markers
from monitor.models import TextDiff

_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?")
_NUMBER = re.compile(r"\d+")
_ID = re.compile(r"(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{6,}")
_TOKEN = re.compile(r"\S+")
_EDGE = ".,;:!?()[]{}\"'«»·|"
_MONEY = re.compile(r"[$€£¥%]")
MASK = "\x00"
MAX_LINE = 500  # longer lines are prose, not a footer


def _volatile_token(token: str) -> bool:
    token = token.strip(_EDGE)
    if not token or _MONEY.search(token):
        return False
    return bool(_TIME.fullmatch(token) or _NUMBER.fullmatch(token) or _ID.fullmatch(token))


def shape(line: str) -> str:
    """The line with each number, time and opaque id replaced by one mask character."""
    return _TOKEN.sub(lambda m: MASK if _volatile_token(m.group(0)) else m.group(0), line.strip())


def learnable(old: str, new: str) -> bool:
    """The two lines differ, only in numbers, times or opaque ids, and carry no data a reader
    acts on (a version marker, a date, a table row, a price)."""
    if old == new or max(len(old), len(new)) > MAX_LINE:
        return False
    if old.lstrip().startswith("|") or _MONEY.search(old) or _MONEY.search(new):
        return False
    if shape(old) != shape(new) or MASK not in shape(new):
        return False
    return not (markers(old) or markers(new) or find_dates(old) or find_dates(new))


def changed_shapes(diff: TextDiff) -> dict[str, str]:
    """shape → the new line, for each line the diff changed only in volatile tokens (a removed
    line and the added line at the same place in its hunk)."""
    found: dict[str, str] = {}
    for hunk in diff.hunks:
        for old, new in zip(hunk.removed, hunk.added, strict=False):
            if learnable(old, new):
                found[shape(new)] = new.strip()
    return found


def mask(text: str, shapes: Set[str]) -> str:
    """`text` with every line whose shape is volatile replaced by that shape."""
    if not shapes:
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.strip() and MASK not in line:
            masked = shape(line)
            if masked in shapes:
                lines[index] = masked
    return "\n".join(lines)


def describe(shapes: Iterable[str]) -> str:
    return "; ".join(sorted(s.replace(MASK, "#") for s in shapes))
