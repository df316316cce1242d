"""Retirements a feed record tells in its own words when it changes: an item whose text gains
"<Note> This model was retired April 20, 2026." retires the item's model, though none of its
fields moved. A sentence that names models speaks of them; one that names none, of the record's
model. Only what the item did not say before counts: a retirement now told, or a date it did
not give."""

from __future__ import annotations

import re

from monitor import patterns as p
from monitor.classify import facts as f
from monitor.classify.context import Context
from monitor.classify.dates import find_dates
from monitor.classify.lifecycle import shutdown_of, split_replacements
from monitor.classify.names import cell_models
from monitor.classify.records import TEXT, item_prose, record_changes
from monitor.classify.tables import RowChange
from monitor.classify.text import normalise, sentences
from monitor.models import Finding, TextDiff


def _told(text: str) -> list[str]:
    """An item's own sentences, its "Key: value" header fields set aside."""
    return [s for line in item_prose(text) for s in sentences(line) if len(s.split()) >= 3]


def _record_notice(ctx: Context, change: RowChange) -> list[Finding]:
    """A record whose own words newly say that its model retired, or retires on a date the
    item did not give before ("<Note> This model was retired April 20, 2026."): a sentence
    that names no model speaks of the record's model."""
    old, new = change.old or {}, change.new or {}
    before = _told(old.get(TEXT, ""))
    if not new.get(TEXT) or new.get(TEXT) == old.get(TEXT):
        return []
    seen = {normalise(s) for s in before}
    was_done = any(p.RETIRED_NOW.search(s) for s in before)
    dates = {hit.iso for s in before for hit in find_dates(s)}
    dates |= {hit.iso for value in old.values() for hit in find_dates(value)[:1]}
    found = []
    for sentence in _told(new[TEXT]):
        if normalise(sentence) in seen or not p.RETIRE_WORDS.search(sentence):
            continue
        done = bool(p.RETIRED_NOW.search(sentence)) and not re.search(r"\bwill\b", sentence)
        shutdown, _ = shutdown_of(sentence)
        if not (done and not was_done) and not (shutdown and shutdown.iso not in dates):
            continue
        models = split_replacements(sentence)[0] or cell_models(new, names=True)
        shutdown = shutdown or f.date_of(new.get("shutdown"))
        maker, surface = f.platform(new.get("provider"))
        for model in models:
            fact = f.retirement(
                ctx,
                model,
                "retired" if done else "deprecation_announced",
                shutdown=shutdown,
                provider=maker,
                surface=surface,
                replacement_of=f.replacement(new.get("replacement")),
            )
            found.append(
                Finding(
                    "lifecycle.record_notice",
                    "model_retirement",
                    f"{model}: {str(fact['event']).replace('_', ' ')}",
                    sentence,
                    None,
                    fact.get("shutdown_date"),
                    (fact,),
                )
            )
    if found:
        ctx.memo.setdefault("told_records", set()).add(new[TEXT])
    return found


def record_notices(ctx: Context) -> list[Finding]:
    """Retirements that changed feed records tell in their own words; computed once."""
    if "record_notices" not in ctx.memo:
        records = record_changes(ctx)
        changed = [c for c in records[0] if c.kind == "changed"] if records else []
        ctx.memo["record_notices"] = [x for c in changed for x in _record_notice(ctx, c)]
    return ctx.memo["record_notices"]  # type: ignore[no-any-return]


def told_records(ctx: Context) -> set[str]:
    """The new texts of records whose own words the lifecycle rules read a retirement from."""
    record_notices(ctx)
    return ctx.memo.get("told_records", set())  # type: ignore[no-any-return]


def rule_record_prose(diff: TextDiff, ctx: Context) -> list[Finding]:
    """Retirements that changed feed records tell in their own words."""
    return record_notices(ctx)
