"""Lifecycle facts from prose: retirement notices, moved shutdown dates and launches.

Added lines are read in blocks (the lines added under one heading). A sentence with a retirement
word names the models retiring; the models after "recommend upgrading to", "migrate to", "use …
instead" are replacements, not retirements. A sentence without a model takes the models listed
right after it ("The following endpoints are deprecated:" then a list). The shutdown date is the
sentence's date, else a "before/on <date>" elsewhere in the block, else, for a retirement that
already happened, the date of the dated heading above ("### January 5, 2026")."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from monitor import patterns as p
from monitor.classify import captioned as captioned_list
from monitor.classify import facts as f
from monitor.classify import firmed as firmed_dates
from monitor.classify.context import Context, Line, Pair
from monitor.classify.dates import (
    DateHit,
    find_dates,
    is_date_line,
    month_year_date,
    moved_dates,
    yearless_date,
)
from monitor.classify.lifecycle_rows import row_changes
from monitor.classify.names import (
    as_written,
    find_models,
    ids_written,
    name_as_id,
    unglue,
    unknown_ids,
)
from monitor.classify.records import record_changes
from monitor.classify.statements import retires_a_model
from monitor.classify.text import found_near, lines_holding, normalise, sentences
from monitor.classify.versions import marker_pair, mask_markers
from monitor.models import Finding, TextDiff

_DEPRECATED_AS_OF = re.compile(
    r"(?:deprecated|deprecation|legacy(?:\s+status)?)\s+(?:as of|on|since|date\s*(?::|to)?)\s*$",
    re.I,
)  # also a card's field "Deprecation date: March 3, 2026", "entered legacy status on 2026-01-30"
_SHUTDOWN_CUE = re.compile(
    r"(?:\bon|\bbefore|\bafter|\buntil|\bby|\bfor|\bfrom|\bthrough|\bthan|retire\w*|shut\s*down"
    r"|\bas of)\W*$|(?:をもって|に|まで)\s*$",
    re.I,
)
_RESPECTIVELY = re.compile(r"\brespectively\b", re.I)


@dataclass(frozen=True)
class Block:
    lines: tuple[Line, ...]

    @property
    def trail(self) -> tuple[str, ...]:
        """The headings above the block, its own first heading included."""
        first = self.lines[0]
        return (*first.trail, first.core) if first.heading else first.trail


def prose_lines(ctx: Context, lines: tuple[Line, ...]) -> list[Line]:
    """Lines that are prose (not table rows, not feed records)."""
    records = record_changes(ctx)
    covered = records[2] if records else frozenset()
    return [line for line in lines if not line.table and line.number not in covered]


def blocks(lines: list[Line]) -> list[Block]:
    """Added lines grouped under their heading. A dated heading starts a block of its own: the
    next dated entry of release notes is not part of the one above it."""
    out: list[list[Line]] = []
    for line in lines:
        joins = bool(out) and (
            line.trail == out[-1][-1].trail or line.heading == 0 and bool(out[-1][-1].heading)
        )
        if joins and not (line.heading and is_date_line(line.core)):
            out[-1].append(line)
        else:
            out.append([line])
    return [Block(tuple(group)) for group in out]


def model_hits(sentence: str) -> list[tuple[str, int, int]]:
    """(id, start, end) of every model a sentence names: the recognised ones, and id-shaped
    tokens of any family that no recognised name covers ("quill-lite-2")."""
    known = [(h.id, h.start, h.end) for h in find_models(sentence)]
    if not p.RETIRE_WORDS.search(sentence):
        return known
    text = normalise(sentence)
    more = [
        (part, m.start() + at, m.start() + at + len(part))
        for m in p.UNKNOWN_ID.finditer(text)
        for part, at in unglue(m.group("id"))
        if part in unknown_ids(part)
        and not any(
            start < m.start() + at + len(part) and m.start() + at < end for _, start, end in known
        )
    ]
    return sorted(known + more, key=lambda hit: hit[1])


def split_replacements(sentence: str) -> tuple[list[str], list[str]]:
    """(models retiring, models named as replacements) in one sentence."""
    cue = p.REPLACEMENT_WORDS.search(sentence)
    hits = model_hits(sentence)
    if cue is None:
        return [h[0] for h in hits], []
    before = [h[0] for h in hits if h[2] <= cue.start()]
    after = [h[0] for h in hits if h[1] >= cue.start()]
    return before, after


_GLUED = re.compile(r"\w-")


def _named_as_a_point_in_time(sentence: str, model: str) -> bool:
    """A model named only as when a rule starts ("models made available since `gpt-4o-…` retire
    one year after …"): the point the sentence counts from, not a model it retires."""
    named = list(re.finditer(rf"(?<![\w.-]){re.escape(model)}(?![\w-])", sentence, re.I))
    return bool(named) and all(
        re.search(r"\bsince\s*[`*_\[]*$", sentence[: hit.start()], re.I) for hit in named
    )


def shutdown_of(sentence: str) -> tuple[DateHit | None, str | None]:
    """(shutdown date, deprecation date) of one sentence."""
    shutdown, deprecated = None, None
    for hit in find_dates(sentence):
        if hit.start > 1 and _GLUED.match(sentence, hit.start - 2):
            continue  # the snapshot date of an id (`gpt-4o-2024-08-06`), not a date it retires
        before = sentence[max(0, hit.start - 30) : hit.start]
        if _DEPRECATED_AS_OF.search(before):
            deprecated = deprecated or hit.iso
        elif shutdown is None and (_SHUTDOWN_CUE.search(before) or p.RETIRE_WORDS.search(sentence)):
            shutdown = hit
    return shutdown, deprecated


def _month_only(sentence: str) -> DateHit | None:
    """A shutdown month with no day ("will be retired in March 2026"), cued as a date is."""
    found = month_year_date(sentence)
    if found is None or find_dates(sentence):
        return None
    before = sentence[max(0, found.start - 30) : found.start]
    if _DEPRECATED_AS_OF.search(before) or not re.search(
        r"\b(?:in|by|on|from|after|until)\s*$", before
    ):
        return None
    return found


SECTION_REACH = 30  # lines of a heading's section searched for the ids it writes


def _written_ids(ctx: Context, block: Block) -> set[str]:
    """The ids the notice or its section writes: a model read from a display name ("GPT-4.5
    Preview" → gpt-4.5) is read as the one of them that extends it (`gpt-4.5-preview`), an id
    as written beating a name read (`as_written`)."""
    lines = list(block.lines)
    first = block.lines[0]
    if first.heading:  # the section the heading opens
        for number in range(first.number + 1, first.number + 1 + SECTION_REACH):
            other = ctx.new_doc.line(number)
            if other is not None and other.heading and other.heading <= first.heading:
                break
            if other is not None:
                lines.append(other)
    return ids_written([line.text for line in lines])


def _yearless(sentence: str, line: Line) -> DateHit | None:
    """A retirement date written without its year under a dated heading, in that year."""
    dated = f.section_date(line.trail)
    if dated is None or not p.RETIRE_WORDS.search(sentence):
        return None
    return yearless_date(sentence, dated)


def _retired_name(ctx: Context, sentence: str) -> list[str]:
    """On a lifecycle page, the product or API a dated retirement sentence names as its object
    ("we are sunsetting the Assistants API" → assistants-api)."""
    found = p.RETIRED_NAME.search(sentence) if ctx.kind == "lifecycle" else None
    named = name_as_id(found.group("name")) if found else None
    return [named] if named else []


SUBJECT_REACH = 12  # lines above a statement where the model it speaks of may be named


def subject(ctx: Context, line: Line) -> list[str]:
    """The model a statement naming none speaks of: the one its heading names, else the nearest
    line above it in its section that names one model in a few words (a definition's term
    "gpt-4o-mini-tts", a card's field "Model ID: jamba-1.5-large")."""
    named = find_models(line.section or "")
    if len(named) == 1:
        return [named[0].id]
    for number in range(line.number - 1, max(0, line.number - 1 - SUBJECT_REACH), -1):
        other = ctx.new_doc.line(number)
        if other is None:
            continue
        if other.heading or other.trail != line.trail:
            break
        hits = find_models(other.core)
        if len(hits) == 1 and len(other.core.split()) <= 4:
            return [hits[0].id]
    return []


def _listed_models(block: Block, after: int, items: _Items) -> list[str]:
    """Models in the list items or table rows right after line index `after` of a block. Under
    a caption that calls the items retiring models ("Deprecated Models:", the line itself or
    the one after it), each item's leading id is its model, of any family."""
    ids: list[str] = []
    start = after + 1
    captioned = _models_caption(block.lines[after], words=None)
    if start < len(block.lines) and not captioned and _models_caption(block.lines[start]):
        captioned, start = True, start + 1
    kept: set[str] = set()
    for index in items.naming_from(start):
        line = block.lines[index]
        lead = captioned_list.leading_id(line) if captioned else None
        named = [lead] if lead else [h.id for h in find_models(line.text)]
        ids += [model for model in named if model not in kept][:1]
        kept.update(ids[-1:])
    return ids


class _Items:
    """The runs of list items and table rows of a block, each read once: per run, the lines
    that may name a model (a leading id or a model found), so a long list of retiring sentences
    that name none costs its length, not its square."""

    def __init__(self, lines: tuple[Line, ...]) -> None:
        self.lines = lines
        self.first: list[int] = []  # per line: the index of its run's first line
        for index, line in enumerate(lines):
            in_run = line.list_item or line.table
            joins = in_run and index > 0 and self.first[index - 1] >= 0
            self.first.append(self.first[index - 1] if joins else index if in_run else -1)
        self._naming: dict[int, list[int]] = {}  # a run's first index → its naming lines

    def naming_from(self, start: int) -> list[int]:
        """The indices of the lines that may name a model, from `start` to the end of its run
        (none when the line at `start` is neither a list item nor a table row)."""
        first = self.first[start] if start < len(self.lines) else -1
        if first < 0:
            return []
        if first not in self._naming:
            naming = []
            for index in range(first, len(self.lines)):
                if self.first[index] != first:
                    break
                line = self.lines[index]
                if captioned_list.leading_id(line) or find_models(line.text):
                    naming.append(index)
            self._naming[first] = naming
        naming = self._naming[first]
        return naming[bisect_left(naming, start) :]


_CAPTION_WORDS = 5  # "Deprecated Models:", "Models being retired:"
_MODELS_WORD = re.compile(r"\bmodels?\b", re.I)


def _models_caption(line: Line, words: int | None = _CAPTION_WORDS) -> bool:
    """A line ending in a colon that names models and a retirement word: the caption of the
    list below it ("Deprecated Models:"; with `words` None, a sentence of any length: "Effective
    April 4th, 2026, the following models will be retired:")."""
    text = line.core.strip().rstrip("*_ ")
    return (
        not (line.heading or line.list_item or line.table)
        and text.endswith(":")
        and (words is None or len(text.split()) <= words)
        and bool(_MODELS_WORD.search(text))
        and bool(p.RETIRE_WORDS.search(text))
    )


def _replacements(block: Block, said: list[list[str]]) -> list[str]:
    """The models the block names as replacements (`said`: each line's sentences)."""
    out: list[str] = []
    under_heading = False  # below "## What should I use instead?": every model named replaces
    for line, line_sentences in zip(block.lines, said, strict=True):
        if line.heading:
            under_heading = bool(
                p.INSTEAD.search(line.core) or p.REPLACEMENT_WORDS.search(line.core)
            )
            continue
        if under_heading:
            out += [h.id for h in find_models(line.core)]
        for sentence in line_sentences:
            if not p.REPLACEMENT_WORDS.search(sentence):
                continue  # no replacement cue: split_replacements names no replacement
            _, after = split_replacements(sentence)
            out += after
        if line.table:
            cells = [c.strip() for c in line.core.strip("|").split("|")]
            if len(cells) >= 2:
                out += [h.id for h in find_models(cells[-1])]
    return out


class _Shared:
    """What the retiring sentences of a block read of the whole block, each read when a
    sentence first needs it (most blocks of a large page retire nothing)."""

    def __init__(self, ctx: Context, block: Block) -> None:
        self.ctx, self.block = ctx, block

    @cached_property
    def written(self) -> set[str]:  # read once, not once per retiring sentence: linear
        return _written_ids(self.ctx, self.block)

    @cached_property
    def surface(self) -> str | None:
        return f.surface_in(self.text)

    @cached_property
    def items(self) -> _Items:
        return _Items(self.block.lines)

    @cached_property
    def respectively(self) -> bool:
        return bool(_RESPECTIVELY.search(self.text))

    @cached_property
    def text(self) -> str:
        return " ".join(line.core for line in self.block.lines)

    @cached_property
    def said(self) -> list[list[str]]:
        return [sentences(line.core) for line in self.block.lines]  # split once, read twice

    @cached_property
    def replacements(self) -> list[str]:
        return _replacements(self.block, self.said)

    @cached_property
    def continues(self) -> bool:
        return found_near(p.API_CONTINUES, self.text, p.API_CONTINUES_HOLD, p.API_CONTINUES_WIDTH)

    @cached_property
    def later_dates(self) -> list[DateHit]:
        return [
            hit
            for line, line_sentences in zip(self.block.lines, self.said, strict=True)
            if not line.heading
            for sentence in line_sentences
            for hit in [shutdown_of(sentence)[0] or _yearless(sentence, line)]
            if hit
        ]


def _block_findings(ctx: Context, block: Block) -> list[Finding]:
    found: list[Finding] = []
    announced = f.section_date(block.trail) or ctx.at.date().isoformat()
    shared = _Shared(ctx, block)
    seen: set[str] = set()
    retiring = lines_holding([line.core for line in block.lines], p.RETIRE_WORDS_HOLD)
    for index, line in enumerate(block.lines):
        if index not in retiring:
            continue  # no sentence of the line can match RETIRE_WORDS
        for sentence in sentences(line.core):
            short = len(sentence.split()) < 3 and not _models_caption(line)
            if short or not p.RETIRE_WORDS.search(sentence):
                continue
            if p.NOT_RETIRING.search(sentence):
                continue
            if (
                not p.RETIRE_WORDS.search(p.SHUTDOWN_EFFECT.sub("", sentence))
                and not (shutdown_of(sentence)[0])
            ):
                continue  # "requests to X will fail", with no date: not a shutdown
            if not retires_a_model(sentence, model_hits(sentence)):
                continue  # a feature, a parameter or a role of the models named retires
            models, _ = split_replacements(sentence)
            models = [m for m in models if m not in shared.replacements or m in models[:1]]
            models = [m for m in models if not _named_as_a_point_in_time(sentence, m)]
            if not models:
                models = _listed_models(block, index, shared.items) or (
                    [h.id for h in find_models(line.core)] if line.heading else []
                )
            if not models and not line.heading and (shutdown_of(sentence)[0] or shared.later_dates):
                models = subject(ctx, line) or _retired_name(ctx, sentence)
            if not models:
                continue
            models = as_written(models, [], shared.written)
            shutdown, deprecated = shutdown_of(sentence)
            if line.heading and shutdown and shared.later_dates:
                if shutdown.iso == f.section_date((*line.trail, line.core)):
                    shutdown = shared.later_dates[0]  # a dated heading's date is the notice's own
            elif shutdown is None and not line.heading:
                shutdown = _yearless(sentence, line) or _month_only(sentence)
            done = bool(p.RETIRED_NOW.search(sentence)) and not re.search(r"\bwill\b", sentence)
            if shutdown is None and shared.later_dates and not done:
                shutdown = shared.later_dates[0]
            if shutdown is None and done and f.section_date(block.trail):
                shutdown = DateHit(announced, 0, 0, announced)
            event = "retired" if done else "deprecation_announced"
            surface = f.surface_in(sentence) or shared.surface
            mapped = _map_replacements(models, shared.replacements, sentence, shared)
            for model in models:
                if model in seen:
                    continue
                seen.add(model)
                extra: dict[str, Any] = {"api_continues": True} if shared.continues else {}
                fact = f.retirement(
                    ctx,
                    model,
                    event,
                    shutdown=shutdown,
                    surface=surface,
                    announced=deprecated or (announced if event != "retired" else None),
                    replacement_of=mapped.get(model),
                    **extra,
                )
                found.append(
                    Finding(
                        "lifecycle.prose",
                        "model_retirement",
                        f"{model}: {event.replace('_', ' ')}",
                        quote_sentence(line.text, sentence),
                        None,
                        fact.get("shutdown_date"),
                        (fact,),
                    )
                )
    return found


def _map_replacements(
    models: list[str], replacements: list[str], sentence: str, shared: _Shared
) -> dict[str, str]:
    replacements = [r for r in replacements if r not in models]
    if not replacements:
        return {}
    # "respectively" in the sentence or its block (a word never spans the space between them)
    respectively = bool(_RESPECTIVELY.search(sentence)) or shared.respectively
    if respectively and len(replacements) == len(models):
        return dict(zip(models, replacements, strict=True))
    return {model: " or ".join(dict.fromkeys(replacements)) for model in models}


def quote_sentence(line: str, sentence: str) -> str:
    """The sentence as stored when it appears verbatim in the line, else the whole line."""
    return sentence if sentence in line else line


def _marker_only(pair: Pair) -> bool:
    """The line is the document's own date ("Last reviewed: …"), naming no model and no
    retirement beside it: its date is the page's, never a shutdown date."""
    rest = mask_markers(pair.new.core)
    return (
        marker_pair(pair.old, pair.new)
        and not p.RETIRE_WORDS.search(rest)
        and not find_models(rest)
    )


def _moved(ctx: Context, pair: Pair) -> list[Finding]:
    """A changed line whose only change is a date, in a retirement notice: the date moved."""
    moves = moved_dates(pair)
    if not moves:
        return []
    # the retirement words must stand by the moved date: its sentence or the one before, or the
    # heading above a line that is little more than the date ("| model | 2026-07-17 |")
    parts = sentences(pair.new.core)
    at = [i for i, s in enumerate(parts) if moves[0][1] in {h.iso for h in find_dates(s)}]
    context = " ".join(parts[max(0, at[0] - 1) : at[0] + 1]) if at else pair.new.core
    if len(context.split()) <= 8:
        context = " ".join((*pair.new.trail[-1:], context))
    if not p.RETIRE_WORDS.search(context):
        return []
    models = [m for m in split_replacements(pair.new.core)[0]] or [
        h.id for h in find_models(pair.new.section or "")
    ]
    found = []
    old_iso, new_iso = moves[0]
    for model in dict.fromkeys(models):
        if new_iso < old_iso:
            fact = f.retirement(
                ctx,
                model,
                "retirement_date_moved_earlier",
                shutdown=next(h for h in find_dates(pair.new.core) if h.iso == new_iso),
                previous=old_iso,
            )
            label = "model_retirement"
        else:
            fact = f.retirement_change(ctx, model, "retirement_date_postponed", old_iso, new_iso)
            label = "policy_text"
        found.append(
            Finding(
                "lifecycle.date_moved",
                label,
                f"{model}: shutdown {old_iso} → {new_iso}",
                pair.new.text,
                old_iso,
                new_iso,
                (fact,),
            )
        )
    return found


Notices = dict[tuple[str, ...], tuple[bool, list[str]]]


def notices(added_blocks: list[Block]) -> Notices:
    """Per notice (the top heading above added blocks): whether one of its blocks says "the API
    continues", and the models named under its "use instead" headings. One pass over the blocks."""
    out: Notices = {}
    for block in added_blocks:
        root = block.trail[:1]
        if not root:
            continue
        continues, replacements = out.get(root, (False, []))
        text = " ".join(line.core for line in block.lines)
        heading = block.trail[-1] if len(block.trail) > 1 else ""
        if p.INSTEAD.search(heading) or p.REPLACEMENT_WORDS.search(heading):
            replacements = replacements + [
                h.id for line in block.lines for h in find_models(line.core)
            ]
        out[root] = (continues or bool(p.API_CONTINUES.search(text)), replacements)
    return out


def _same_notice(block: Block, found_in: Notices, found: list[Finding]) -> None:
    """A notice that says "the API continues" or names the replacement under a heading of its
    own ("## What about the API?", "## What should I use instead?"): those belong to the
    retirement facts read from `block`, which are completed in place."""
    continues, replacements = found_in.get(block.trail[:1], (False, []))
    for finding in found:
        for fact in finding.facts:
            if continues:
                fact.setdefault("api_continues", True)
            named = [r for r in dict.fromkeys(replacements) if r != fact.get("model")]
            if named and "replacement" not in fact:
                fact["replacement"] = " or ".join(named)


@dataclass(frozen=True)
class Evidence:
    """Findings and the old and new line numbers they were read from."""

    findings: tuple[Finding, ...]
    old_lines: frozenset[int]
    new_lines: frozenset[int]


def _seen(ctx: Context, line: Line) -> bool:
    """The old text had this line already: a notice moved or copied, not a new announcement.
    Its exact text anywhere in the old text, or its reading among the lines taken out (a notice
    moved with its markup changed); never a reading of every old line of a large page."""
    if "old_raw" not in ctx.memo:
        ctx.memo["old_raw"] = frozenset(raw.strip() for raw in ctx.old_text.split("\n"))
        ctx.memo["removed_cores"] = frozenset(removed.core for removed in ctx.removed)
    if line.text.strip() in ctx.memo["old_raw"]:  # type: ignore[operator]
        return True
    return line.core in ctx.memo["removed_cores"]  # type: ignore[operator]


def prose_evidence(ctx: Context) -> Evidence:
    """Retirements announced in added prose, and shutdown dates moved in changed prose."""
    if "prose" in ctx.memo:
        return ctx.memo["prose"]  # type: ignore[no-any-return]
    found: list[Finding] = []
    old: set[int] = set()
    new: set[int] = set()
    added_blocks = blocks([line for line in prose_lines(ctx, ctx.added) if not _seen(ctx, line)])
    by_notice: Notices | None = None
    for block in added_blocks:
        block_found = _block_findings(ctx, block) or captioned_list.added_items(
            ctx, block.lines, lambda line: _models_caption(line, words=None), shutdown_of
        )
        if block_found:
            if by_notice is None:
                by_notice = notices(added_blocks)
            _same_notice(block, by_notice, block_found)
            found += block_found
            new.update(line.number for line in block.lines)
    rows = bool(record_changes(ctx) and row_changes(ctx))
    for pair in ctx.changed:
        if pair.new.table or rows:
            continue
        if moved_dates(pair) and not _marker_only(pair):
            pair_found = _moved(ctx, pair)
        elif p.RETIRE_WORDS.search(pair.new.core) and not p.RETIRE_WORDS.search(pair.old.core):
            pair_found = _block_findings(ctx, Block((pair.new,)))
        else:
            pair_found = firmed_dates.firmed(ctx, pair, subject, shutdown_of)
        if pair_found:
            found += pair_found
            old.add(pair.old.number)
            new.add(pair.new.number)
    ctx.memo["prose"] = evidence = Evidence(tuple(found), frozenset(old), frozenset(new))
    return evidence


def rule_prose(diff: TextDiff, ctx: Context) -> list[Finding]:
    """Retirements announced in added prose, and shutdown dates moved in changed prose."""
    return list(prose_evidence(ctx).findings)
