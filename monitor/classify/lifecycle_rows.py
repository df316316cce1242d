"""Lifecycle facts from rows: deprecation and model tables, and feed records.

A row added with a lifecycle state or a shutdown date is a retirement; a row added with an active
model that the old page never named is a launch, and with a retirement date also a retirement. In a changed row, a state that advances
(active → deprecated → retired) or a shutdown date that appears or moves earlier is a retirement;
a date moved later or withdrawn is a `retirement_change` (labelled policy_text, per the corpus
conventions); a new replacement is `replacement_changed`. A row removed and added again under
another key (a table keyed by its date) is one changed row."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Container
from functools import cached_property, lru_cache
from typing import Any

from monitor import patterns as p
from monitor.classify import facts as f
from monitor.classify import said_before, still_listed
from monitor.classify.aliases import aliases, new_version
from monitor.classify.context import Context
from monitor.classify.dates import DateHit, find_dates
from monitor.classify.names import as_written, cell_models, find_models, old_model_ids
from monitor.classify.records import (
    TEXT,
    deprecations_feed,
    item_prose,
    listed_models,
    record_changes,
)
from monitor.classify.tables import (
    RowChange,
    Table,
    into_retired_section,
    named,
    roles,
    table_changes,
    tables_of,
)
from monitor.classify.text import core, sentences
from monitor.models import Finding, TextDiff, model_key


def row_changes(ctx: Context) -> list[RowChange]:
    """Every row change of the page's tables and feed records, removed+added pairs merged."""
    if "row_changes" in ctx.memo:
        return ctx.memo["row_changes"]  # type: ignore[no-any-return]
    tables = table_changes(ctx)
    changes = [row for table in tables for row in table.rows]
    group = {id(row): index for index, table in enumerate(tables) for row in table.rows}
    records = record_changes(ctx)
    if records is not None:
        changes += records[0]
    ctx.memo["row_changes"] = merged = _merge(changes, group)
    return merged


def _models(cells: dict[str, str] | None, lifecycle: bool = True) -> list[str]:
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


def _part_moved(old_date: DateHit | None, new: dict[str, str]) -> DateHit | None:
    """The date a row's cell now gives the rest of its deployments, when it keeps the old date
    for some of them and gives the others a later one: those are postponed to it."""
    dates = _sentence_dates(new.get("shutdown"))
    if old_date is None or old_date.iso not in {d.iso for d in dates}:
        return None
    return max((d for d in dates if d.iso > old_date.iso), key=lambda d: d.iso, default=None)


def _shutdown_cell(cells: dict[str, str]) -> DateHit | None:
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


def _served_undated(status: str | None, cells: dict[str, str]) -> bool:
    """A legacy row whose own deprecation and shutdown columns say it has no date (`N/A`): a
    model still served whose deprecation the page has not announced ("Legacy: no longer
    updated, may be deprecated in the future"), not a retirement."""
    dated = [key for key in ("deprecated", "shutdown") if key in cells]
    return status == "legacy" and bool(dated) and all(f.blank(cells[key]) for key in dated)


def _told_before(
    ctx: Context, change: RowChange, model: str, status: str | None, shutdown: DateHit | None
) -> bool:
    """A deprecated row of a table new to the page (a status table added beside the history)
    for a model the old page already retires on the same date (its history table's row): the
    same announcement in a second table, nothing new."""
    return (
        status == "deprecated"
        and shutdown is not None
        and change.table is not None
        and id(change.table) in _new_tables(ctx)
        and said_before.dated_before(ctx, model, shutdown.iso)
    )


def _new_tables(ctx: Context) -> frozenset[int]:
    """The tables every row of which this change adds: tables new to the page."""
    if "new_tables" not in ctx.memo:
        added = Counter(id(c.table) for c in row_changes(ctx) if c.kind == "added" and c.table)
        tables = {id(c.table): c.table for c in row_changes(ctx) if c.table is not None}
        ctx.memo["new_tables"] = frozenset(
            key for key, count in added.items() if count == len(tables[key].rows)
        )
    return ctx.memo["new_tables"]  # type: ignore[no-any-return]


def _cell_words(cell: str | None) -> str | None:
    return core(cell) or None if cell else None


def names_a_model(change: RowChange) -> bool:
    """The row names a model the lifecycle rules can give a fact to."""
    return bool(_models(change.new) or _models(change.old))


def _merge(changes: list[RowChange], group: dict[int, int]) -> list[RowChange]:
    """A row removed and added again (moved to another table, or keyed by a cell that changed)
    is one changed row; `group` says which compared table each row change came from."""
    removed: dict[tuple[str, ...], list[RowChange]] = {}
    for c in changes:
        if c.kind == "removed" and _models(c.old):
            removed.setdefault(tuple(_models(c.old)), []).append(c)
    by_key = {_keys(left[0].old): key for key, left in removed.items() if len(left) == 1}
    out = []
    for change in changes:
        key = tuple(_models(change.new)) if change.kind == "added" and removed else ()
        if key and not removed.get(key):  # the id's version moved into the Version cell
            key = by_key.get(_keys(change.new), key)
        if key and removed.get(key):
            before = removed[key].pop(0)
            tables = change.table is not None and before.table is not None
            change = RowChange(
                "changed",
                before.old,
                change.new,
                before.old_line,
                change.new_line,
                change.table,
                change.deprecation_table,
                tables and change.deprecation_table and not before.deprecation_table,
                tables and before.deprecation_table and not change.deprecation_table,
                tables and group.get(id(before)) != group.get(id(change)),
            )
        out.append(change)
    kept = {id(c) for left in removed.values() for c in left}
    return [c for c in out if c.kind != "removed" or id(c) in kept]


def _keys(cells: dict[str, str] | None) -> tuple[str, ...]:
    """The registry's keys of the models a row names: each id with the row's version."""
    version = _version(cells or {})
    return tuple(model_key({"model": m, "version": version}) for m in _models(cells))


_MARKS = re.compile(r"\(([^()]+)\)")


def _state(cells: dict[str, str]) -> str | None:
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


def _fragment(change: RowChange) -> str:
    line = change.new_line or change.old_line
    if line is not None:
        return line.text
    return cells_fragment(change.new or change.old or {})


def cells_fragment(cells: dict[str, str]) -> str:
    """A record's evidence: its fields by role, as one line."""
    return " | ".join(f"{k}: {v}" for k, v in cells.items() if v)[:300]


def _where(ctx: Context, cells: dict[str, str], table: Table | None = None) -> dict[str, Any]:
    """Provider and surface of a record's provider field, and the row's version: part of the
    model's identity (gpt-35-turbo 0613 and 0125 are two deployable models)."""
    maker, surface = f.platform(cells.get("provider"))
    if surface is None and table is not None and table.section:
        surface = _section_surface(table.section)  # a table under "### Vertex AI" or "### Bedrock"
    return {"provider": maker, "surface": surface, "version": _version(cells)}


def _version(cells: dict[str, str]) -> str | None:
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
def _retiring_heading(heading: str) -> bool:
    return bool(p.RETIRE_WORDS.search(heading))


_VERSION_AFTER_ID = re.compile(r"\s*`[^`]+`\s+[-–]\s+([\w.-]+)\s*$")


def _entered_deprecation(change: RowChange) -> bool:
    """The row moved into a table of retiring models from one under another heading
    ("Current models" → "Deprecated models"), read by the heading right above each row."""
    if change.entered_deprecation:
        return True
    old, new = change.old_line, change.new_line
    if not change.deprecation_table or old is None or new is None:
        return False
    return bool(
        new.trail
        and p.RETIRE_WORDS.search(new.trail[-1])
        and old.trail
        and old.trail[-1] != new.trail[-1]
        and not p.RETIRE_WORDS.search(old.trail[-1])
    )


def _told_date(text: str) -> DateHit | None:
    """The date of the first sentence of an item's own words that retires something ("… will
    be shut down March 9, 2026"), the names of its "Key: value" header fields set aside."""
    for line in item_prose(text):
        for sentence in sentences(line):
            if p.RETIRE_WORDS.search(sentence):
                found = find_dates(sentence)
                if found:
                    return found[0]
    return None


def _only_the_replacement(model: str, text: str) -> bool:
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


def _announces_release(text: str) -> bool:
    """An item whose own words, its "Key: value" header fields set aside, announce a release
    and say nothing of a retirement: a launch, whatever date field the feed gave it."""
    prose = " ".join(item_prose(text))
    return bool(p.LAUNCH_WORDS.search(prose)) and not p.RETIRE_WORDS.search(prose)


def _added(
    ctx: Context,
    change: RowChange,
    old_models: Container[str],
    relisted: frozenset[str] = frozenset(),
) -> list[Finding]:
    cells = change.new or {}
    status = _state(cells)
    if status is None and into_retired_section(None, change.new_line):
        status = "retired"  # a row listed under "Retired models": retired, not only announced
    shutdown = _shutdown_cell(cells)
    deprecated = f.date_of(cells.get("deprecated"))
    found = []
    # a feed item's own words ("… has been shut down"), or its title when it has no text
    told = cells.get(TEXT) or (
        cells.get("title", "") if TEXT not in cells and change.table is None else ""
    )
    notice = not status and not shutdown and bool(p.RETIRE_WORDS.search(told))
    if notice and TEXT in cells and _announces_release(told):
        notice = False  # "Released X, our updated model" under a stray "Deprecation Date:" field
    if notice and p.RETIRED_NOW.search(told):
        status = "retired"
    if notice:
        shutdown = _told_date(told)
    models = _models(cells, change.deprecation_table or notice)
    if notice:  # "GPT-4 (0613) shutdown on …" linking to …#gpt-4-0613: the id as written
        models = as_written(models, [v for k, v in cells.items() if k != "model"])
        models = [m for m in models if not _only_the_replacement(m, told)]
    models = [_told_apart(ctx, change, model) for model in models]
    served = _served_undated(status, cells)
    for model in models:
        retiring = status in ("deprecated", "legacy", "retired") and not served or notice
        listed = (
            change.new_line is not None
            and change.new_line.trail[-1:]
            and not _retiring_heading(change.new_line.trail[-1])
        )  # among current models, not under a heading about retirement
        moved = _split_out(ctx, model, cells, shutdown) if listed and not retiring else None
        if moved is not None:
            found += moved
            continue
        # an active row with a retirement date says two things: the model is listed, and when
        # it retires; the registry needs the date for a model that is new to the page too
        scheduled = status == "active" and shutdown is not None and model not in relisted
        if _told_before(ctx, change, model, status, shutdown):
            continue
        if retiring or scheduled or status is None and (shutdown or change.deprecation_table):
            event = (
                "retired"
                if status == "retired"
                else "retirement_date_set"
                if scheduled
                else "deprecation_announced"
            )
            fact = f.retirement(
                ctx,
                model,
                event,
                shutdown=shutdown,
                announced=deprecated.iso if deprecated else None,
                replacement_of=f.replacement(cells.get("replacement")),
                status=status,
                **_where(ctx, cells, change.table),
            )
            found.append(
                Finding(
                    "lifecycle.row_added",
                    "model_retirement",
                    f"{model}: {event.replace('_', ' ')}",
                    _fragment(change),
                    None,
                    fact.get("shutdown_date"),
                    (fact,),
                )
            )
        if (
            (scheduled or not retiring and (status in (None, "active") or served) and not shutdown)
            and not (status is None and change.deprecation_table)
            and model not in old_models
            and model not in relisted
            # the old row's id spelled with its version: the same model, moved into the Version cell
            and model_key({"model": model, "version": cells.get("version")}) not in old_models
        ):
            released = f.date_of(cells.get("released"))
            fact = f.launch(
                ctx,
                model,
                status=status,
                released=released.iso if released else None,
                retire_not_before=shutdown.iso if shutdown else None,
                **_where(ctx, cells, change.table),
            )
            found.append(
                Finding(
                    "lifecycle.row_launch",
                    "model_launch",
                    f"{model}: newly listed",
                    _fragment(change),
                    None,
                    model,
                    (fact,),
                )
            )
    return found


_WORD = re.compile(r"[a-z0-9.]+")


def _told_apart(ctx: Context, change: RowChange, model: str) -> str:
    """Two rows of one table that read as one model are two models ("Claude Sonnet 3.7" and
    "Claude Sonnet 3.7 Thinking", "Claude Opus 4.6" and "Claude Opus 4.6 (fast mode)
    (preview)"): the words a row's name cell adds after the name read are part of its id."""
    cell, table = core((change.new or {}).get("model", "")), change.table  # offsets kept
    hits = find_models(cell)
    added = _WORD.findall(cell[hits[-1].end :].lower()) if hits else []
    if table is None or not added:
        return model
    key = f"models_per_row:{id(table)}"
    if key not in ctx.memo:  # once per table: how many of its rows read as each model
        ctx.memo[key] = Counter(m for row in table.rows for m in _models(named(table, row)))
    return "-".join([model, *added]) if ctx.memo[key][model] > 1 else model


def _old_versioned_dates(ctx: Context) -> dict[tuple[str, str], DateHit]:
    """(model, version) → the shutdown date an old table's row gave it, over the old tables
    with a Version column (computed once per context)."""
    if "old_versioned_dates" not in ctx.memo:
        out: dict[tuple[str, str], DateHit] = {}
        for table in tables_of(ctx, "old"):
            if "version" not in roles(table.header).values():
                continue
            for row in table.rows:
                cells = named(table, row)
                date, version = _shutdown_cell(cells), _where(ctx, cells)["version"]
                if date is not None and version:
                    for model in _models(cells):
                        out.setdefault((model, version), date)
        ctx.memo["old_versioned_dates"] = out
    return ctx.memo["old_versioned_dates"]  # type: ignore[no-any-return]


def _split_out(
    ctx: Context, model: str, cells: dict[str, str], shutdown: DateHit | None
) -> list[Finding] | None:
    """A row added for a model and version an old row listed with a date (a model split out of
    a two-model row onto a row of its own): the date moved, or nothing when it did not; None
    when no old row gave that model and version a date."""
    version = _where(ctx, cells)["version"]
    if shutdown is None or not version or (model, version) not in _old_versioned_dates(ctx):
        return None
    before = _old_versioned_dates(ctx)[(model, version)]
    if shutdown.iso <= before.iso:
        return None if shutdown.iso < before.iso else []
    fact = f.retirement_change(
        ctx, model, "retirement_date_postponed", before.iso, shutdown.iso, **_where(ctx, cells)
    )
    reason = f"{model}: retirement date postponed"
    return [Finding("lifecycle.row_split_out", "policy_text", reason, model, before.iso,
                    shutdown.iso, (fact,))]  # fmt: skip


def _already_a_notice(ctx: Context, change: RowChange, old_date: DateHit | None) -> bool:
    """The record said it was retiring before its deprecation date appeared: it carried a
    shutdown date, or it is an item of a feed of deprecations (each item there is a notice), so
    the date filled in is the feed's bookkeeping, not a deprecation announced."""
    return old_date is not None or change.table is None and deprecations_feed(ctx)


def _changed(ctx: Context, change: RowChange) -> list[Finding]:
    old, new = change.old or {}, change.new or {}
    before, after = _state(old), _state(new)
    old_date, new_date = _shutdown_cell(old), _shutdown_cell(new)
    new_date = _part_moved(old_date, new) or new_date
    found = []
    for model in _models(new) or _models(old):
        where = _where(ctx, new, change.table)
        advanced = after in ("deprecated", "legacy", "retired") and p.STATE_RANK.get(
            after, 0
        ) > p.STATE_RANK.get(before or "active", 0)
        fact: dict[str, Any] | None = None
        label = "model_retirement"
        if advanced:
            event = "retired" if after == "retired" else "deprecation_announced"
            fact = f.retirement(
                ctx,
                model,
                event,
                shutdown=new_date,
                replacement_of=f.replacement(new.get("replacement")),
                status_change=f"{before or 'active'} -> {after}",
                **where,
            )
        elif (
            before is None
            and after is None
            and into_retired_section(change.old_line, change.new_line)
        ):
            fact = f.retirement(  # the row moved under a heading of retired models: retired
                ctx,
                model,
                "retired",
                shutdown=new_date,
                replacement_of=f.replacement(new.get("replacement")),
                **where,
            )
        elif new_date and not old_date and after != "active":
            # an active record's date is the earliest it may retire (not before), not a shutdown
            fact = f.retirement(ctx, model, "retirement_date_set", shutdown=new_date, **where)
        elif new_date and old_date and old_date.qualifier and not new_date.qualifier:
            # "No earlier than D1" → "D2": the earliest date made a date the model retires on
            fact = f.retirement(
                ctx, model, "retirement_date_set", shutdown=new_date, previous=old_date.iso, **where
            )
        elif new_date and old_date and new_date.iso < old_date.iso:
            fact = f.retirement(
                ctx,
                model,
                "retirement_date_moved_earlier",
                shutdown=new_date,
                previous=old_date.iso,
                **where,
            )
        elif (
            f.date_of(new.get("deprecated"))
            and not f.date_of(old.get("deprecated"))
            and not _already_a_notice(ctx, change, old_date)
        ):
            deprecated_on = f.date_of(new.get("deprecated"))
            fact = f.retirement(  # a deprecation date set where there was none: deprecated
                ctx,
                model,
                "deprecation_announced",
                shutdown=None,
                announced=deprecated_on.iso if deprecated_on else None,
                replacement_of=f.replacement(new.get("replacement")),
                **where,
            )
        elif _entered_deprecation(change):
            fact = f.retirement(
                ctx,
                model,
                "deprecation_announced",
                shutdown=new_date,
                replacement_of=f.replacement(new.get("replacement")),
                **where,
            )
        elif old_date and (not new_date or new_date.iso > old_date.iso):
            event = "retirement_date_postponed" if new_date else "retirement_date_withdrawn"
            label = "new_entry" if change.left_deprecation else "policy_text"
            fact = f.retirement_change(
                ctx,
                model,
                event,
                old_date.iso,
                new_date.iso if new_date else None,
                qualifier=new_date.qualifier if new_date else None,
                **where,
            )
        elif new_version(ctx, change, model):
            label = "model_launch"
            pinned = aliases(ctx, "new").get(model, model)
            fact = f.launch(ctx, pinned, event="new_version", **where)
        if fact is not None:
            reason = f"{fact['model']}: {str(fact['event']).replace('_', ' ')}"
            was, now = before, after
            if old_date or new_date:  # the date cell as it read on each side ("TBD" → …)
                was = old_date.iso if old_date else _cell_words(old.get("shutdown"))
                now = new_date.iso if new_date else _cell_words(new.get("shutdown"))
            found.append(
                Finding(
                    f"lifecycle.row_{fact['event']}",
                    label,
                    reason,
                    _fragment(change),
                    was,
                    now,
                    (fact,),
                )
            )
            found += _left_behind(change, model, label)
    moved = _stage_moved(old.get("status"), new.get("status"))
    if moved and not found and (_models(new) or _models(old)):
        names = ", ".join(_models(new) or _models(old))
        found.append(
            Finding("lifecycle.row_status", "policy_text", f"{names}: status {moved[0]} → "
                    f"{moved[1]}", _fragment(change), moved[0], moved[1])
        )  # fmt: skip
    old_repl, new_repl = (
        f.replacement(old.get("replacement")),
        f.replacement(new.get("replacement")),
    )
    models = _models(new) or _models(old)
    retiring = any(x.label == "model_retirement" for x in found)
    if new_repl and old_repl != new_repl and models and (old_repl or not retiring):
        # one fact per model the row names (an id and its aliases), each matched on its own
        where = _where(ctx, new or old, change.table)
        replaced = tuple(
            f.replacement_change(ctx, model, old_repl, new_repl, **where) for model in models
        )
        found.append(
            Finding(
                "lifecycle.replacement",
                "policy_text",
                f"replacement for {', '.join(models)} now {new_repl}",
                _fragment(change),
                old_repl,
                new_repl,
                replaced,
            )
        )
    return found


def _stage(status: str) -> str:
    """What a status says of a served model: its lifecycle state, a preview told apart from
    general availability (both are served), else its words."""
    words = core(status).lower().strip(" .*")
    if re.search(r"\bpreview\b", words):
        return "preview"
    return f.state(status) or words


def _stage_moved(old: str | None, new: str | None) -> tuple[str, str] | None:
    """A status cell that now says another stage ("Public preview" → "GA", "Beta" → "Rolling
    out from …"), as each side words it; None when it reads the same ("GA" → "Generally
    available") or a side is empty."""
    if f.blank(old) or f.blank(new) or _stage(old or "") == _stage(new or ""):
        return None
    return core(old or ""), core(new or "")


def _left_behind(change: RowChange, model: str, label: str) -> list[Finding]:
    """The row it was is gone from its table: a deprecation withdrawn (the model listed again
    among current models), or a new version listed in another table than the old one."""
    if not (change.left_deprecation and label == "new_entry") and not (
        change.moved and label == "model_launch"
    ):
        return []
    version = (change.old or {}).get("version")
    item = model if f.blank(version) else f"{model} {core(version or '')}"
    return [
        Finding(
            "lifecycle.row_left_table", "entry_removed", f"- {item}",
            change.old_line.text if change.old_line else _fragment(change), item,
            None, (f.fact("entry_removed", item=item),),
        )
    ]  # fmt: skip


def rule_rows(diff: TextDiff, ctx: Context) -> list[Finding]:
    """Retirements, launches and replacements read from table rows and feed records."""
    return list(row_findings(ctx))


def row_findings(ctx: Context) -> tuple[Finding, ...]:
    """What `rule_rows` finds, computed once per context (other rules ask which models it
    covers)."""
    if "row_findings" in ctx.memo:
        return ctx.memo["row_findings"]  # type: ignore[no-any-return]
    changes = row_changes(ctx)
    listed = listed_models(ctx) if changes else None  # a feed: the models its old records list
    found: list[Finding] = []
    old_models = _OldModels(ctx, listed)
    relisted = _relisted(changes)
    for change in changes:
        if change.kind == "added":
            found += _added(ctx, change, old_models, relisted)
        elif change.kind == "changed":
            found += _changed(ctx, change)
        elif change.table is not None and ctx.kind != "index":
            found += _removed(ctx, change)
    ctx.memo["row_findings"] = result = tuple(found)
    return result


class _OldModels:
    """The models the old text names (a feed: its records list), read when a row first asks:
    only an added row that is not retiring does."""

    def __init__(self, ctx: Context, listed: set[str] | None) -> None:
        self.ctx, self.listed = ctx, listed

    @cached_property
    def models(self) -> Container[str]:
        return old_model_ids(self.ctx) if self.listed is None else self.listed

    def __contains__(self, model: object) -> bool:
        return model in self.models


def _relisted(changes: list[RowChange]) -> frozenset[str]:
    """The models of active records added in the same update as already-retired records of the
    same provider: that provider's list published (again), not launches. A model a record that
    stays newly names as its replacement is still new."""
    added = [c.new for c in changes if c.kind == "added" and c.new and c.new.get("provider")]
    providers = {cells["provider"] for cells in added if _state(cells) == "retired"}
    if not providers:
        return frozenset()
    pointed_to = {
        f.replacement(c.new.get("replacement"))
        for c in changes
        if c.kind == "changed"
        and c.new
        and c.old
        and c.new.get("replacement") != c.old.get("replacement")
    }
    return frozenset(
        model
        for cells in added
        if cells["provider"] in providers and _state(cells) in (None, "active")
        for model in _models(cells)
        if model not in pointed_to
    )


def _removed(ctx: Context, change: RowChange) -> list[Finding]:
    """A row gone from a lifecycle table (not moved to another one): an entry removed."""
    models = _models(change.old)
    moved = change.old_line is not None and still_listed.moved(ctx, change.old_line)
    if not models or moved or any(still_listed.named_in_new(ctx, model) for model in models):
        return []
    item = ", ".join(models)
    fact = f.fact("entry_removed", item=item)
    return [
        Finding(
            "lifecycle.row_removed", "entry_removed", f"- {item}", _fragment(change), item, None,
            (fact,),
        )
    ]  # fmt: skip
