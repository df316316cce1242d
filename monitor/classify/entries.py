"""`new_entry` / `entry_removed`: items added to or removed from an index page (headings, top-level
list items, link lines), a feed (JSON records, RSS items), or a comparison table (a column).
Lines that only moved are set aside before this rule runs, so a reorder is never an entry."""

from __future__ import annotations

import re
from typing import Any

from monitor.classify import facts as f
from monitor.classify.context import Context, Line
from monitor.classify.dates import first_date, is_date_line
from monitor.classify.lifecycle_rows import row_changes
from monitor.classify.names import find_models
from monitor.classify.records import record_changes
from monitor.classify.table_diff import table_changes
from monitor.classify.tables import header_models
from monitor.classify.text import core
from monitor.models import Finding, TextDiff

_LINK = re.compile(r"\[([^\[\]\n]{1,300}+)\]\(([^()\s]{1,2000}+)\)")
_LINK_LINE = re.compile(
    r"^\s*(?:[-*+]\s+|\d{1,3}[.)]\s+)?\[[^\[\]\n]{1,300}+\]\([^()\s]{1,2000}+\)"
)
TITLE_LENGTH = 120


def _is_item(line: Line) -> bool:
    return (
        bool(line.heading)
        or (line.depth == 0 and line.list_item)
        or bool(_LINK_LINE.match(line.text))
    )


def _entry(ctx: Context, line: Line, lines: list[Line], index: int, sign: str) -> dict[str, Any]:
    title = line.core
    if line.heading and is_date_line(line.core):
        # a dated heading: name the entry by its first item ("July 21, 2026: …")
        following = [later for later in lines[index + 1 :] if later.trail[-1:] == (line.core,)]
        if following:
            title = f"{line.core}: {following[0].core}"
    link = _LINK.search(line.text)
    if link and not line.heading:
        title = core(link.group(1)) or title
    kind = "new_entry" if sign == "+" else "entry_removed"
    field = "title" if sign == "+" else "item"
    card = [later.core for later in lines[index + 1 : index + 2] if _same_target(line, later)]
    return f.fact(
        kind,
        **{field: title[:TITLE_LENGTH]},
        url=link.group(2) if link else None,
        date=f.section_date((*line.trail, line.core, *card)),
    )


def entry_lines(ctx: Context, lines: tuple[Line, ...]) -> tuple[list[Line], set[int]]:
    """The lines that start an entry, and every line number that belongs to one (its body).
    On other pages, only a dated log's headings and the lines under them (told by _dated_log)."""
    if ctx.kind != "index":
        return [], _dated_log_lines(ctx, lines)
    starts: list[Line] = []
    covered: set[int] = set()
    numbers = {line.number for line in lines}
    headings = {line.core for line in lines if line.heading}
    for line in lines:
        parent_added = any(h in headings for h in line.trail)
        if line.table:
            if parent_added:
                covered.add(line.number)
            continue
        if _is_item(line) and not (parent_added and not line.heading):
            if line.heading and is_date_line(line.core) and _has_sub_heading(line, lines):
                covered.add(line.number)
                continue
            if starts and _same_target(starts[-1], line):
                covered.add(line.number)  # a card's second link ("Read more") to the same page
                continue
            starts.append(line)
        if _is_item(line) or parent_added:
            covered.add(line.number)
    return starts, covered & numbers


def _same_target(start: Line, line: Line) -> bool:
    """The line follows an entry's line and links only where that entry links."""
    if line.heading or line.number != start.number + 1:
        return False
    targets = {m.group(2) for m in _LINK.finditer(line.text)}
    return bool(targets) and targets <= {m.group(2) for m in _LINK.finditer(start.text)}


def _has_sub_heading(line: Line, lines: tuple[Line, ...]) -> bool:
    return any(other.heading and other.trail[-1:] == (line.core,) for other in lines)


def rule_entries(diff: TextDiff, ctx: Context) -> list[Finding]:
    found: list[Finding] = []
    for lines, sign in ((ctx.added, "+"), (ctx.removed, "-")):
        starts, _ = entry_lines(ctx, lines)
        for index, line in enumerate(starts):
            fact = _entry(ctx, line, list(lines), list(lines).index(line), sign)
            label = "new_entry" if sign == "+" else "entry_removed"
            title = fact.get("title") or fact.get("item")
            found.append(
                Finding(
                    f"entries.{label}",
                    label,
                    f"{sign} {title}",
                    line.text,
                    None if sign == "+" else title,
                    title if sign == "+" else None,
                    (fact,),
                )
            )
            del index
    found += _feed_entries(ctx)
    found += _table_entries(ctx)
    if ctx.kind != "index":
        found += _cards_removed(ctx)
    if ctx.kind != "index":
        found += _dated_log(ctx)
    return found


_TITLE_AFTER = re.compile(r"\s*[:\u2013\u2014]\s*\S|\s+-\s+\S")


def log_heading(text: str) -> bool:
    """A heading of a dated log: nothing but a date ("## July 21, 2026"), or a date that opens
    it before the entry's title ("### 2025-09-15: Rerank v2.0", "## March 3, 2026 – Embed")."""
    if is_date_line(text):
        return True
    hit = first_date(text)
    return hit is not None and hit.start == 0 and bool(_TITLE_AFTER.match(text, hit.end))


def _dated_headings(doc: Any) -> int:
    """How many of a text's headings are a log's dated headings."""
    count = 0
    for number in doc.heading_numbers:
        line = doc.line(number)
        count += line is not None and log_heading(line.core)
    return count


def _keeps_a_dated_log(ctx: Context) -> bool:
    """Either side holds two or more headings that are only a date."""
    if "dated_log" not in ctx.memo:
        ctx.memo["dated_log"] = max(_dated_headings(ctx.old_doc), _dated_headings(ctx.new_doc)) >= 2
    return bool(ctx.memo["dated_log"])


def _dated_log_lines(ctx: Context, lines: tuple[Line, ...]) -> set[int]:
    """The dated headings among `lines` and the lines under them: entries of the page's log."""
    dated = {line.core for line in lines if line.heading and log_heading(line.core)}
    if not dated or not _keeps_a_dated_log(ctx):
        return set()
    return {
        line.number
        for line in lines
        if line.heading and line.core in dated or line.trail[-1:] and line.trail[-1] in dated
    }


def _a_log_on_both_sides(other: Any, this: Any) -> bool:
    """The log was kept before the entries came: two dated headings on the other side, or one
    there (a history of one entry so far) and two or more on this side. (Entries that leave
    need two on the side they leave: a history's last dated section leaves with its rows.)"""
    before = _dated_headings(other)
    return before >= 2 or before == 1 and _dated_headings(this) >= 2


def _dated_log(ctx: Context) -> list[Finding]:
    """A page that keeps a dated log (headings that are only a date, as in a "history" section
    under its tables) gains an entry with each dated heading added, and loses one with each
    removed while the log stays."""
    found: list[Finding] = []
    sides = (
        (ctx.added, "+", ctx.old_doc, ctx.new_doc),
        (ctx.removed, "-", ctx.new_doc, ctx.old_doc),
    )
    for lines, sign, other, this in sides:
        dated = [line for line in lines if line.heading and log_heading(line.core)]
        kept = _a_log_on_both_sides(other, this) if sign == "+" else _dated_headings(other) >= 2
        if not dated or not kept:
            continue
        label = "new_entry" if sign == "+" else "entry_removed"
        for line in dated:
            fact = _entry(ctx, line, list(lines), list(lines).index(line), sign)
            title = fact.get("title") or fact.get("item")
            found.append(
                Finding(f"entries.dated_{label}", label, f"{sign} {title}", line.text,
                        None if sign == "+" else title, title if sign == "+" else None, (fact,))
            )  # fmt: skip
    return found


def _feed_entries(ctx: Context) -> list[Finding]:
    if record_changes(ctx) is None:
        return []
    found = []
    for change in row_changes(ctx):
        if change.kind == "changed":
            continue
        cells = change.new or change.old or {}
        title = cells.get("title") or cells.get("model") or next(iter(cells.values()), "")
        if change.kind == "added":
            fact = f.fact("new_entry", title=title[:TITLE_LENGTH], url=cells.get("link"))
            found.append(
                Finding(
                    "entries.record_added", "new_entry", f"+ {title}", title, None, title, (fact,)
                )
            )
        else:
            fact = f.fact("entry_removed", item=title[:TITLE_LENGTH])
            found.append(
                Finding(
                    "entries.record_removed",
                    "entry_removed",
                    f"- {title}",
                    title,
                    title,
                    None,
                    (fact,),
                )
            )
    return found


def _table_entries(ctx: Context) -> list[Finding]:
    found = []
    inside_new, inside_old = entry_lines(ctx, ctx.added)[1], entry_lines(ctx, ctx.removed)[1]
    for change in table_changes(ctx):
        for header in change.removed_columns:
            models = [hit.id for hit in find_models(header)]
            still_listed = header_models(ctx, "new") if models else {}
            if not models or all(m in still_listed for m in models):
                continue  # not a model's column (a table's shape), or it moved or was renamed
            fact = f.fact("entry_removed", item=f"{header} (table column)")
            head = change.old.head.text if change.old else header
            found.append(
                Finding(
                    "entries.column_removed",
                    "entry_removed",
                    f"- column {header!r}",
                    head,
                    header,
                    None,
                    (fact,),
                )
            )
        if ctx.kind != "index":
            continue
        for row in change.rows:
            line = row.new_line if row.kind == "added" else row.old_line
            inside = inside_new if row.kind == "added" else inside_old
            if row.kind == "changed" or line is None or line.number in inside:
                continue
            label = "new_entry" if row.kind == "added" else "entry_removed"
            key = "title" if row.kind == "added" else "item"
            fact = f.fact(label, **{key: line.core[:TITLE_LENGTH]})
            found.append(
                Finding(
                    f"entries.row_{row.kind}",
                    label,
                    line.core[:TITLE_LENGTH],
                    line.text,
                    None,
                    None,
                    (fact,),
                )
            )
    return found


_CARD_ID = re.compile(r"^\s*`([A-Za-z0-9][\w.:/@-]{1,120})`\s*$")
_CARD_FIELD = re.compile(r"^\s*[-*+]\s+[A-Z][\w ()/-]{1,40}:\s+\S")
CARD_REACH = 8  # lines under an id that may hold its fields


def removed_cards(ctx: Context) -> dict[str, frozenset[int]]:
    """Models' cards that left the page, by id, with their old line numbers: a line that is only
    an id in code marks, then its fields as list items ("- Release date: …"), one of them
    dated, all removed, and the id no longer on a line of its own in the new text."""
    if "removed_cards" in ctx.memo:
        return ctx.memo["removed_cards"]  # type: ignore[no-any-return]
    removed = {line.number: line for line in ctx.removed}
    kept_ids = {raw.strip() for raw in ctx.new_doc.raw if raw.strip().startswith("`")}
    cards: dict[str, frozenset[int]] = {}
    for line in ctx.removed:
        match = _CARD_ID.match(line.text)
        if not match or match.group(0).strip() in kept_ids:
            continue  # not an id alone, or the card is still on the page (its fields changed)
        fields: list[Line] = []
        for number in range(line.number + 1, line.number + 1 + CARD_REACH):
            below = removed.get(number)
            if below is None:
                if ctx.old_doc.raw[number - 1 : number] != [""]:
                    break  # a line the change kept, or the text's end: the card ends
                continue
            if not _CARD_FIELD.match(below.text):
                break
            fields.append(below)
        if len(fields) >= 2 and any(first_date(field.core) for field in fields):
            cards[match.group(1)] = frozenset({line.number, *(x.number for x in fields)})
    ctx.memo["removed_cards"] = cards
    return cards


def _cards_removed(ctx: Context) -> list[Finding]:
    """One `entry_removed` for each model's card that left the page."""
    found = []
    for item in removed_cards(ctx):
        fact = f.fact("entry_removed", item=item)
        found.append(
            Finding("entries.card_removed", "entry_removed", f"- {item}", f"`{item}`", item, None,
                    (fact,))
        )  # fmt: skip
    return found
