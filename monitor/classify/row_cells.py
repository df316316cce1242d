"""What one row's cells say: the models it names, its shutdown date (of several dates in a cell,
the one its words call the retirement; a date per sentence where a cell gives part of the
deployments another), its lifecycle state and stage, its provider, surface and version, a feed
item's own words, and the row as evidence."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from monitor import patterns as p
from monitor.classify import facts as f
from monitor.classify.context import Context
from monitor.classify.dates import DateHit, find_dates
from monitor.classify.names import cell_models
from monitor.classify.records import item_prose
from monitor.classify.table_diff import RowChange
from monitor.classify.tables import Table
from monitor.classify.text import core, sentences


def row_models(cells: dict[str, str] | None, lifecycle: bool = True) -> list[str]:
    """The row's models; a name no recogniser knows counts in a row that carries a lifecycle
    state or date, or in a table of retiring models (else any two-column table would launch)."""
    if not cells:
        return []
    names = lifecycle or any(not f.blank(cells.get(k)) for k in ("status", "shutdown"))
    return cell_models(cells, names=names)


# What a date in a cell is said to be, by the words just before it ("**Retirement:** June 6,
# 2025", "<br>Retirement date: May 1, 2025", "Deprecation: October 1, 2024")
_RETIRE_LABEL = re.compile(
    r"\b(?:retire(?:ment|s|d)?|shut\s*down|sunset|end[ -]of[ -]life)(?:\s+date)?[\s:*_]*$", re.I
)
_GLUED = re.compile(r"\w-")
_UPGRADE_FIRST = re.compile(r"\bupgraded?\s+to\b", re.I)
_OTHER_LABEL = re.compile(r"\b(?:deprecat\w*|upgrade\w*|version)(?:\s+date)?[\s:*_`]*$", re.I)


@lru_cache(maxsize=4096)  # a table's rows share a few shutdown dates
def _labelled_date(cell: str | None) -> DateHit | None:
    """A cell's shutdown date: of several, the one its words call the retirement, else the
    first no other word claims (a deprecation or upgrade date, a version)."""
    if cell is None or f.blank(cell):
        return None
    found = find_dates(cell)
    if not found:
        return f.date_of(cell)
    # a date glued to a name by a hyphen is a snapshot in an id (`turbo-2024-04-09`), not a date
    hits = [hit for hit in found if not (hit.start > 1 and _GLUED.match(cell, hit.start - 2))]
    before = [cell[max(0, hit.start - 40) : hit.start] for hit in hits]
    for hit, words in zip(hits, before, strict=True):
        if _RETIRE_LABEL.search(words):
            return hit
    if hits and _UPGRADE_FIRST.search(cell[: hits[0].start]):
        return None  # "To be upgraded to …, starting on D": the upgrade's date, not a shutdown
    if len(hits) < 2:
        return hits[0] if hits else None
    free = [hit for hit, words in zip(hits, before, strict=True) if not _OTHER_LABEL.search(words)]
    return free[0] if free else hits[0]


shutdown_in_cell = _labelled_date


def _sentence_dates(cell: str | None) -> list[DateHit]:
    """A cell that gives part of the deployments one retirement date and the rest another, one
    sentence each ("Standard retires on D1 … For other deployment types, the retirement date has
    been moved to D2"): each sentence's first date, of the sentences that speak of retiring."""
    if cell is None or cell.count(".") < 2:
        return []
    dates = []
    for sentence in sentences(cell):
        found = find_dates(sentence) if p.RETIRE_WORDS.search(sentence) else []
        if found and not _UPGRADE_FIRST.search(sentence[: found[0].start]):
            dates.append(found[0])
    return dates if len(dates) > 1 else []


def part_moved(old_date: DateHit | None, new: dict[str, str]) -> DateHit | None:
    """The date a row's cell now gives the rest of its deployments, when it keeps the old date
    for some of them and gives the others a later one: those are postponed to it."""
    dates = _sentence_dates(new.get("shutdown"))
    if old_date is None or old_date.iso not in {d.iso for d in dates}:
        return None
    return max((d for d in dates if d.iso > old_date.iso), key=lambda d: d.iso, default=None)


def row_shutdown(cells: dict[str, str]) -> DateHit | None:
    """The row's shutdown date: its shutdown cell's, else, in a table without one, the date a
    retiring status carries ("Retiring 2026-02-01")."""
    if "shutdown" in cells:
        return _labelled_date(cells.get("shutdown"))
    status = cells.get("status")
    if not status:
        return None
    return f.date_of(status) if p.RETIRE_WORDS.search(status) else _status_end_date(status)


_STARTS = re.compile(r"\b(?:since|from|as of|starting|begins?)\b", re.I)


def _status_end_date(status: str) -> DateHit | None:
    """A dated status that names no state a model is served in ("Closing down: 2026-02-17",
    not "GA", "Public preview" or "Available since D"): the date the row stops being served,
    whatever words the page uses for it."""
    found = f.date_of(status)
    if found is None or f.state(status) is not None:
        return None
    started = _STARTS.search(status[: found.start])
    return None if started or p.LAUNCH_WORDS.search(status) else found


def served_undated(status: str | None, cells: dict[str, str]) -> bool:
    """A legacy row whose own deprecation and shutdown columns say it has no date (`N/A`): a
    model still served whose deprecation the page has not announced ("Legacy: no longer
    updated, may be deprecated in the future"), not a retirement."""
    dated = [key for key in ("deprecated", "shutdown") if key in cells]
    return status == "legacy" and bool(dated) and all(f.blank(cells[key]) for key in dated)


def cell_words(cell: str | None) -> str | None:
    return core(cell) or None if cell else None


def names_a_model(change: RowChange) -> bool:
    """The row names a model the lifecycle rules can give a fact to."""
    return bool(row_models(change.new) or row_models(change.old))


_MARKS = re.compile(r"\(([^()]+)\)")


def row_state(cells: dict[str, str]) -> str | None:
    """The row's lifecycle state: its status column, else, in a table without one, a mark the
    model cell carries ("Claude Opus 4.1 (deprecated)", "(retired, except on Bedrock)")."""
    if "status" in cells:
        return f.state(cells["status"])
    if "(" not in cells.get("model", ""):
        return None  # no mark: a cell's core holds a "(" only where the cell does
    for mark in _MARKS.finditer(core(cells.get("model", ""))):
        found = f.state(mark.group(1))
        if found:
            return found
    return None


def row_fragment(change: RowChange) -> str:
    line = change.new_line or change.old_line
    if line is not None:
        return line.text
    return cells_fragment(change.new or change.old or {})


def cells_fragment(cells: dict[str, str]) -> str:
    """A record's evidence: its fields by role, as one line."""
    return " | ".join(f"{k}: {v}" for k, v in cells.items() if v)[:300]


def row_where(ctx: Context, cells: dict[str, str], table: Table | None = None) -> dict[str, Any]:
    """Provider and surface of a record's provider field, and the row's version: part of the
    model's identity (gpt-35-turbo 0613 and 0125 are two deployable models)."""
    maker, surface = f.platform(cells.get("provider"))
    if surface is None and table is not None and table.section:
        surface = _section_surface(table.section)  # a table under "### Vertex AI" or "### Bedrock"
    return {"provider": maker, "surface": surface, "version": row_version(cells)}


def row_version(cells: dict[str, str]) -> str | None:
    """The row's version: its Version cell, else one written after the id in the model cell
    ("`gpt-35-turbo` - 0613")."""
    if not f.blank(cells.get("version")):
        return core(cells.get("version", ""))
    after_id = _VERSION_AFTER_ID.match(cells.get("model") or "")
    return after_id.group(1) if after_id else None


@lru_cache(maxsize=1024)  # every row of a table asks of its section
def _section_surface(section: str) -> str | None:
    return f.surface_in(section)


@lru_cache(maxsize=1024)  # every row of a table asks of its section
def retiring_heading(heading: str) -> bool:
    return bool(p.RETIRE_WORDS.search(heading))


_VERSION_AFTER_ID = re.compile(r"\s*`[^`]+`\s+[-–]\s+([\w.-]+)\s*$")


def told_date(text: str) -> DateHit | None:
    """The date of the first sentence of an item's own words that retires something ("… will
    be shut down March 9, 2026"), the names of its "Key: value" header fields set aside."""
    for line in item_prose(text):
        for sentence in sentences(line):
            if p.RETIRE_WORDS.search(sentence):
                found = find_dates(sentence)
                if found:
                    return found[0]
    return None


def only_the_replacement(model: str, text: str) -> bool:
    """An item whose own words name its model only after a replacement cue ("requests to
    deprecated models will redirect to `grok-4.3`"): the successor, not a retiring model."""
    named = re.compile(rf"(?<![\w.-]){re.escape(model)}(?![\w-]|\.\w)", re.I)
    seen = False
    for line in item_prose(text):
        for sentence in sentences(line):
            first = named.search(sentence)
            if first is None or len(sentence.split()) < 3:  # a header field's bare value
                continue
            cue = p.REPLACEMENT_WORDS.search(sentence)
            if cue is None or cue.start() > first.start():
                return False
            seen = True
    return seen


def announces_release(text: str) -> bool:
    """An item whose own words, its "Key: value" header fields set aside, announce a release
    and say nothing of a retirement: a launch, whatever date field the feed gave it."""
    prose = " ".join(item_prose(text))
    return bool(p.LAUNCH_WORDS.search(prose)) and not p.RETIRE_WORDS.search(prose)


def _stage(status: str) -> str:
    """What a status says of a served model: its lifecycle state, a preview told apart from
    general availability (both are served), else its words."""
    words = core(status).lower().strip(" .*")
    if re.search(r"\bpreview\b", words):
        return "preview"
    return f.state(status) or words


def stage_moved(old: str | None, new: str | None) -> tuple[str, str] | None:
    """A status cell that now says another stage ("Public preview" → "GA", "Beta" → "Rolling
    out from …"), as each side words it; None when it reads the same ("GA" → "Generally
    available") or a side is empty."""
    if f.blank(old) or f.blank(new) or _stage(old or "") == _stage(new or ""):
        return None
    return core(old or ""), core(new or "")
