"""What the other rules leave: `policy_text`, `date_change`, `section_added`, `section_removed`
and `renamed`. A line no other rule explains (not cosmetic, not a version marker, not an entry,
not a lifecycle row or notice) is substantive text; its changed sentences are quoted exactly as
stored, so each quote is a substring of the stored version."""

from __future__ import annotations

import re
from dataclasses import replace

from monitor.classify import (
    cosmetic,
    launches,
    lifecycle,
    lifecycle_rows,
    record_prose,
    redated,
    row_cells,
    told,
)
from monitor.classify import facts as f
from monitor.classify.context import Context, Line, Pair
from monitor.classify.dates import is_date_line, is_timestamp, moved_dates, only_dates_differ
from monitor.classify.entries import entry_lines, removed_cards
from monitor.classify.lines import BOLD_LINE
from monitor.classify.names import find_models
from monitor.classify.records import TEXT_FIELDS, item_prose_only, record_changes, same_excerpt
from monitor.classify.table_diff import deprecation_table, table_changes
from monitor.classify.tables import roles
from monitor.classify.text import core, loose, opcodes, reading, sentence_spans, words
from monitor.classify.versions import marker_pair, markers, mask_markers
from monitor.models import Finding, TextDiff

_TOKEN = re.compile(r"\S+")
_PDF_PAGE = re.compile(r"Page \d{1,5}")  # the page marker a PDF's text starts each page with
QUOTE_LENGTH = 400
LIFECYCLE_ROLES = frozenset(
    {"status", "shutdown", "deprecated", "replacement", "released", "version", "model_id"}
)


def _explained_lifecycle(ctx: Context) -> tuple[set[int], set[int]]:
    """Old and new line numbers the lifecycle rules read their facts from."""
    prose, launched = lifecycle.prose_evidence(ctx), launches.launch_evidence(ctx)
    old = set(prose.old_lines)
    new = set(prose.new_lines | launched.new_lines)
    for change in lifecycle_rows.row_changes(ctx):
        if change.kind == "added" and not row_cells.names_a_model(change):
            continue  # a row naming no model (a version history's): read as text below
        if change.new_line is not None:
            new.add(change.new_line.number)
        if change.old_line is not None:
            old.add(change.old_line.number)
        if change.table is not None:  # a table that came or went whole: its header with it
            (new if change.kind == "added" else old).add(change.table.head.number)
    old |= _headings_of_whole_tables(ctx, ctx.removed, "removed")
    for numbers in removed_cards(ctx).values():  # a model's card that left: its fields with it
        old |= numbers
    new |= _headings_of_whole_tables(ctx, ctx.added, "added")
    return old, new


def _headings_of_whole_tables(ctx: Context, lines: tuple[Line, ...], kind: str) -> set[int]:
    """The heading right above a table that came or went whole: the section is that table, and
    its rows already say what came or went (a provider's section dropped by a scraper)."""
    heads = {
        change.table.head.number
        for change in lifecycle_rows.row_changes(ctx)
        if change.kind == kind and change.table is not None
    }
    if not heads:
        return set()
    raw = (ctx.old_doc if kind == "removed" else ctx.new_doc).raw
    numbers = {line.number for line in lines}
    found = set()
    for line in lines:
        if not line.heading:
            continue
        for head in heads:
            between = range(line.number + 1, head)
            if 0 < head - line.number <= 3 and all(
                n in numbers or not raw[n - 1].strip() for n in between
            ):
                found.add(line.number)
    return found


def _same_shutdown(old: str, new: str) -> bool:
    """A shutdown cell whose date (and qualifier) reads the same: its other words are wording
    ("… will be upgraded to version 0125, starting on January 21, 2025")."""
    before, after = row_cells.shutdown_in_cell(old), row_cells.shutdown_in_cell(new)
    if before is None or after is None:
        return False  # a date set, dropped or never there: the lifecycle rules read that cell
    return (before.iso, before.qualifier) == (after.iso, after.qualifier)


def _row_leftover(ctx: Context, pair: Pair) -> list[str]:
    """The cells of a changed table row that no lifecycle or table rule explains."""
    for change in lifecycle_rows.row_changes(ctx):
        if change.kind == "changed" and change.new_line is pair.new:
            old, new = change.old or {}, change.new or {}
            # a row naming no model leaves even its status or date change to this rule
            unread = set() if row_cells.names_a_model(change) else LIFECYCLE_ROLES
            records = change.table is not None and "model" in roles(change.table.header).values()
            launched = records and (
                told.beside_new_version(ctx, change) or told.launch_row(ctx, pair.new)
            )
            return [
                name
                for name in new
                if name in old
                and (
                    name not in LIFECYCLE_ROLES
                    or name in unread
                    or name == "shutdown"
                    and _same_shutdown(old[name], new[name])
                    or name == "released"
                    and redated.date_corrected(old[name], new[name])
                )
                and name != "model"
                and reading([old[name]]) != reading([new[name]])
                and not (name in unread and f.blank(old[name]) and f.blank(new[name]))
                and not (records and told.description_edit(old[name], new[name], launched))
            ]
    return []  # the row changed only by a column added or removed


def _quote(line: str, other: str) -> str:
    """The sentences of `line` that hold its changes against `other`, exactly as written."""
    a = [m.group(0) for m in _TOKEN.finditer(other)]
    spans = list(_TOKEN.finditer(line))
    b = [m.group(0) for m in spans]
    script = opcodes(a, b) or [("replace", 0, len(a), 0, len(b))]
    changed = [
        (spans[j1].start(), spans[j2 - 1].end())
        for tag, _, _, j1, j2 in script
        if tag in ("replace", "insert") and j2 > j1
    ]
    if not changed:
        return line.strip()[:QUOTE_LENGTH]
    sentences = sentence_spans(line)
    start = min(s for s, e in sentences if e > changed[0][0])
    end = max(e for s, e in sentences if s < changed[-1][1])
    quote = line[start:end].strip()
    return quote if len(quote) <= QUOTE_LENGTH else quote[:QUOTE_LENGTH].rsplit(" ", 1)[0]


def _insertion(pair: Pair) -> str | None:
    """The one phrase inserted (possibly several times) when that is the only edit."""
    a, b = words(pair.old.core), words(pair.new.core)
    inserted = set()
    for tag, _, _, j1, j2 in opcodes(a, b) or [("replace", 0, 0, 0, 0)]:
        if tag == "equal":
            continue
        if tag != "insert":
            return None
        inserted.add(" ".join(b[j1:j2]))
    return inserted.pop() if len(inserted) == 1 else None


def _headings_extended(ctx: Context) -> list[tuple[Line, Line]]:
    """A heading removed and one added at its level whose words extend it or are cut from it
    ("Notifications" → "Notifications for Foundry Models"): the section renamed, not replaced."""
    added = [line for line in ctx.added if line.heading]
    out = []
    for old in (line for line in ctx.removed if line.heading):
        matches = [
            new for new in added if new.heading == old.heading and _extends(old.core, new.core)
        ]
        if len(matches) == 1:
            out.append((old, matches[0]))
            added.remove(matches[0])
    return out


def _extends(a: str, b: str) -> bool:
    """One heading's words start the other's, and it has more."""
    short, long = sorted(([w.lower() for w in words(a)], [w.lower() for w in words(b)]), key=len)
    return bool(short) and len(short) < len(long) and long[: len(short)] == short


def _text_fact(finding: Finding) -> dict[str, str]:
    """The corpus's `text` fact: what changed, in one line."""
    return {"kind": "text", "summary": finding.reason}


def _where(line: Line) -> str:
    """Where the line is: its section, and the page of a PDF (its ``# Page N`` marker)."""
    if not line.section:
        return ""
    page = line.trail[0] if len(line.trail) > 1 and _PDF_PAGE.fullmatch(line.trail[0]) else None
    return f" in § {line.section}" + (f" ({page})" if page else "")


def _link_moved(pair: Pair) -> str | None:
    """A followed document's link line (its version's first line) names a new target."""
    old, new = (p.text.removeprefix("Document: ") for p in (pair.old, pair.new))
    if pair.new.number == 1 and pair.new.text.startswith("Document: ") and old != pair.old.text:
        return f"the watch now points to {new} (was {old})"
    return None


def rule_remainder(diff: TextDiff, ctx: Context) -> list[Finding]:
    old_numbers, new_numbers = _explained_lifecycle(ctx)
    records = record_changes(ctx)
    old_covered = records[1] if records else frozenset()
    new_covered = records[2] if records else frozenset()
    found: list[Finding] = []
    renamed = []
    dates: list[Pair] = []
    texts: list[Pair] = []
    split = cosmetic.split_lines(ctx)
    for pair in ctx.changed:
        if pair.new.number in new_covered or cosmetic.pair_reason(pair):
            continue
        if marker_pair(pair.old, pair.new) or pair.new.number in new_numbers and not pair.new.table:
            continue
        if (
            pair.new.number in split[0]
            or told.marks_only(ctx, pair)
            or told.alias_of_lifecycle(ctx, pair.new)
            or told.mentions_only(ctx, pair)
            or ctx.kind != "policy"
            and cosmetic.function_words_swapped(pair.old.text, pair.new.text)
        ):
            continue
        if pair.new.table:
            leftover = _row_leftover(ctx, pair)
            if leftover:
                found.append(
                    Finding(
                        "policy.row",
                        "policy_text",
                        f"{', '.join(leftover)} changed{_where(pair.new)}",
                        pair.new.text,
                        pair.old.text,
                        pair.new.text,
                    )
                )
            continue
        if only_dates_differ(pair):
            dates.append(pair)
        elif (
            pair.old.heading
            and pair.new.heading
            and BOLD_LINE
            not in (
                pair.old.heading,
                pair.new.heading,
            )
        ):  # a bold line reworded is a label's or an item title's wording, not a section's
            renamed.append(pair)
        else:
            texts.append(pair)
    if ctx.kind == "lifecycle":
        found += redated.moved_rows_redated(ctx, _where)
    phrases = {_insertion(pair) for pair in renamed} - {None}
    for pair in renamed:
        found.append(
            Finding(
                "policy.renamed",
                "renamed",
                f"renamed: {pair.old.core!r} → {pair.new.core!r}",
                pair.new.text,
                pair.old.core,
                pair.new.core,
            )
        )
    for pair in texts:
        if phrases and _insertion(pair) in phrases:
            continue  # the rename carried into the prose
        quote, old_quote = (
            _quote(pair.new.text, pair.old.text),
            _quote(pair.old.text, pair.new.text),
        )
        found.append(
            Finding(
                "policy.changed",
                "policy_text",
                _link_moved(pair) or f"wording changed{_where(pair.new)}",
                quote,
                old_quote,
                quote,
            )
        )
    extended = _headings_extended(ctx)
    for old_heading, new_heading in extended:
        found.append(
            Finding(
                "policy.renamed",
                "renamed",
                f"renamed: {old_heading.core!r} → {new_heading.core!r}",
                new_heading.text,
                old_heading.core,
                new_heading.core,
            )
        )
    old_renamed = {old.number for old, _ in extended}
    new_renamed = {new.number for _, new in extended}
    explained = new_numbers | new_covered | split[1] | new_renamed
    found += _lines(ctx, ctx.added, "+", explained, ctx.old_text)
    gone = told.gone_notices(ctx, ctx.removed) | split[2] | old_renamed
    found += _lines(ctx, ctx.removed, "-", old_numbers | old_covered | gone, ctx.new_text)
    found += _record_fields(ctx)
    found += _columns(ctx)
    substantive = [
        f for f in found if f.label in ("policy_text", "section_added", "section_removed")
    ]
    for pair in dates:
        label = "policy_text" if substantive else "date_change"
        moves = moved_dates(pair)
        found.append(
            Finding(
                rule=f"policy.{label}",
                label=label,
                reason="dates changed: " + ", ".join(f"{a} → {b}" for a, b in moves),
                fragment=_quote(pair.new.text, pair.old.text),
                old=_quote(pair.old.text, pair.new.text),
                new=_quote(pair.new.text, pair.old.text),
                facts=tuple({"kind": "date", "from": a, "to": b} for a, b in moves),
            )
        )
    return [f if f.facts else replace(f, facts=(_text_fact(f),)) for f in found]


def _heading_cores(ctx: Context, side: str) -> set[str]:
    """The cores of one side's headings (computed once per context)."""
    key = f"heading_cores_{side}"
    if key not in ctx.memo:
        doc = ctx.old_doc if side == "old" else ctx.new_doc
        lines = (doc.line(number) for number in doc.heading_numbers)
        ctx.memo[key] = {line.core for line in lines if line is not None}
    return ctx.memo[key]  # type: ignore[no-any-return]


def _lines(
    ctx: Context, lines: tuple[Line, ...], sign: str, explained: set[int], other: str
) -> list[Finding]:
    _, entries = entry_lines(ctx, lines)
    found = []
    for line in lines:
        if line.number in explained or line.number in entries:
            continue
        if cosmetic.line_reason(ctx, line, other) or _marker_line(line):
            continue
        if line.heading and _PDF_PAGE.fullmatch(line.core):
            continue  # where a document's page starts ("# Page 5"), not one of its sections
        if told.alias_of_lifecycle(ctx, line):
            continue
        if 0 < line.heading < 7 and not is_date_line(line.core):  # a bold line is text
            if line.core in _heading_cores(ctx, "old" if sign == "+" else "new"):
                continue  # the section moved: its heading stands on the other side too
            label = "section_added" if sign == "+" else "section_removed"
            found.append(
                Finding(
                    f"policy.{label}",
                    label,
                    f"{sign} § {line.core}",
                    line.text,
                    None if sign == "+" else line.core,
                    line.core if sign == "+" else None,
                )
            )
            continue
        quote = line.text.strip()[:QUOTE_LENGTH]
        verb = "added" if sign == "+" else "removed"
        found.append(
            Finding(
                f"policy.{verb}",
                "policy_text",
                f"text {verb}{_where(line)}",
                quote,
                quote if sign == "-" else None,
                quote if sign == "+" else None,
            )
        )
    return found


def _columns(ctx: Context) -> list[Finding]:
    """A column that names no model added to or dropped from a table: the table now says more
    or less about every row (a model's own column is a launch or an entry; a table of retiring
    models is read by its rows)."""
    found = []
    for change in table_changes(ctx):
        if change.old is None or change.new is None or deprecation_table(change.new):
            continue  # a table of retiring models: its rows say what changed
        for header, sign in [(h, "+") for h in change.added_columns] + [
            (h, "-") for h in change.removed_columns
        ]:
            if not header or find_models(header):
                continue
            verb = "added" if sign == "+" else "removed"
            found.append(
                Finding(
                    "policy.column",
                    "policy_text",
                    f"column {header!r} {verb}{_where(change.new.head)}",
                    change.new.head.text,
                    change.old.head.text,
                    change.new.head.text,
                )
            )
    return found


def _marker_line(line: Line) -> bool:
    return bool(markers(line.text)) and len(core(mask_markers(line.text)).split()) <= 3


def _letters(name: str) -> str:
    """A name's words without its numbers and generic nouns: "…-09-25" written "…-09-2025",
    or "chatgpt-4o-latest" written "chatgpt-4o-latest model snapshot", is the same name."""
    return re.sub(r"\b(?:models?|snapshots?|versions?)\b|[^a-z]+", "", name.lower())


def _reads_alike(old: str, new: str) -> bool:
    """An item's own words, "Key: value" header lines aside, read the same: equal, a typo
    fixed, or a scraped excerpt cut at another length."""
    a, b = item_prose_only(old), item_prose_only(new)
    return len(a) == len(b) and all(
        loose(x) == loose(y) or cosmetic.typo_level(x, y) or same_excerpt(x, y)
        for x, y in zip(a, b, strict=True)
    )


_PLACEHOLDER = re.compile(r"^(?:<?unknown>?|n/?a|none|tbd|-+|—)?$", re.I)


def _titles_name_it(old: str, new: str, model: str) -> bool:
    """A record's title that only names its own model in another form: the display name and the
    id ("Google: Gemini 2.5 Flash" → "Google: gemini-2.5-flash", "Anthropic's Claude 3 Haiku"
    → "claude-3-haiku"), or a placeholder ("<UNKNOWN>") filled in by the id."""
    squashed = re.sub(r"[^a-z0-9]+", "", model.lower())

    def names_it(title: str) -> bool:
        own = title.split(": ", 1)[-1].strip()  # after the "Provider: " the title opens with
        return bool(_PLACEHOLDER.match(own)) or (
            bool(squashed) and re.sub(r"[^a-z0-9]+", "", own.lower()).endswith(squashed)
        )

    return names_it(old) and names_it(new)


def _record_fields(ctx: Context) -> list[Finding]:
    records = record_changes(ctx)
    if records is None:
        return []
    found = []
    told = record_prose.told_records(ctx)
    for change in lifecycle_rows.row_changes(ctx):
        if change.kind != "changed" or change.old_line is not None:
            continue
        old, new = change.old or {}, change.new or {}
        for name in new:
            if name in LIFECYCLE_ROLES or name.endswith("_at") or name not in old:
                continue
            if name == "model" and _letters(old[name]) != _letters(new[name]):
                found.append(  # the same record under another name ("X" → "X on Google Cloud")
                    Finding(
                        "policy.record_renamed",
                        "policy_text",
                        f"{old[name]} now named {new[name]}",
                        new[name][:300],
                        old[name][:300],
                        new[name][:300],
                    )
                )
                continue
            if name in ("model", "guid", "id") or new[name] in told or is_timestamp(new[name]):
                continue  # its identity and timestamps (guid, published) are metadata
            if name in TEXT_FIELDS and _reads_alike(old[name], new[name]):
                continue  # its header fields are read on their own; the rest reads the same
            if name == "title" and _titles_name_it(old[name], new[name], new.get("model", "")):
                continue
            if loose(old[name]) != loose(new[name]):
                model = new.get("model", "")
                found.append(
                    Finding(
                        "policy.record_field",
                        "policy_text",
                        f"{model}: {name} changed",
                        new[name][:300],  # quoted as stored: the field's own text
                        old[name][:300],
                        new[name][:300],
                    )
                )
    return found
