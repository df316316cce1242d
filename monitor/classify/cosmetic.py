"""Noise and cosmetics.

Noise is a change in tokens that differ on every request (nonces, hashes, cache-busting and
tracking parameters, request ids): such a change is not recorded at all. Cosmetic is a change a
reader would not call a change: whitespace, punctuation, case, typo-level edits, formatting
(heading level, bold, list markers, indentation), link targets and navigation, a repeated label,
a date written another way, an age counter ticking on, scraper metadata."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from difflib import SequenceMatcher

from monitor import patterns as p
from monitor.classify.context import Context, Line, Pair
from monitor.classify.dates import same_dates_rewritten
from monitor.classify.names import find_models
from monitor.classify.text import (
    core,
    kept_cross_reference,
    loose,
    normalise,
    opcodes,
    reading,
    words,
)
from monitor.models import Finding


def _mask(text: str) -> str:
    for pattern in p.VOLATILE:
        text = pattern.sub("\x00", text)
    return p.LONG_TOKEN.sub(_long_token, text)


def _long_token(match: object) -> str:
    token = match.group(0)  # type: ignore[attr-defined]
    mixed = (
        any(c.isdigit() for c in token)
        and any(c.isupper() for c in token)
        and any(c.islower() for c in token)
    )
    return "\x00" if mixed else token


def is_noise(ctx: Context) -> bool:
    """Nothing changed but volatile tokens (or nothing changed at all)."""
    if ctx.old_text == ctx.new_text:
        return True
    if ctx.empty:  # only blank lines changed, or volatile tokens on them
        return _mask(ctx.old_text) == _mask(ctx.new_text)
    if ctx.moved or ctx.rewrapped or ctx.repeated:
        return False
    old = [line.text for line in ctx.removed] + [pair.old.text for pair in ctx.changed]
    new = [line.text for line in ctx.added] + [pair.new.text for pair in ctx.changed]
    old += [pair.old.text for pair in ctx.reformatted]
    new += [pair.new.text for pair in ctx.reformatted]
    return Counter(_mask(text) for text in old) == Counter(_mask(text) for text in new)


def _typo(old: str, new: str) -> bool:
    if not (old.isalpha() and new.isalpha()) or min(len(old), len(new)) < 4:
        return False
    return SequenceMatcher(None, old.lower(), new.lower()).ratio() >= 0.8


def _filler(tokens: Sequence[str]) -> bool:
    return all(t.lower() in p.FILLER_WORDS or not any(c.isalnum() for c in t) for t in tokens)


def typo_level(old: str, new: str) -> bool:
    """Every word-level edit is a typo fix, a filler word or punctuation."""
    a, b = words(old), words(new)
    script = opcodes(a, b)
    if script is None:
        return False
    edits = [op for op in script if op[0] != "equal"]
    if not edits:
        return True
    for tag, i1, i2, j1, j2 in edits:
        if tag == "replace" and i2 - i1 == j2 - j1:
            if all(
                _typo(x, y) or x.lower() == y.lower()
                for x, y in zip(a[i1:i2], b[j1:j2], strict=True)
            ):
                continue
        if tag in ("insert", "delete", "replace") and _filler(a[i1:i2]) and _filler(b[j1:j2]):
            continue
        return False
    return True


def function_words_swapped(old: str, new: str) -> bool:
    """Every word-level edit swaps one function word for another ("Learn more on our blog" →
    "in our blog", "group by key to the page" → "on the page"), punctuation aside."""
    a, b = words(core(old)), words(core(new))
    script = opcodes(a, b)
    if script is None:
        return False
    swapped = False
    for tag, i1, i2, j1, j2 in script:
        tokens = (*a[i1:i2], *b[j1:j2])
        if tag == "equal" or not any(c.isalnum() for t in tokens for c in t):
            continue
        if tag != "replace" or i2 - i1 != j2 - j1:
            return False
        if not all(t.lower() in p.FUNCTION_WORDS for t in tokens):
            return False
        swapped = True
    return swapped


def _age_tick(pair: Pair) -> bool:
    old = [m for m in p.RELATIVE_AGE.finditer(pair.old.core)]
    new = [m for m in p.RELATIVE_AGE.finditer(pair.new.core)]
    if not old or len(old) != len(new):
        return False
    if p.RELATIVE_AGE.sub("", pair.old.core) != p.RELATIVE_AGE.sub("", pair.new.core):
        return False
    from monitor.classify.versions import markers

    for a, b in zip(markers(pair.old.text), markers(pair.new.text), strict=False):
        if a.kind == b.kind == "age" and int(b.value) < int(a.value):
            return False  # the counter reset: a new version, not a tick
    return True


def pair_reason(pair: Pair) -> str | None:
    """Why a changed line is only cosmetic, or None when it is not."""
    old, new = pair.old, pair.new
    if p.SCRAPER_FIELDS.match(old.text) and p.SCRAPER_FIELDS.match(new.text):
        return "scraper metadata"
    if loose(old.core) == loose(new.core):
        return "punctuation or case"
    if reading([old.text]) == reading([new.text]):
        return "link or callout markup"
    if same_dates_rewritten(pair) or _marker_rewritten(pair):
        return "date format"
    if _age_tick(pair):
        return "age counter ticked"
    if typo_level(old.core, new.core):
        return "typo-level edit"
    if _link_text_only(old, new) or _link_text_reworded(old.text, new.text):
        return "link text"
    return None


def _marker_rewritten(pair: Pair) -> bool:
    """The lines differ only inside version markers whose values read the same."""
    from monitor.classify.versions import marker_pair, markers

    if not marker_pair(pair.old, pair.new):
        return False
    old, new = markers(pair.old.text), markers(pair.new.text)
    return len(old) == len(new) and all(a.same(b) for a, b in zip(old, new, strict=True))


_GENERIC_LINK_WORDS = frozenset(
    "here this that link page click more read learn see details below above the our".split()
)
_LANGUAGE_SEGMENT = re.compile(r"^[a-z]{2}(?:[-_][a-z]{2,4})?$")


def link_target(url: str) -> str:
    """A link target without what re-exports change: scheme, host, query, language and `docs`
    path segments, case. '/en/docs/x' and 'https://site/docs/en/x' are both 'x'."""
    url, _, fragment = url.lower().partition("#")
    path = url.split("?", 1)[0]
    if "://" in path:
        path = path.split("://", 1)[1].partition("/")[2]
    parts = [
        part
        for part in path.split("/")
        if part and part != "docs" and not _LANGUAGE_SEGMENT.match(part)
    ]
    return "/".join(parts) + (f"#{fragment}" if fragment else "")


def _generic(text: str) -> bool:
    """A link text that names nothing ('here', 'read more') or is the URL itself."""
    words = loose(text).split()
    return not words or all(w in _GENERIC_LINK_WORDS for w in words) or "://" in text


def _only_names(old: str, new: str, target: str) -> bool:
    """Two texts of one link that only name where it goes (one of them shares a word with its
    target's path). A link that gains a status,
    commitment or price word its target's path does not hold ('[Opus](x)' → '[Opus
    (deprecated)](x)'), loses one without another name in its place, or changes a number, says
    something; '[our documentation](/model-deprecations)' → '[Model deprecations](…)' does not."""
    if re.findall(r"\d+", old) != re.findall(r"\d+", new):
        return False
    before, after = set(loose(old).split()), set(loose(new).split())
    added, dropped = after - before, before - after
    path = set(re.split(r"[^a-z0-9]+", target.lower()))

    def telling(words: set[str]) -> set[str]:
        return {w for w in words if p.KEY_TERMS.search(w) or p.RETIRE_WORDS.search(w)}

    if telling(added) - path or not (after | before) & path:
        return False  # a status gained, or a text that does not name the page it points to
    return bool(added) or not telling(dropped)


def _link_text_reworded(old: str, new: str) -> bool:
    """The only change is the text of links that go where they went: made descriptive or
    generic ('[here](/pricing)' ↔ '[the pricing page](/pricing)'), or renamed to the page they
    point to ('in our [search results documentation](x)' → 'in [Search results](x)')."""
    from monitor.classify.entries import _LINK

    a, b = list(_LINK.finditer(old)), list(_LINK.finditer(new))
    if not a or len(a) != len(b):
        return False
    reworded = False
    for x, y in zip(a, b, strict=True):
        if link_target(x.group(2)) != link_target(y.group(2)):
            if _repointed_by_name(x, y):
                reworded = True
                continue
            if not _same_section(x, y):
                return False
        if loose(x.group(1)) != loose(y.group(1)):
            if not (_generic(x.group(1)) or _generic(y.group(1))):
                if not _only_names(x.group(1), y.group(1), y.group(2)):
                    return False
            reworded = True
    if not reworded:
        return False

    def without_links(text: str) -> list[str]:
        words = loose(core(_LINK.sub(lambda m: " \x01 ", text))).split()
        return [w for w in words if w not in _GENERIC_LINK_WORDS and w not in p.FILLER_WORDS]

    return without_links(old) == without_links(new)


def _names_its_page(text: str, url: str) -> bool:
    """The link's text holds every word of the page it points to ('How to implement tool use'
    for …/implement-tool-use)."""
    page = link_target(url).partition("#")[0].rsplit("/", 1)[-1]
    words = {w for w in re.split(r"[^a-z0-9]+", page.lower()) if w}
    return bool(words) and words <= set(loose(text).split())


def _repointed_by_name(old: re.Match[str], new: re.Match[str]) -> bool:
    """A cross-reference moved to another page and renamed after it ('[How to implement tool
    use](…/implement-tool-use)' → '[Handle tool calls](…/handle-tool-calls)'): each text names
    its own target, and no number, model or status word comes or goes."""
    before, after = old.group(1), new.group(1)
    if re.findall(r"\d+", before) != re.findall(r"\d+", after):
        return False
    if {h.id for h in find_models(before)} != {h.id for h in find_models(after)}:
        return False
    added = set(loose(after).split()) - set(loose(before).split())
    if any(p.KEY_TERMS.search(w) or p.RETIRE_WORDS.search(w) for w in added):
        return False
    return _names_its_page(before, old.group(2)) and _names_its_page(after, new.group(2))


def _same_section(old: re.Match[str], new: re.Match[str]) -> bool:
    """Two targets with one section anchor ('…/compliance-content-data#retrieve-local-sessions'
    → '…/compliance-sessions#retrieve-local-sessions'): the section moved to another page. Its
    link still goes where it went when the texts name the same models and numbers."""
    anchor = link_target(old.group(2)).partition("#")[2]
    if not anchor or anchor != link_target(new.group(2)).partition("#")[2]:
        return False
    before, after = old.group(1), new.group(1)
    if re.findall(r"\d+", before) != re.findall(r"\d+", after):
        return False
    return {h.id for h in find_models(before)} == {h.id for h in find_models(after)}


def _link_text_only(old: Line, new: Line) -> bool:
    """A line that is nothing but a link (a button, a nav item) whose text changed."""
    from monitor.classify.entries import _LINK

    a, b = list(_LINK.finditer(old.text)), list(_LINK.finditer(new.text))
    if len(a) != 1 or len(a) != len(b) or a[0].group(2) != b[0].group(2):
        return False
    return not _LINK.sub("", old.text).strip(" -*|") and not _LINK.sub("", new.text).strip(" -*|")


def line_reason(ctx: Context, line: Line, other_text: str) -> str | None:
    """Why an added or removed line is only cosmetic: navigation, a repeated label, metadata."""
    from monitor.classify.entries import _LINK

    if p.SCRAPER_FIELDS.match(line.text):
        return "scraper metadata"
    links = _LINK.findall(line.text)
    rest = normalise(_LINK.sub("", line.text)).strip(" -*|>/·»›")
    if links and not rest and ctx.kind != "index":
        return "navigation links"
    if p.BREADCRUMBS.match(line.text):
        return "breadcrumbs"
    if len(line.core.split()) <= 3 and line.core in other_text and not line.heading:
        return "repeated label"
    if kept_cross_reference(line.text, other_text):
        return "cross-reference kept"
    if line.heading and _title_only(ctx, line):
        return "title"
    return None


def _title_only(ctx: Context, line: Line) -> bool:
    """The document's title (its first heading) came or went while the text below it stayed:
    the export's framing, not the document."""
    if line.heading > 2 or line.trail:
        return False
    if "added_ids" not in ctx.memo:
        ctx.memo["added_ids"] = {id(other) for other in ctx.added}
    added = id(line) in ctx.memo["added_ids"]
    doc, changed = (ctx.new_doc, ctx.added) if added else (ctx.old_doc, ctx.removed)
    if doc.first_heading() is not line:
        return False
    following = doc.after(line.number, 5)
    gone = {id(other) for other in changed}
    return bool(following) and not any(id(other) in gone for other in following)


def split_lines(ctx: Context) -> tuple[frozenset[int], frozenset[int], frozenset[int]]:
    """A line split in two or two lines joined: a changed line that reads as itself plus (or
    less) a neighbouring added or removed line. The changed lines' new numbers, and the added
    and removed lines that only carry the split-off words."""
    if "split_lines" in ctx.memo:
        return ctx.memo["split_lines"]  # type: ignore[no-any-return]
    changed: set[int] = set()
    added: set[int] = set()
    removed: set[int] = set()
    added_at = {line.number: line for line in ctx.added}
    removed_at = {line.number: line for line in ctx.removed}
    for pair in ctx.changed:
        near_added = [added_at.get(pair.new.number + d) for d in range(-3, 4)]
        near_removed = [removed_at.get(pair.old.number + d) for d in range(-3, 4)]
        if not any(near_added) and not any(near_removed):
            continue
        old, new = reading([pair.old.text]), reading([pair.new.text])
        for line in filter(None, near_added):
            if old in _joined(new, reading([line.text])):
                changed.add(pair.new.number)
                added.add(line.number)
        for line in filter(None, near_removed):
            if new in _joined(old, reading([line.text])):
                changed.add(pair.new.number)
                removed.add(line.number)
    ctx.memo["split_lines"] = out = (frozenset(changed), frozenset(added), frozenset(removed))
    return out


def _joined(line: list[str], other: list[str]) -> tuple[list[str], list[str]]:
    return line + other, other + line


def reasons(ctx: Context) -> list[str]:
    """Every cosmetic reason the change shows, for the label's finding."""
    found = []
    if ctx.reformatted or ctx.rewrapped:
        found.append("formatting")
    if ctx.repeated:
        found.append("repeated block")
    if ctx.moved:
        found.append("order")
    for pair in ctx.changed:
        reason = pair_reason(pair)
        if reason is None and function_words_swapped(pair.old.text, pair.new.text):
            reason = "function word swapped"
        found.append(reason or "wording")
    for line in (*ctx.added, *ctx.removed):
        other = ctx.old_text if line in ctx.added else ctx.new_text
        found.append(line_reason(ctx, line, other) or "lines")
    return list(dict.fromkeys(found))


def cosmetic_finding(ctx: Context) -> Finding:
    why = reasons(ctx) or ["whitespace"]
    fragment = ""
    if ctx.changed:
        fragment = ctx.changed[0].new.text
    elif ctx.reformatted:
        fragment = ctx.reformatted[0].new.text
    elif ctx.added:
        fragment = ctx.added[0].text
    return Finding(
        rule="cosmetic." + why[0].replace(" ", "_"),
        label="cosmetic",
        reason=" and ".join(why[:3]) + " only",
        fragment=fragment[:300],
        facts=({"kind": "cosmetic", "summary": ", ".join(why)},),
    )
