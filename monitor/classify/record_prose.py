"""Retirements a feed record tells in its own words. A changed item whose text gains "<Note>
This model was retired April 20, 2026." retires the item's model, though none of its fields
moved: only what the item did not say before counts (a retirement now told, or a date it did
not give), and a sentence that names no model speaks of the record's model. A new item's text
may name other models than its own fields do ("Effective April 4th, 2026, the following models
will be retired:" then ids): those are read with their dates, in a dated list ("November 12:
A B November 14: C D") each with the date written before it, and a date written without a year
takes the year of the item's announcement or publication (flagged `year from context`)."""

from __future__ import annotations

import re

from monitor import patterns as p
from monitor.classify import facts as f
from monitor.classify.context import Context
from monitor.classify.dates import YEAR_FROM_CONTEXT, DateHit, dates_near, find_dates
from monitor.classify.lifecycle import model_hits, shutdown_of, split_replacements
from monitor.classify.names import cell_models, find_models
from monitor.classify.records import TEXT, by_role, item_prose, parse_records, record_changes
from monitor.classify.statements import retires_a_model
from monitor.classify.table_diff import RowChange
from monitor.classify.text import normalise, sentences
from monitor.models import Finding, TextDiff

_GLUED_LABEL = re.compile(r"(?<=\w):(?=[A-Za-z])")  # "deprecated:November 12:veo-3.0-…"
_GLUED_MONTH = re.compile(
    r"(?<=[a-z0-9])(?=(?:January|February|March|April|May|June|July|August|September|October"
    r"|November|December)\s+\d)"
)  # "…-previewNovember 14:…"


def _told(text: str) -> list[str]:
    """An item's own sentences, its "Key: value" header fields set aside, with the labels and
    dates a scraper glued to the ids beside them set apart."""
    out = []
    for line in item_prose(text):
        line = _GLUED_MONTH.sub(" ", _GLUED_LABEL.sub(": ", line))
        out += [s for s in sentences(line) if len(s.split()) >= 3]
    return out


def _reference(cells: dict[str, str], ctx: Context) -> str:
    """The date a record speaks from (its announcement or deprecation date, else its publication
    date): what gives a year to a date it writes without one."""
    for word in ("announce", "deprecat", "publish"):  # a feed re-publishes old notices
        for name, value in cells.items():
            if word in name and (found := find_dates(value)):
                return found[0].iso
    return ctx.at.date().isoformat()


def _dated(sentence: str, hits: list[tuple[str, int, int]], reference: str) -> dict[str, DateHit]:
    """Each retiring model's date in a sentence: in a dated list ("November 12: A B November
    14: C D"), the date written before the model; else the sentence's shutdown date."""
    dates = dates_near(sentence, reference)
    interleaved = any(hits[0][1] < d.start < hits[-1][1] for d in dates) if hits else False
    if not interleaved:
        shutdown = shutdown_of(sentence)[0] or next(
            (d for d in dates if d.flag == YEAR_FROM_CONTEXT), None
        )
        return {model: shutdown for model, _, _ in hits if shutdown}
    out = {}
    for model, start, _ in hits:
        before = [d for d in dates if d.end <= start]
        if before:
            out[model] = before[-1]
    return out


def _dated_before(ctx: Context) -> dict[str, set[str]]:
    """Each model's shutdown and deprecation dates as the old feed's own record of it gave them:
    a notice that names the model with one of them tells nothing new. Computed once."""
    if "record_dates_before" not in ctx.memo:
        out: dict[str, set[str]] = {}
        old = parse_records(ctx.old_text)
        for fields in (x for group in (old.records.values() if old else ()) for x in group):
            cells = by_role(fields)
            dates = {
                hit.iso for k in ("shutdown", "deprecated") for hit in find_dates(cells.get(k, ""))
            }
            for model in cell_models(cells, names=False) if dates else ():
                out.setdefault(model, set()).update(dates)
        ctx.memo["record_dates_before"] = out
    return ctx.memo["record_dates_before"]  # type: ignore[no-any-return]


def _families(sentence: str) -> set[str]:
    """Names a sentence writes in prose that ids it also writes extend ("preview versions of
    Llama 3 …, `llama3-groq-8b-8192-tool-use-preview`"): the family of those ids, not a model
    of its own."""
    found = find_models(sentence)
    ids = {re.sub(r"[^a-z0-9]", "", h.id) for h in found if not h.prose}
    ids |= {re.sub(r"[^a-z0-9]", "", hit[0]) for hit in model_hits(sentence)}
    out = set()
    for hit in (h for h in found if h.prose):
        bare = re.sub(r"[^a-z0-9]", "", hit.id)
        if any(other != bare and other.startswith(bare) for other in ids):
            out.add(hit.id)
    return out


def _own_name(model: str, sentence: str, own: list[str]) -> bool:
    """A model read from a display name that the record's own id extends ("(Claude 3.5
    Sonnet)" in the item of anthropic.claude-3-5-sonnet-20240620-v1:0): the record's model,
    already read from its fields, not another one."""
    if model in own or model in sentence.lower():
        return False
    bounded = re.compile(rf"(?<![a-z0-9]){re.escape(model)}(?![a-z0-9])")
    return any(bounded.search(ident) for ident in own)


def _record_notice(ctx: Context, change: RowChange) -> list[Finding]:
    """A record whose own words newly say that a model retired, or retires on a date the item
    did not give before ("<Note> This model was retired April 20, 2026."): a sentence that
    names no model speaks of the record's model. A record new to the feed counts only for the
    models its sentences name with a date (its own model and fields are read as a row)."""
    old, new = change.old or {}, change.new or {}
    before = _told(old.get(TEXT, ""))
    if not new.get(TEXT) or new.get(TEXT) == old.get(TEXT):
        return []
    seen = {normalise(s) for s in before}
    was_done = any(p.RETIRED_NOW.search(s) for s in before)
    dates = {hit.iso for s in before for hit in find_dates(s)}
    dates |= {hit.iso for value in old.values() for hit in find_dates(value)[:1]}
    reference = _reference(new, ctx)
    found = []
    for sentence in _told(new[TEXT]):
        if normalise(sentence) in seen or not p.RETIRE_WORDS.search(sentence):
            continue
        hits = model_hits(sentence)
        if not retires_a_model(sentence, hits):
            continue
        retiring, _ = split_replacements(sentence)
        family = _families(sentence)
        hits = [hit for hit in hits if hit[0] in retiring and hit[0] not in family]
        done = bool(p.RETIRED_NOW.search(sentence)) and not re.search(r"\bwill\b", sentence)
        by_model = _dated(sentence, hits, reference)
        if change.kind == "added":
            own = cell_models(new, names=True)
            models = [
                model
                for model, _, _ in hits
                if model in by_model and not _own_name(model, sentence, own)
            ]
        else:
            shutdown = next(iter(by_model.values()), None) or shutdown_of(sentence)[0]
            if not (done and not was_done) and not (shutdown and shutdown.iso not in dates):
                continue
            models = retiring or cell_models(new, names=True)
            fallback = shutdown or f.date_of(new.get("shutdown"))
            by_model = {m: hit for m in models if (hit := by_model.get(m) or fallback)}
        known = {} if done else _dated_before(ctx)  # "was retired" on the known day is news
        models = [
            m for m in models if not ((hit := by_model.get(m)) and hit.iso in known.get(m, ()))
        ]
        maker, surface = f.platform(new.get("provider"))
        for model in models:
            fact = f.retirement(
                ctx,
                model,
                "retired" if done else "deprecation_announced",
                shutdown=by_model.get(model),
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
    """Retirements that new or changed feed records tell in their own words; computed once."""
    if "record_notices" not in ctx.memo:
        records = record_changes(ctx)
        changed = [c for c in records[0] if c.kind in ("added", "changed")] if records else []
        ctx.memo["record_notices"] = [x for c in changed for x in _record_notice(ctx, c)]
    return ctx.memo["record_notices"]  # type: ignore[no-any-return]


def told_records(ctx: Context) -> set[str]:
    """The new texts of records whose own words the lifecycle rules read a retirement from."""
    record_notices(ctx)
    return ctx.memo.get("told_records", set())  # type: ignore[no-any-return]


def rule_record_prose(diff: TextDiff, ctx: Context) -> list[Finding]:
    """Retirements that changed feed records tell in their own words."""
    return record_notices(ctx)
