"""Text helpers the rules share: a line's words without its formatting, sentences, likeness.

`core` strips what a reader does not read aloud (list markers, heading marks, emphasis, link
targets, tags, escapes, emoji); `normalise` folds hyphen, quote and space variants one for one,
so offsets found in normalised text hold in the stored text."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import lru_cache

from monitor import patterns as p

_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|$<>~])")
_IMAGE = re.compile(r"!\[([^\]\n]{0,500})\]\([^)\s]{0,2000}\)")
_LINK = re.compile(r"\[([^\]\n]{0,500})\]\((?:[^()\s]|\([^()\s]{0,200}\)){0,2000}\)")
_TAG = re.compile(r"<[^<>\n]{0,300}>")
_MARKERS = re.compile(r"^(?:[#>]+\s*|[-*+]\s+|[•●◦▪]\s*|\d{1,3}[.)]\s+)+")
_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)|`")
_SYMBOLS = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200b-\u200d]")
_SPACE_PUNCT = re.compile(r"\s+([,.;:!?)\]])")
_SPACES = re.compile(r"\s+")
_TRANSLATE = str.maketrans(
    {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
     "\u00a0": " ", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}
)  # fmt: skip
_WORD = re.compile(r"\w[\w'.@/:+-]*\w|\w|[^\w\s]")


def normalise(text: str) -> str:
    """Hyphen, quote and space variants folded, so patterns see one form. Keeps offsets."""
    return text.translate(_TRANSLATE)


def core(line: str) -> str:
    """The words of a line without its formatting: what a reader would read aloud."""
    text = _ESCAPE.sub(r"\1", normalise(line).strip())
    text = _LINK.sub(r"\1", _IMAGE.sub(r"\1", text))
    text = _TAG.sub(" ", text)
    text = _MARKERS.sub("", text.strip())
    text = _SYMBOLS.sub("", _EMPHASIS.sub("", text))
    text = _SPACE_PUNCT.sub(r"\1", _SPACES.sub(" ", text))
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


def similarity(a: str, b: str, threshold: float = 0.5) -> float:
    """Word-level likeness, 0–1; 0 as soon as it cannot reach `threshold`."""
    left, right = words(a), words(b)
    matcher = SequenceMatcher(None, left, right, autojunk=False)
    if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
        return 0.0
    return matcher.ratio()
