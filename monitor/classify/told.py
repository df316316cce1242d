"""Lines whose change a lifecycle or table finding of the same change already tells: a status
mark after a model's name, an alias line repointed to a launched model, a model's name put into a
list beside the models this change launches or moves, the notice of a model whose entry left
the page, a model's description reworded with its launch or by a copy edit. `policy.remainder`
leaves them out of `policy_text`."""

from __future__ import annotations

import re

from monitor import patterns as p
from monitor.classify import cosmetic, facts, launches, lifecycle, lifecycle_rows
from monitor.classify.aliases import alias_line
from monitor.classify.context import Context, Line, Pair
from monitor.classify.names import find_models, same_model
from monitor.classify.table_diff import RowChange, table_changes
from monitor.classify.text import core, normalise, words

DESCRIPTION_WORDS = 6  # a cell of this many words or more is a sentence, not a value
_ID_TOKEN = re.compile(r"[a-z0-9][\w.:@/-]*[\w]")
_MARK = re.compile(r"\s*\(([^()]+)\)")


def _unmarked(text: str) -> str:
    """The line's reading with the lifecycle marks after names taken out ("Opus 4 (deprecated)"
    → "Opus 4")."""
    return _MARK.sub(lambda m: "" if facts.state(m.group(1)) else m.group(0), core(text))


def alias_of_lifecycle(ctx: Context, line: Line) -> bool:
    """An alias line ("- `x-latest`: currently points to `x-2507`") added or repointed for a
    model this change launches or retires: part of that news, not wording."""
    pointed = alias_line(line)
    return pointed is not None and bool(set(pointed) & lifecycle_models(ctx))


def lifecycle_models(ctx: Context) -> set[str]:
    """The models this change's row, prose and launch findings speak of."""
    if "lifecycle_models" not in ctx.memo:
        findings = (
            *lifecycle_rows.row_findings(ctx),
            *lifecycle.prose_evidence(ctx).findings,
            *launches.launch_evidence(ctx).findings,
        )
        ctx.memo["lifecycle_models"] = {
            str(fact["model"]) for item in findings for fact in item.facts if fact.get("model")
        }
    return ctx.memo["lifecycle_models"]  # type: ignore[no-any-return]


def marks_only(ctx: Context, pair: Pair) -> bool:
    """The line changed only by the lifecycle marks after model names, and a lifecycle finding
    of this change speaks of a model the line names: that status is told there, not here."""
    if _unmarked(pair.old.text) != _unmarked(pair.new.text):
        return False
    text = pair.old.core + " " + pair.new.core
    models = lifecycle_models(ctx)
    if {hit.id for hit in find_models(text)} & models:
        return True
    tokens = set(_ID_TOKEN.findall(text.lower()))
    return bool(tokens & models)  # ids of a family no recogniser knows, as written


def launch_row(ctx: Context, line: Line) -> bool:
    """The row is itself read as a launch (a new version of the model it lists)."""
    return any(
        item.label == "model_launch" and item.fragment == line.text
        for item in lifecycle_rows.row_findings(ctx)
    )


def beside_new_version(ctx: Context, change: RowChange) -> bool:
    """The row was renamed as a newer version of it is added to the same table ("Magistral
    Small" → "Magistral Small 1" beside a new "Magistral Small 1.1"): part of that launch."""
    before, after = (core((cells or {}).get("model", "")) for cells in (change.old, change.new))
    if not before or before == after:
        return False
    return any(
        other.kind == "added"
        and other.table is change.table
        and core((other.new or {}).get("model", "")).startswith(before + " ")
        for other in lifecycle_rows.row_changes(ctx)
    )


def description_edit(old: str, new: str, launched: bool = False) -> bool:
    """A free-text cell of a model's record (a sentence describing it) reworded as part of a
    launch, or whose only edits swap one function word for another ("Learn more on our blog" →
    "Learn more in our blog")."""
    before, after = words(core(old)), words(core(new))
    if min(len(before), len(after)) < DESCRIPTION_WORDS:
        return False
    return launched or cosmetic.function_words_swapped(old, new)


def mentions_only(ctx: Context, pair: Pair) -> bool:
    """The line changed only by naming, in a list, models this change launches, retires or
    moves between tables ("Opus 4.6 and Sonnet 4.5 support …" → "… and Sonnet 4.6 support …",
    "(including Claude Sonnet 4.6)"): the news is told by those findings."""
    models = moved_models(ctx)
    if not models:
        return False
    (before, named_before), (after, named_after) = (
        _unnamed(pair.old.core, models),
        _unnamed(pair.new.core, models),
    )
    return (named_before or named_after) and cosmetic.typo_level(before, after)


def _unnamed(text: str, models: set[str]) -> tuple[str, bool]:
    """The line's words with the names of `models` and list words taken out, and whether it
    named one of them."""
    text = normalise(text)
    hits = [hit for hit in find_models(text) if hit.id in models]
    for hit in reversed(hits):
        text = text[: hit.start] + " " + text[hit.end :]
    return " ".join(w for w in words(text) if w.lower() not in p.LIST_WORDS), bool(hits)


def moved_models(ctx: Context) -> set[str]:
    """The models of this change's lifecycle findings and of the table columns and rows that
    came or went."""
    if "moved_models" not in ctx.memo:
        found = set(lifecycle_models(ctx))
        for table in table_changes(ctx):
            for cell in (*table.added_columns, *table.removed_columns):
                found.update(hit.id for hit in find_models(cell))
        ctx.memo["moved_models"] = found
    return ctx.memo["moved_models"]  # type: ignore[no-any-return]


def gone_notices(ctx: Context, lines: tuple[Line, ...]) -> set[int]:
    """Numbers of removed lines that make up a notice about a model whose column or row left
    the page in this change ("X is deprecated and will be retired on …", and the lines of its
    block): the notice went with the entry."""
    gone: set[str] = set()
    for table in table_changes(ctx):
        for cell in table.removed_columns:
            gone.update(hit.id for hit in find_models(cell))
    for row in lifecycle_rows.row_changes(ctx):
        if row.kind == "removed" and row.old:
            gone.update(hit.id for cell in row.old.values() for hit in find_models(cell))
    if not gone:
        return set()
    rows_gone = {
        row.old_line.number
        for row in lifecycle_rows.row_changes(ctx)
        if row.kind == "removed" and row.old_line is not None
    }
    out: set[int] = set()
    block: list[Line] = []
    for line in (*lines, None):
        if (
            line is not None
            and (not block or line.number - block[-1].number <= 2)
            and not _next_section(block, line)
        ):
            block.append(line)
            continue
        whole_section = bool(block) and bool(block[0].heading)
        if any(_notice_of(item, gone) for item in block) or (
            whole_section and any(item.number in rows_gone for item in block)
        ):  # a notice, or a whole section whose rows left: its words leave with them
            out.update(item.number for item in block)
        block = [line] if line is not None else []
    return out


def _next_section(block: list[Line], line: Line) -> bool:
    """`line` is a heading of the block's level or above: the next section, which leaves with
    its own rows or not at all."""
    first = block[0].heading if block else 0
    return bool(first) and 0 < line.heading <= first


def _notice_of(line: Line, gone: set[str]) -> bool:
    if not p.RETIRE_WORDS.search(line.core):
        return False
    named = {hit.id for hit in find_models(line.core)}
    return any(same_model(model, other) for model in named for other in gone)
