"""Models added to a retirement list that was already on the page: list items added under an
unchanged caption ("Deprecated Models:") or an unchanged sentence that introduces them ("…, the
following models will be retired:"). Each added item's leading id is a model retiring on the
date the list's notice gives (its caption's sentence, the nearest dated retirement sentence
above it in its section, else its dated heading); an alias the item names in brackets ("(and
the alias `command-r`)") is a model too. An item whose id the old text already led a list item
with was listed before: nothing new."""

from __future__ import annotations

import re
from collections.abc import Callable

from monitor import patterns as p
from monitor.classify import facts as f
from monitor.classify.context import Context, Line
from monitor.classify.dates import DateHit
from monitor.classify.text import sentences
from monitor.models import Finding

ShutdownOf = Callable[[str], tuple[DateHit | None, str | None]]
_REACH = 12  # lines above the first added item where the caption may stand
_LEADING_CODE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+`(?P<id>[^`\s]{2,80})`")
_ALIAS = re.compile(r"\balias(?:es)?\b[^`()]{0,20}`(?P<id>[^`\s]{2,80})`", re.I)


def leading_id(line: Line) -> str | None:
    """The id a list item opens with, written as code ("- `command-light` (use … instead)")."""
    found = _LEADING_CODE.match(line.text)
    return found.group("id").lower() if found else None


def _item_models(line: Line) -> list[str]:
    lead = leading_id(line)
    if lead is None:
        return []
    return [lead, *(m.group("id").lower() for m in _ALIAS.finditer(line.text))]


def _old_leads(ctx: Context) -> frozenset[str]:
    """The ids the old text's list items open with (read once)."""
    if "old_list_leads" not in ctx.memo:
        leads = (_LEADING_CODE.match(raw) for raw in ctx.old_text.split("\n"))
        ctx.memo["old_list_leads"] = frozenset(m.group("id").lower() for m in leads if m)
    return ctx.memo["old_list_leads"]  # type: ignore[no-any-return]


def _caption_above(ctx: Context, first: Line) -> Line | None:
    """The nearest line above `first` in its section that is not a list item."""
    for number in range(first.number - 1, max(0, first.number - 1 - _REACH), -1):
        line = ctx.new_doc.line(number)
        if line is None or line.list_item:
            continue
        return line if line.trail == first.trail else None
    return None


def _notice_date(
    ctx: Context, caption: Line, shutdown_of: ShutdownOf, section_date: str | None
) -> DateHit | None:
    """The date of the list's notice: the caption's own, the nearest dated retirement sentence
    above it in its section, else its dated heading's."""
    for number in range(caption.number, max(0, caption.number - 1 - _REACH), -1):
        line = ctx.new_doc.line(number)
        if line is None or line.list_item:
            continue
        if line.heading or line.trail != caption.trail:
            break
        for sentence in sentences(line.core):
            if p.RETIRE_WORDS.search(sentence):
                hit = shutdown_of(sentence)[0]
                if hit is not None:
                    return hit
    if section_date:
        return DateHit(section_date, 0, 0, section_date)
    return None


def added_items(
    ctx: Context,
    lines: tuple[Line, ...],
    is_caption: Callable[[Line], bool],
    shutdown_of: ShutdownOf,
) -> list[Finding]:
    """Retirements of the models in list items added (the leading `lines`) under a caption
    that stands on both sides (`is_caption` and `shutdown_of` are the prose reader's)."""
    items = []
    for line in lines:
        if not line.list_item:
            break
        items.append(line)
    if not items:
        return []
    caption = _caption_above(ctx, items[0])
    if caption is None or caption in lines or not is_caption(caption):
        return []
    shutdown = _notice_date(ctx, caption, shutdown_of, f.section_date(caption.trail))
    found: list[Finding] = []
    for item in items:
        for model in _item_models(item):
            if model in _old_leads(ctx):
                continue
            fact = f.retirement(ctx, model, "deprecation_announced", shutdown=shutdown)
            found.append(
                Finding(
                    "lifecycle.prose",
                    "model_retirement",
                    f"{model}: added to a list of retiring models",
                    item.text,
                    None,
                    fact.get("shutdown_date"),
                    (fact,),
                )
            )
    return found
