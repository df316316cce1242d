"""Launches: a model the old page never named, added in a sentence that launches something or as
a new column of a comparison table; and a comparison column whose header gains a lifecycle state
("Claude Haiku 3 (deprecated)"), which is a retirement."""

from __future__ import annotations

import re

from monitor import patterns as p
from monitor.classify import facts as f
from monitor.classify.context import Context
from monitor.classify.lifecycle import (
    Evidence,
    blocks,
    prose_lines,
    quote_sentence,
    split_replacements,
)
from monitor.classify.lifecycle_rows import row_changes
from monitor.classify.names import (
    ModelHit,
    cell_models,
    find_models,
    name_as_id,
    old_model_ids,
)
from monitor.classify.table_diff import table_changes
from monitor.classify.tables import Table, header_models
from monitor.classify.text import holds_any, normalise, sentences
from monitor.models import Finding, TextDiff


def launch_evidence(ctx: Context) -> Evidence:
    """A model the old page never named, added in a sentence that launches something."""
    if "launch" in ctx.memo:
        return ctx.memo["launch"]  # type: ignore[no-any-return]
    old_models: set[str] | None = None  # scanning the whole old page is costly: only on demand
    retiring: set[str] = set()
    # model → (the launch is said of it, its finding, the lines of its block): a sentence that
    # launches the model itself beats an earlier one where a feature is available on it
    chosen: dict[str, tuple[bool, Finding, tuple[int, ...]]] = {}
    for block in blocks(prose_lines(ctx, ctx.added)):
        block_text = " ".join(line.core for line in block.lines)
        if not holds_any(block_text, p.LAUNCH_WORDS_HOLD) or not p.LAUNCH_WORDS.search(block_text):
            continue
        for line in block.lines:
            for sentence in sentences(line.core):
                if p.RETIRE_WORDS.search(sentence):
                    retiring.update(split_replacements(sentence)[0])
                    continue
                if not (p.LAUNCH_WORDS.search(sentence) or line.heading):
                    continue
                first: dict[str, ModelHit] = {}
                for hit in find_models(sentence) or _called_a_model(sentence):
                    first.setdefault(hit.id, hit)
                for model, hit in first.items():
                    if old_models is None:
                        old_models = set(old_model_ids(ctx))
                    if model in old_models or model in retiring:
                        continue
                    itself = line.heading or _launched_itself(sentence, hit.start, hit.end)
                    if model in chosen and (chosen[model][0] or not itself):
                        continue
                    fact = f.launch(
                        ctx,
                        model,
                        released=f.section_date(block.trail),
                        surface=f.surface_in(sentence),
                    )
                    finding = Finding(
                        "lifecycle.launch",
                        "model_launch",
                        f"{model}: launched",
                        quote_sentence(line.text, sentence),
                        None,
                        model,
                        (fact,),
                    )
                    chosen[model] = (bool(itself), finding, tuple(x.number for x in block.lines))
    found = [finding for _, finding, _ in chosen.values()]
    lines = {number for _, _, numbers in chosen.values() for number in numbers}
    lines.update(_alias_lines(ctx))
    ctx.memo["launch"] = evidence = Evidence(tuple(found), frozenset(), frozenset(lines))
    return evidence


# "AlphaGenome, Google DeepMind's genomics foundation model, is now available": a name the
# sentence itself calls a model, in an apposition between its subject and the launch verb
_APPOSED_MODEL = re.compile(
    r"^(?P<name>[A-Z][\w.-]*(?: [A-Z0-9][\w.-]*){0,3}), [^,;]{0,120}?\bmodels?, (?:is|are) "
    r"(?:now )?(?:generally )?available\b"
)


def _called_a_model(sentence: str) -> list[ModelHit]:
    """A model of no known family that the launch sentence names as a model by apposition."""
    text = normalise(sentence)
    m = _APPOSED_MODEL.match(text)
    model = name_as_id(m.group("name")) if m else None
    if m is None or model is None:
        return []
    return [ModelHit(model, m.start("name"), m.end("name"), None, True)]


_PLACE = re.compile(r"\b(?:on|in|for|across|with|to|by|from)\b", re.I)
_AVAILABLE_AFTER = re.compile(
    r"^[\W_]*(?:\([^()]{0,80}\)[\W_]*)?(?:is|are) (?:now )?(?:generally )?available", re.I
)


def _launched_itself(sentence: str, start: int, end: int) -> bool:
    """The launch verb is said of the model (named after 'launched' with no place word between,
    or followed by 'is available'), not of a feature available 'on' or 'for' it."""
    text = normalise(sentence)
    if _AVAILABLE_AFTER.match(text[end:]):
        return True
    verbs = [m for m in p.LAUNCH_WORDS.finditer(text[:start])]
    return bool(verbs) and not _PLACE.search(text[verbs[-1].end() : start])


def _alias_lines(ctx: Context) -> set[int]:
    """New list items that only point an alias at a model this change lists or retires in a
    table ("- `x-latest`: currently points to `x-2507`"): part of that listing, not new text."""
    candidates = [line for line in ctx.added if line.list_item] + [
        pair.new for pair in ctx.changed if pair.new.list_item
    ]
    listed: set[str] | None = None  # read only for a line that points an alias
    out = set()
    for line in candidates:
        text = normalise(line.core)
        if "-latest" not in text:
            continue  # no alias: `named` would hold no more than `pinned`
        named = [m.group("id") for m in p.MODEL_ID.finditer(text)]
        pinned = [model for model in named if not model.endswith("-latest")]
        if not pinned or len(named) == len(pinned):
            continue
        if listed is None:
            listed = {
                model
                for change in row_changes(ctx)
                if change.kind != "removed"
                for model in cell_models(change.new or {}, names=False)
            }
        if all(model in listed for model in pinned):
            out.add(line.number)
    return out


def rule_launch(diff: TextDiff, ctx: Context) -> list[Finding]:
    """A model the old page never named, added in a sentence that launches something."""
    return list(launch_evidence(ctx).findings)


def rule_columns(diff: TextDiff, ctx: Context) -> list[Finding]:
    """A model added as a column of a comparison table is a launch; a column header that gains
    a lifecycle state ("Claude Haiku 3 (deprecated)") is a retirement."""
    if not table_changes(ctx):
        return []
    found = []
    before, after = header_models(ctx, "old"), header_models(ctx, "new")
    for name, header in after.items():
        state, was = f.state(header), f.state(before.get(name))
        if name not in before or state not in ("deprecated", "legacy", "retired") or was == state:
            continue
        event = "retired" if state == "retired" else "deprecation_announced"
        tables = [c.new for c in table_changes(ctx) if c.new and header in c.new.header]
        model = next((i for t in tables for i in _column_ids(t, header)), name)
        fact = f.retirement(ctx, model, event, status_change=f"{was or 'active'} -> {state}")
        found.append(
            Finding(
                "lifecycle.column_state",
                "model_retirement",
                f"{model}: {state}",
                header,
                before[name],
                header,
                (fact,),
            )
        )
    for change in table_changes(ctx):
        for header in change.added_columns:
            for model in dict.fromkeys(hit.id for hit in find_models(header)):
                ids = _column_ids(change.new, header) or [model]
                for model_id in ids:
                    if model_id in old_model_ids(ctx):  # read only for a new column's model
                        continue
                    found.append(
                        Finding(
                            "lifecycle.column_launch",
                            "model_launch",
                            f"{model_id}: new column {header!r}",
                            change.new.head.text if change.new else header,
                            None,
                            model_id,
                            (f.launch(ctx, model_id),),
                        )
                    )
    return found


def _column_ids(table: Table | None, header: str) -> list[str]:
    """The id a comparison table gives the model of a column (its "API ID" row), if any."""
    if table is None or header not in table.header:
        return []
    index = table.header.index(header)
    for row in table.rows:
        if "id" in row.key.lower() and index < len(row.cells):
            ids = [hit.id for hit in find_models(row.cells[index]) if not hit.prose]
            if ids:
                return ids[:1]
    return []
