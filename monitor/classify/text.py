"""Text helpers the rules share: a line's words without its formatting, sentences, likeness.

`core` strips what a reader does not read aloud (list markers, heading marks, emphasis, link
targets, tags, escapes, emoji); `normalise` folds hyphen, quote and space variants one for one,
so offsets found in normalised text hold in the stored text."""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections.abc import Sequence
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import accumulate
from os.path import commonprefix

from monitor import patterns as p

_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|$<>~])")
_IMAGE = re.compile(r"!\[([^\[\]\n]{0,300}+)\]\([^()\s]{0,2000}+\)")
_LINK = re.compile(r"\[([^\[\]\n]{0,300}+)\]\((?:[^()\s]++|\([^()\s]{0,200}+\)){0,20}+\)")
_TAG = re.compile(r"<[^<>\n]{0,300}>")
_ENTITY = re.compile(r"&(?:[A-Za-z]{2,8}|#[0-9]{1,6}|#[xX][0-9A-Fa-f]{1,5});")
_AUTOLINK = re.compile(r"<((?:https?://|mailto:)[^<>\s]{1,2000})>")
_MARKERS = re.compile(r"^(?:[#>]+\s*|[-*+]\s+|[•●◦▪]\s*|\d{1,3}[.)]\s+)+")
_GLUED_CODE = re.compile(r"(`[^`\s][^`]{0,200}`)(?=\w)")
_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`")
_SYMBOLS = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200b-\u200d]")
_SPACE_PUNCT = re.compile(r"\s+([,.;:!?)\]])")
_SPACES = re.compile(r"\s+")
_MARKER_STARTS = frozenset("#>-*+•●◦▪")
_SPACE_BEFORE_PUNCT = re.compile(r" [,.;:!?)\]]")
_TRANSLATE = str.maketrans(
    {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
     "\u00a0": " ", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}
)  # fmt: skip
MAX_ALIGN = 4_000_000  # words × words: past this, lines are not aligned word by word
_WORD = re.compile(r"\w[\w'.@/:+-]*\w|\w|[^\w\s]")


# The characters an IGNORECASE pattern matches to an ASCII letter whose `lower()` is not that
# letter: "İ" and "ı" match "i", "ſ" matches "s" (tests/test_reading.py checks every one).
_FOLD_TO_ASCII = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


def _folded(text: str) -> str:
    """`text` lower case, with the letters an IGNORECASE pattern reads as ASCII ones made so."""
    return text.lower() if text.isascii() else text.translate(_FOLD_TO_ASCII).lower()


def holds_any(text: str, words: Sequence[str]) -> bool:
    """Whether `text` holds one of `words` (lower case) as a pattern compiled with re.I would
    find it: False says no such pattern, whose every match holds one of them, can match. One
    string search per word, where a pattern starting with `\\b` is tried at every position."""
    folded = _folded(text)
    return any(word in folded for word in words)


def lines_holding(texts: Sequence[str], words: Sequence[str]) -> set[int]:
    """Indexes of the `texts` (each one line) that hold one of `words`, as `holds_any` says."""
    folded = _folded("\n".join(texts))
    starts = list(accumulate((len(text) + 1 for text in texts), initial=0))
    if len(folded) != starts[-1] - 1:  # a lower case longer than its letter: no offsets
        return {index for index, text in enumerate(texts) if holds_any(text, words)}
    found: set[int] = set()
    for prefix, group in _prefix_groups(tuple(words)):
        at = folded.find(prefix)
        while at != -1:
            if len(group) > 1 and not any(folded.startswith(word, at) for word in group):
                at = folded.find(prefix, at + 1)
                continue
            index = bisect_right(starts, at) - 1
            found.add(index)
            at = folded.find(prefix, starts[index + 1])
    return found


SHARED_PREFIX = 4  # characters two words share, at least, to be searched for once


@lru_cache(maxsize=64)
def _prefix_groups(words: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`words` as (prefix, the words that start with it): one search of a large text per prefix
    ("end of life" and "end of support" share "end of"), not one per word."""
    groups: list[tuple[str, tuple[str, ...]]] = []
    for word in sorted(set(words)):
        shared = commonprefix([groups[-1][0], word]) if groups else ""
        if len(shared) >= SHARED_PREFIX:
            groups[-1] = (shared, (*groups[-1][1], word))
        else:
            groups.append((word, (word,)))
    return tuple(groups)


def found_near(pattern: re.Pattern[str], text: str, words: Sequence[str], width: int) -> bool:
    """`bool(pattern.search(text))` for a pattern whose every match holds one of `words` (as
    `holds_any` finds them) and is at most `width` long: tried only around each word. A match
    holding a word at `at` lies inside [at - width, at + width); the first match the search
    finds there starts no later, so ends before the window does, and one that ends before it
    is a match of the whole text (the search sees the characters before the window)."""
    folded = _folded(text)
    if len(folded) != len(text):  # a lower case longer than its letter: no offsets
        return bool(pattern.search(text))
    for word in words:
        at = folded.find(word)
        while at != -1:
            end = min(len(text), at + len(word) + width)
            match = pattern.search(text, max(0, at - width), end)
            if match and (match.end() < end or end == len(text)):
                return True
            at = folded.find(word, at + 1)
    return False


def normalise(text: str) -> str:
    """Hyphen, quote and space variants folded, so patterns see one form. Keeps offsets."""
    return text if text.isascii() else text.translate(_TRANSLATE)


def squeezed(text: str) -> str:
    r"""`_SPACES.sub(" ", text)`: each run of whitespace one space. `str.split` reads as
    whitespace the characters `\s` matches, and splits a padded table row several times
    faster than the pattern replaces its runs."""
    inner = " ".join(text.split())
    if not inner:
        return " " if text else ""
    return (" " if text[0].isspace() else "") + inner + (" " if text[-1].isspace() else "")


def _unescaped(match: re.Match[str]) -> str:
    return html.unescape(match.group(0))


@lru_cache(maxsize=65_536)
def core(line: str) -> str:
    """The words of a line without its formatting: what a reader would read aloud. Cached: the
    old and the new text of a change share most of their lines."""
    # Each substitution runs only when the text holds the characters every match needs.
    text = normalise(line).strip()
    if "\\" in text:
        text = _ESCAPE.sub(r"\1", text)
    if "![" in text:
        text = _IMAGE.sub(r"\1", text)
    if "](" in text:
        text = _LINK.sub(r"\1", text)
    if "<" in text:
        text = _TAG.sub(" ", _AUTOLINK.sub(r"\1", text))
    if "&" in text:  # an HTML export writes "&amp;" where the Markdown wrote "&"
        text = _ENTITY.sub(_unescaped, text)
    text = text.strip()
    if text[:1] in _MARKER_STARTS or text[:1].isdigit():
        text = _MARKERS.sub("", text)
    if "`" in text:  # a code span glued to the word after it ("`gpt-4`0613") ends a word
        text = _GLUED_CODE.sub(r"\1 ", text)
    if "*" in text or "_" in text or "`" in text:
        text = _EMPHASIS.sub("", text)
    if not text.isascii():
        text = _SYMBOLS.sub("", text)
    if "  " in text or not text.isprintable():
        text = squeezed(text)
    if _SPACE_BEFORE_PUNCT.search(text):  # every space is a single space here
        text = _SPACE_PUNCT.sub(r"\1", text)
    return text.strip(" |") if text.startswith("|") and text.count("|") == 1 else text.strip()


def loose(text: str) -> str:
    """`core` without case and without punctuation that is not inside a word."""
    return _SPACES.sub(
        " ", re.sub(r"(?<![\w])[^\w\s]+|[^\w\s]+(?![\w])", " ", text.lower())
    ).strip()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: a stop followed by space and a capital ends one."""
    spans, start = [], 0
    for match in p.SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def sentences(text: str) -> list[str]:
    return [text[a:b].strip() for a, b in sentence_spans(text)]


@lru_cache(maxsize=4096)
def words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text))


def too_long(a: Sequence[str], b: Sequence[str]) -> bool:
    """Word sequences too long to align (alignment is quadratic in the worst case)."""
    return len(a) * len(b) > MAX_ALIGN


def opcodes(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, int, int, int, int]] | None:
    """The word-level edit script from `a` to `b`, or None when they are too long to align."""
    if too_long(a, b):
        return None
    script: list[tuple[str, int, int, int, int]] = list(
        SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    )
    return script


def similarity(a: str, b: str, threshold: float = 0.5) -> float:
    """Word-level likeness, 0–1; 0 as soon as it cannot reach `threshold`. Very long lines are
    compared by their words' counts only."""
    left, right = words(a), words(b)
    matcher = SequenceMatcher(None, left, right, autojunk=False)
    if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
        return 0.0
    return matcher.quick_ratio() if too_long(left, right) else matcher.ratio()


_CALLOUT = re.compile(
    r"^(?:\[!)?(?:note|tip|info|warning|important|caution|danger|callout)\]?\s*:?\s+", re.I
)


_BARE_URL = re.compile(r"\(?\b(?:https?://|www\.)[^\s()<>]{1,2000}\)?")
_PLACEHOLDER = re.compile(r"\[(?:TODO|FIXME)\b[^\[\]\n]{0,100}\]|\b(?:TODO|FIXME):")


def _address(match: re.Match[str]) -> str:
    """A bare URL as the words of its path, in any order and without host or locale: moving
    /en/docs/x to /docs/en/x reads the same, pointing at policy-v3.1.pdf instead of v3.0 does not.
    A URL in parentheses is a link's target written without its brackets: not read."""
    if match.group(0).startswith("("):
        return " "
    path = re.sub(r"^(?:https?://)?[^/]*", "", match.group(0)).lower()
    parts = sorted(
        part
        for part in re.findall(r"[a-z0-9]+(?:\.[0-9]+)*", path)
        if len(part) > 2 or any(ch.isdigit() for ch in part)
    )
    return f" urlpath{'_'.join(parts)} " if parts else " "


def reading(lines: Sequence[str]) -> list[str]:
    """The words a reader sees in `lines`, whatever their wrapping or markup: link targets,
    tags, list and quote markers, emphasis, a callout's label ("Note:") and authoring
    placeholders ("[TODO add link]") left out; a bare URL reads as the words of its path."""
    out: list[str] = []
    for line in lines:
        text = _CALLOUT.sub("", core(_PLACEHOLDER.sub(" ", line)))
        out += loose(_BARE_URL.sub(_address, text)).split()
    return out


# "See [Consumption options](…) for more information.": a line that only points to another page
_CROSS_REFERENCE = re.compile(
    r"^\s*(?:[-*]\s+)?(?:see|for (?:more )?(?:information|details),? see|learn more (?:about|in|at))"
    r"\s+\[[^\]\n]+\]\(([^)\s]+)\)\s*(?:for (?:more )?(?:information|details))?\s*\.?\s*$",
    re.I,
)


def kept_cross_reference(line: str, other_text: str) -> bool:
    """`line` only points the reader to another page ("See [X](url) for more information.")
    and the other text still links to that page: the pointer went or came, the page did not."""
    match = _CROSS_REFERENCE.match(line)
    return bool(match) and f"]({match.group(1)})" in other_text  # type: ignore[union-attr]
