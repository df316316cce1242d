"""Model ids and model names in prose, normalised to the ids providers use.

"GPT-4o" → gpt-4o, "Claude 3 Opus" → claude-3-opus, "Claude Haiku 3.5" → claude-3-5-haiku,
"Claude Opus 4.5" → claude-opus-4-5, "Claude Mythos Preview" → claude-mythos-preview,
"Gemini 3.1 Flash Image Preview" → gemini-3.1-flash-image-preview. A prose name followed by its id ("Claude Opus 3 model
(`claude-3-opus-20240229`)") counts once, as the id.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache

from monitor import patterns as p
from monitor.classify.context import Context
from monitor.classify.dates import find_dates
from monitor.classify.text import normalise

_PREFIXES = "|".join(
    re.escape(prefix) for prefix in sorted(p.MODEL_FAMILIES, key=len, reverse=True)
)
# An id that starts with a known family prefix (after an optional "xai/"-style host prefix).
_FAMILY_ID = re.compile(
    r"(?<![\w.:/@-])(?P<id>(?:[a-z]+/)?(?P<family>"
    + _PREFIXES
    + r")[a-z0-9]*(?:[-.:@/][a-z0-9]+)*)"
    r"(?![\w@-])"
)
_CAPITAL = re.compile(r"[A-Z]")
_FAMILY_START = re.compile(r"^(?:[a-z]+/)?(?P<family>" + _PREFIXES + ")")


@dataclass(frozen=True)
class ModelHit:
    id: str
    start: int
    end: int
    provider: str | None
    prose: bool  # written as a name, not as an id


_SEGMENT = re.compile(r"(?=([a-z][a-z0-9]{2,}-))")
# a segment found again further on: without one, `unglue` has nothing to split at (most ids);
# asked of tokens up to `_SHORT` characters (its backtracking grows with the square of a length)
_SEGMENT_AGAIN = re.compile(r"([a-z][a-z0-9]{2,}-).*\1")
_SHORT = 200
MIN_PART = 6


def unglue(token: str) -> list[tuple[str, int]]:
    """Ids a scraper ran together with no separator, each with its offset in `token`:
    "veo-3.0-fast-generate-previewveo-3.0-generate-preview" → two veo ids. A first segment
    ("veo-", "c4ai-") that recurs glued to the end of the id before it marks where each id
    starts; the longest such segment splits first. A token without one is one id."""
    if len(token) < 2 * MIN_PART or len(token) <= _SHORT and not _SEGMENT_AGAIN.search(token):
        return [(token, 0)]
    counts: dict[str, list[int]] = {}
    for m in _SEGMENT.finditer(token):
        counts.setdefault(m.group(1), []).append(m.start())

    def before(at: int) -> str:
        return token[at - 1] if at and token[at - 1].isalnum() else ""

    def starts_ids(segment: str, at: list[int]) -> bool:
        """The segment starts an id: it stands alone once, or, glued each time, it opens the
        same two segments each time ("c4ai-aya-"); "ive-" inside "live-2.5" and "native-audio"
        is inside words."""
        if not all(before(i) for i in at):
            return True
        return len({token[i + len(segment) :].split("-", 1)[0] for i in at}) == 1

    # a segment recurring with different characters before it (not the tail of a longer one),
    # glued at least once to the end of a previous id
    repeated = [
        seg
        for seg, at in counts.items()
        if len(at) >= 2
        and len({before(i) for i in at}) >= 2
        and any(before(i) for i in at)
        and starts_ids(seg, at)
    ]
    for segment in sorted(repeated, key=len, reverse=True):
        cuts = [0, *(at for at in counts[segment] if before(at)), len(token)]
        parts = [(token[a:b].rstrip(".-"), a) for a, b in zip(cuts, cuts[1:], strict=False)]
        if all(len(part) >= MIN_PART for part, _ in parts):
            return [
                (piece, at + inner)
                for part, at in parts
                for piece, inner in (unglue(part) if at else [(part, 0)])
            ]
    return [(token, 0)]


def provider_of(model_id: str) -> str | None:
    match = _FAMILY_START.match(model_id)
    return p.MODEL_FAMILIES[match.group("family")] if match else None


def is_model_id(candidate: str) -> bool:
    if p.NOT_MODELS.search(candidate):
        return False
    if candidate.startswith(p.NEEDS_DIGIT) and not any(ch.isdigit() for ch in candidate):
        return False  # "claude-code", "gemini-cli": products, not models
    return provider_of(candidate) is not None


def _dashed(version: str) -> str:
    return version.replace(".", "-")


def _claude(m: re.Match[str]) -> str:
    suffix = f"-{m.group('suffix')}" if m.group("suffix") else ""
    if m.group("ver1"):
        return f"claude-{_dashed(m.group('ver1'))}-{m.group('fam1').lower()}{suffix}"
    if m.group("fam2"):
        return _claude_family(m.group("fam2").lower(), m.group("ver2"), suffix)
    if m.group("fam4"):  # a tier released as a preview before it has a version number
        return f"claude-{m.group('fam4').lower()}-preview{suffix}"
    version = m.group("ver3")
    return f"claude-{'2.0' if version == '2' else version}{suffix}"


def _claude_family(family: str, version: str, suffix: str = "") -> str:
    if family == "instant":
        return f"claude-instant-{version}{suffix}"
    if float(version) < 4:
        return f"claude-{_dashed(version)}-{family}{suffix}"
    return f"claude-{family}-{_dashed(version)}{suffix}"


def _joined(*parts: str | None) -> str:
    return "-".join(part.strip().lower().replace(" ", "-") for part in parts if part)


def _prose_id(kind: str, m: re.Match[str]) -> str:
    if kind == "claude":
        return _claude(m)
    if kind == "gpt":
        return _joined("gpt-" + m.group("ver").lower(), m.group("size"))
    if kind == "o_series":
        return m.group("id")
    if kind in ("gemini", "gemini_more"):
        return _joined("gemini-" + m.group("ver"), m.group("fam"))
    if kind == "llama":
        return _joined("llama-" + m.group("ver"), m.group("size"), m.group("kind"))
    if kind == "mistral":
        return _joined(m.group("fam"), m.group("size"), m.group("ver"))
    if kind == "grok":
        return _joined("grok-" + m.group("ver"), m.group("size"))
    if kind == "nova":
        return _joined("nova", m.group("ver"), m.group("size"))
    return _joined("deepseek", m.group("ver"))


# The prose patterns searched without their leading `\b`, which keeps the regex engine from
# jumping to the brand word (a 2 MB text is scanned in under a millisecond instead of ~30 ms
# per pattern); the boundary is checked on each match instead.
_PROSE_SEARCH = {
    kind: re.compile(pattern.pattern.removeprefix(r"\b"), pattern.flags)
    for kind, pattern in p.PROSE_NAMES.items()
    if kind not in ("gemini_more", "claude_more")
}
_WORD_CHAR = re.compile(r"\w")
# A pattern that opens with an optional word ("Amazon Nova") still scans every position: it
# is tried only where the word every match holds is in the text.
_PROSE_WORD = {"nova": "Nova"}
# every o-series id holds "o" and a digit; without one the (lookbehind-first, ~30 ms on 2 MB)
# O_SERIES scan is skipped
_O_DIGIT = re.compile(r"o[1-9]")


# words a display name goes on with, joined by hyphens ("GPT-5.1-Codex-Max")
_JOINED = re.compile(r"(?:-[A-Z0-9][A-Za-z0-9]*(?:\.[0-9]+)*)+(?![\w-])")


def _prose_hits(text: str) -> list[ModelHit]:
    if not _CAPITAL.search(text):
        return []  # every prose name starts with a capital ("Claude", "GPT", "Gemini" …)
    hits = []
    for kind, pattern in _PROSE_SEARCH.items():
        if kind in _PROSE_WORD and _PROSE_WORD[kind] not in text:
            continue
        for m in pattern.finditer(text):
            if m.start() and _WORD_CHAR.match(text, m.start() - 1):
                continue  # the leading word boundary the search pattern leaves out
            joined = _JOINED.match(text, m.end())  # "GPT-5.1-Codex": the name goes on
            model = _prose_id(kind, m)
            if joined:
                model = "-".join([model, *joined.group(0).lower().split("-")[1:]])
            end = joined.end() if joined else m.end()
            hits.append(ModelHit(model, m.start(), end, p.PROSE_PROVIDER[kind], True))
            if kind == "claude":
                end = m.end()
                while more := p.PROSE_NAMES["claude_more"].match(
                    text, end, min(len(text), end + 80)
                ):
                    model = _claude_family(more.group("fam2").lower(), more.group("ver2"))
                    hits.append(ModelHit(model, more.start("fam2"), more.end(), "anthropic", True))
                    end = more.end()
            if kind == "gemini":
                end = m.end()
                while more := p.PROSE_NAMES["gemini_more"].match(
                    text, end, min(len(text), end + 60)
                ):
                    hits.append(
                        ModelHit(_prose_id("gemini_more", more), end, more.end(), "google", True)
                    )
                    end = more.end()
    return hits


@lru_cache(maxsize=8)  # a text read again (another change against it) is not scanned again
def prose_ids(text: str) -> frozenset[str]:
    """The ids of the prose names in `text` (normalised). Every other id `find_models` reads is
    written in the normalised text as it is: an id neither written nor among these is not one
    `find_models` reads, which says so without reading the text's ids."""
    return frozenset(hit.id for hit in _prose_hits(text))


def _overlaps(starts: list[int], hits: list[ModelHit], start: int, end: int) -> bool:
    """Whether [start, end) overlaps one of `hits` (sorted by start, not overlapping)."""
    index = bisect_right(starts, start) - 1
    for hit in hits[max(0, index) : index + 2]:
        if hit.start < end and start < hit.end:
            return True
    return False


_CHUNKED = 20_000  # a text this long is read in runs of lines


def _chunks(text: str) -> list[tuple[int, str]]:
    """`text` as runs of whole lines with their offsets, each run ending after a line whose
    hash is a multiple of 8 (a blank line's is 0): where a run ends depends only on its own
    lines, so the old and the new text of a change cut their shared lines into the same runs,
    whatever the page's lines look like (about eight lines a run)."""
    if len(text) < _CHUNKED:
        return [(0, text)]
    out = []
    start = end = 0
    for line in text.split("\n"):
        end += len(line) + 1
        if not hash(line) & 7:
            out.append((start, text[start : end - 1]))
            start = end
    if start < len(text) or not out:
        out.append((start, text[start:]))
    return out


@lru_cache(maxsize=16_384)
def _family_ids(chunk: str) -> tuple[tuple[str, int, str | None], ...]:
    """(id, offset, provider) of each id with a family prefix in `chunk` (whole lines): what
    `_FAMILY_ID` finds in a whole text, read a run of lines at a time (no match holds a line
    break, and a line break before or after one passes its look-behind and look-ahead as the
    text's ends do). Cached: the old and the new text of a change share most of their lines."""
    out = []
    for m in _FAMILY_ID.finditer(chunk):
        for candidate, offset in unglue(m.group("id").rstrip(".:")):
            if ("-" in candidate or "." in candidate or "/" in candidate) and is_model_id(
                candidate
            ):
                out.append((candidate, m.start() + offset, provider_of(candidate)))
    return tuple(out)


@lru_cache(maxsize=8192)
def find_models(text: str) -> tuple[ModelHit, ...]:
    """Every model named in `text`, in order of appearance."""
    text = normalise(text)
    ids: list[ModelHit] = []
    for chunk_start, chunk in _chunks(text):
        for candidate, offset, provider in _family_ids(chunk):
            start = chunk_start + offset
            ids.append(ModelHit(candidate, start, start + len(candidate), provider, False))
    starts = [hit.start for hit in ids]
    more = [
        ModelHit(m.group("id"), m.start(), m.end(), "openai", False)
        for m in (p.O_SERIES.finditer(text) if _O_DIGIT.search(text) else ())
        if not _overlaps(starts, ids, m.start(), m.end())
    ]
    hits = sorted(ids + more, key=lambda hit: hit.start)
    starts = [hit.start for hit in hits]
    prose = []
    for hit in _prose_hits(text):
        if _overlaps(starts, hits, hit.start, hit.end):
            continue
        # "Claude Opus 3 model (`claude-3-opus-20240229`)": the id that follows wins
        index = bisect_left(starts, hit.end)
        follows = [
            h
            for h in hits[index : index + 2]
            if h.start - hit.end <= 40 and _same_model(hit.id, h.id)
        ]
        if not follows:
            prose.append(hit)
    return tuple(sorted(hits + prose, key=lambda hit: hit.start))


def _same_model(prose_id: str, model_id: str) -> bool:
    bare = p.ID_PREFIX.sub("", model_id.split("@")[0])
    return bare.startswith(prose_id)


def old_model_ids(ctx: Context) -> frozenset[str]:
    """Every model the old text names, computed once per context."""
    if "old_models" not in ctx.memo:
        ctx.memo["old_models"] = frozenset(model_ids(ctx.old_text))
    return ctx.memo["old_models"]  # type: ignore[no-any-return]


def model_ids(text: str) -> list[str]:
    """The distinct model ids named in `text`, in order of first appearance."""
    return list(dict.fromkeys(hit.id for hit in find_models(text)))


def same_model(a: str, b: str) -> bool:
    """Two ids name the same model: equal, or one is the other with a date or version suffix."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return long.startswith(short) and bool(SUFFIX.match(long, len(short)))


SUFFIX = re.compile(r"[-@](?:\d{4}|\d{8}|v\d|latest)")  # a date or version after an id


def name_as_id(name: str) -> str | None:
    """A model's written name as an id when no family is known: "Sable Video" → sable-video,
    "Jamba 1.5 Large" → jamba-1.5-large. None for what cannot be a name (a sentence, a mark)."""
    text = normalise(name).strip(" *_`'\"")
    plus = "+" if text.endswith("+") else ""  # "Command R+" is another model than "Command R"
    text = text.rstrip("+ ") if plus else text
    if not p.MODEL_CELL.match(text) or len(text.split()) > 5:
        return None
    slug = re.sub(r"[^a-z0-9.:/@]+", "-", text.lower()).strip("-.") + plus
    return slug if any(ch.isalpha() for ch in slug) and len(slug) >= 2 else None


# a family's prefix after a letter: led by the letter, the search skips ahead to letters
_INNER_FAMILY = re.compile(r"[a-z](?:" + _PREFIXES + ")")


def _glued_to_words(candidate: str) -> bool:
    """A known family's id run into the words around it ("usinggpt-4o-…of", "thegpt-4.5-
    previewmodel"): scraped prose that lost its spaces, not an id of another family."""
    return not _FAMILY_START.match(candidate) and _INNER_FAMILY.search(candidate) is not None


def unknown_ids(text: str) -> list[str]:
    """Id-shaped tokens of any family ("quill-lite-2", "text-moderation-007"), in order."""
    out = []
    for m in p.UNKNOWN_ID.finditer(normalise(text)):
        for candidate, _ in unglue(m.group("id").rstrip(".:")):
            if not any(ch.isdigit() for ch in candidate):
                continue
            if p.NOT_UNKNOWN_IDS.match(candidate) or p.NOT_MODELS.search(candidate):
                continue
            if p.REGION_ID.match(candidate) or _glued_to_words(candidate):
                continue
            out.append(candidate)
    return list(dict.fromkeys(out))


_RESOURCE = re.compile(r"^(?:[\w.-]+/)*models/(?=\S)")


def _resource_id(cell: str) -> str:
    return _RESOURCE.sub("", cell) if "models/" in cell else cell  # most cells name no resource


def cell_models(cells: dict[str, str], *, names: bool) -> list[str]:
    """The models a table row or record names, by its model columns: ids written as ids first
    (a name column beside an "API Endpoints" column), then names a recogniser reads, then
    id-shaped tokens of any family, then, when `names`, the model cell itself as a name."""
    return list(_cell_models(cells.get("model", ""), cells.get("model_id", ""), names))


@lru_cache(maxsize=16_384)  # the rules read one row's models several times
def _cell_models(model_cell: str, model_id_cell: str, names: bool) -> tuple[str, ...]:
    # a resource name keeps its id last: "models/gemini-1.5-pro-002" names gemini-1.5-pro-002
    written = [_resource_id(linked_text(cell).strip()) for cell in (model_cell, model_id_cell)]
    if any(_opens_with_date(cell) for cell in written):
        return ()  # "January 30, 2026 (us-gov-east-1 … Regions)": a schedule, not a model
    hits = [hit for cell in written for hit in find_models(cell)]
    found = [hit.id for hit in hits if not hit.prose] or [hit.id for hit in hits]
    tokens = [normalise(cell).strip().lower() for cell in written]
    tokens = [token for token in tokens if p.MODEL_ID.fullmatch(token)]
    if found and tokens and not any(not hit.prose for hit in hits):
        found = tokens[:1]  # a cell that is one id ("DeepSeek-V4-Flash"), not a name inside it
    if not found:  # an id column holds ids whatever their shape; a name column needs a digit
        found = [
            part
            for m in p.MODEL_ID.finditer(normalise(written[1]))
            for part, _ in unglue(m.group("id"))
        ]
        found = found or unknown_ids(written[0])
    if not found and names:
        bare = [_DASH_VERSION.sub("", cell) for cell in written]  # the name, then its version
        slug = name_as_id(bare[0]) or name_as_id(bare[1])
        found = [slug] if slug else []
    return tuple(dict.fromkeys(_versioned(model, written) for model in found))


# every date opens with a digit or a month's name
_DATE_OPENING = re.compile(r"\d|" + p.MONTH_NAME, re.I)


def _opens_with_date(cell: str) -> bool:
    """A model cell that is a date with what follows it: a schedule line a scraper took for a
    model ("January 30, 2026 (us-gov-east-1 and us-gov-west-1 Regions)")."""
    if not _DATE_OPENING.match(cell):
        return False
    found = find_dates(cell[:40])
    return bool(found) and found[0].start == 0


_PAREN_VERSION = re.compile(r"\s*\(\s*(\d{4}(?:-\d{2}-\d{2})?)\s*\)")
# "`gpt-35-turbo` - 0301", "`gpt-4`<br>`gpt-4-32k` - 0613": a version after a dash ends the cell
_DASH_VERSION = re.compile(r"\s+-\s+`?(\d[\w.-]*)`?\s*$")
# a cell that links its model's name ("[Mistral-large-2407](https://…)"): the name a reader sees
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def linked_text(cell: str) -> str:
    """A cell's links read as the text a reader sees."""
    return _LINK.sub(r"\1", cell) if "[" in cell else cell  # most cells link nothing


def _versioned(model: str, cells: list[str]) -> str:
    """ "gpt-4o (2024-05-13)" in a model cell: the snapshot in brackets is part of the id."""
    for cell in cells:
        at = normalise(cell).lower().find(model)
        found = _PAREN_VERSION.match(normalise(cell).lower(), at + len(model)) if at >= 0 else None
        if found:
            return f"{model}-{found.group(1)}"
    for cell in cells:
        dashed = _DASH_VERSION.search(cell)
        if dashed and model in normalise(cell[: dashed.start()]).lower():
            return f"{model}-{dashed.group(1).lower()}"
    return model


def ids_written(texts: list[str]) -> set[str]:
    """The ids `texts` write as ids (not read from a display name)."""
    return {hit.id for text in texts for hit in find_models(text) if not hit.prose}


def as_written(models: list[str], texts: list[str], written: set[str] | None = None) -> list[str]:
    """Each model read from a display name ("GPT-4.5 Preview" → gpt-4.5) as the one id the
    `texts` write that extends it (`gpt-4.5-preview`): an id as written beats a name read.
    `written`: `ids_written(texts)`, when the caller keeps it for several questions."""
    written = ids_written(texts) if written is None else written
    out = []
    for model in models:
        longer = [w for w in written if w.startswith(model + "-")]
        out.append(longer[0] if len(longer) == 1 and model not in written else model)
    return list(dict.fromkeys(out))
