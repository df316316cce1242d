"""Two versions' texts → a TextDiff. The only module that imports diff-match-patch; pure.

Lines are diffed first: each distinct line becomes one character (dmp's linesToChars trick)
and only lines present on both sides take part, which keeps the diff exact while making a
heavily rewritten page cheap. Each run of changed lines becomes a Hunk, whose removed and
added lines are then diffed word by word (words, numbers such as ``3.1`` or ``2026-03-31``,
whitespace and punctuation are the tokens) with semantic clean-up.

Results never depend on the machine: dmp runs without its wall-clock timeout, and a
pathological diff is bounded by a count of edit steps instead (see ``_EditBudget``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, cast

from diff_match_patch import diff_match_patch

from monitor.models import DiffStats, Hunk, Segment, TextDiff

DIFF_FORMAT = 1
LINE_STEPS = 500  # edit steps for the line diff of the lines both versions share
WORD_STEPS = 250  # edit steps for one hunk's word diff; past that the hunk is delete + insert

_TOKEN = re.compile(r"\d+(?:[.,:/-]\d+)*|\w+(?:[-.'’]\w+)*|\s+|.", re.DOTALL)
_HEADING = re.compile(r"#{1,6} ")
# Tokens are coded as CJK ideographs: dmp's clean-up then sees every token as one letter.
_FIRST_TOKEN_CODE = 0x4E00
_TOKEN_CODES = 0x9FFF - 0x4E00 + 1
_OPS: dict[int, Literal["equal", "insert", "delete"]] = {0: "equal", 1: "insert", -1: "delete"}
_EMPTY = TextDiff(hunks=(), stats=DiffStats(0, 0, 0, 0, 0), sections=())


class _EditBudget:
    """Passed to dmp as its deadline. dmp tests ``time.time() > deadline`` once per edit step
    of a bisection; counting those tests instead of reading the clock makes an over-budget diff
    fall back to delete + insert identically on every machine."""

    def __init__(self, steps: int) -> None:
        self.left = steps

    def __lt__(self, other: object) -> bool:
        self.left -= 1
        return self.left < 0


def _dmp() -> diff_match_patch:
    dmp = diff_match_patch()
    dmp.Diff_Timeout = 0  # no clock; also turns off dmp's inexact half-match speed-up
    return dmp


def _encode(a: Sequence[str], b: Sequence[str], first: int = 0) -> tuple[str, str, list[str]]:
    """Each distinct item → one character from code point `first` on, so dmp diffs items as
    it diffs characters."""
    codes: dict[str, str] = {}
    items: list[str] = []

    def encode(seq: Sequence[str]) -> str:
        out = []
        for item in seq:
            code = codes.get(item)
            if code is None:
                code = codes[item] = chr(first + len(items))
                items.append(item)
            out.append(code)
        return "".join(out)

    return encode(a), encode(b), items


def _matched_lines(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """Index pairs of the lines a longest common subsequence keeps, in order."""
    chars_a, chars_b, _ = _encode(a, b)
    shared = set(chars_a) & set(chars_b)
    index_a = [i for i, char in enumerate(chars_a) if char in shared]
    index_b = [j for j, char in enumerate(chars_b) if char in shared]
    only_a = "".join(chars_a[i] for i in index_a)
    only_b = "".join(chars_b[j] for j in index_b)
    pairs: list[tuple[int, int]] = []
    pos_a = pos_b = 0
    for op, text in _dmp().diff_main(only_a, only_b, False, _EditBudget(LINE_STEPS)):
        if op == 0:
            run = range(len(text))
            pairs.extend((index_a[pos_a + k], index_b[pos_b + k]) for k in run)
        if op != 1:
            pos_a += len(text)
        if op != -1:
            pos_b += len(text)
    return pairs


def word_segments(old: str, new: str) -> tuple[Segment, ...]:
    """Word-level diff of two texts, semantically cleaned up."""
    if old == new:
        return (Segment("equal", old),) if old else ()
    if not old or not new:
        return (Segment("insert", new),) if new else (Segment("delete", old),)
    tokens_a, tokens_b = _TOKEN.findall(old), _TOKEN.findall(new)
    if len(set(tokens_a) | set(tokens_b)) > _TOKEN_CODES:
        return (Segment("delete", old), Segment("insert", new))
    chars_a, chars_b, tokens = _encode(tokens_a, tokens_b, _FIRST_TOKEN_CODE)
    dmp = _dmp()
    diffs = dmp.diff_main(chars_a, chars_b, False, _EditBudget(WORD_STEPS))
    # Clean up on tokens, so that no edit boundary falls inside a word or number.
    dmp.diff_cleanupSemantic(diffs)
    return tuple(
        Segment(_OPS[op], "".join(tokens[ord(char) - _FIRST_TOKEN_CODE] for char in text))
        for op, text in diffs
        if text
    )


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _headings_before(lines: list[str]) -> list[str | None]:
    """For each position i (0..len), the nearest heading among lines[:i]."""
    nearest: list[str | None] = [None]
    for line in lines:
        nearest.append(line if _HEADING.match(line) else nearest[-1])
    return nearest


def _section(
    removed: list[str], added: list[str], heading: str | None, old_heading: str | None
) -> str | None:
    if added:
        return added[0] if _HEADING.match(added[0]) else heading
    return removed[0] if _HEADING.match(removed[0]) else old_heading


def diff_texts(old: str, new: str) -> TextDiff:
    """Line-level hunks with word-level segments, section headings and counts."""
    if old == new:
        return _EMPTY
    a, b = _lines(old), _lines(new)
    old_headings, new_headings = _headings_before(a), _headings_before(b)
    hunks: list[Hunk] = []
    next_a = next_b = 0
    for i, j in [*_matched_lines(a, b), (len(a), len(b))]:
        if i > next_a or j > next_b:
            removed, added = a[next_a:i], b[next_b:j]
            hunks.append(
                Hunk(
                    section=_section(removed, added, new_headings[next_b], old_headings[next_a]),
                    old_start=next_a + 1,
                    new_start=next_b + 1,
                    removed=tuple(removed),
                    added=tuple(added),
                    segments=word_segments("\n".join(removed), "\n".join(added)),
                )
            )
        next_a, next_b = i + 1, j + 1
    if not hunks:
        return _EMPTY
    return TextDiff(hunks=tuple(hunks), stats=_stats(hunks), sections=_sections(hunks))


def _stats(hunks: Sequence[Hunk]) -> DiffStats:
    segments = [segment for hunk in hunks for segment in hunk.segments]
    return DiffStats(
        lines_added=sum(len(hunk.added) for hunk in hunks),
        lines_removed=sum(len(hunk.removed) for hunk in hunks),
        lines_changed=sum(min(len(hunk.added), len(hunk.removed)) for hunk in hunks),
        chars_added=sum(len(s.text) for s in segments if s.op == "insert"),
        chars_removed=sum(len(s.text) for s in segments if s.op == "delete"),
    )


def _sections(hunks: Iterable[Hunk]) -> tuple[str, ...]:
    """Headings touched: each hunk's section, then headings it adds (or removes), no repeats."""
    touched: dict[str, None] = {}
    for hunk in hunks:
        lines = hunk.added or hunk.removed
        for heading in (hunk.section, *(line for line in lines if _HEADING.match(line))):
            if heading is not None:
                touched.setdefault(heading)
    return tuple(touched)


# --- JSON -----------------------------------------------------------------------------------


def diff_to_json(diff: TextDiff) -> dict[str, Any]:
    """A JSON-ready dict; diff_from_json gives the same TextDiff back."""
    stats = diff.stats
    return {
        "format": DIFF_FORMAT,
        "hunks": [
            {
                "section": hunk.section,
                "old_start": hunk.old_start,
                "new_start": hunk.new_start,
                "removed": list(hunk.removed),
                "added": list(hunk.added),
                "segments": [[segment.op, segment.text] for segment in hunk.segments],
            }
            for hunk in diff.hunks
        ],
        "stats": {
            "lines_added": stats.lines_added,
            "lines_removed": stats.lines_removed,
            "lines_changed": stats.lines_changed,
            "chars_added": stats.chars_added,
            "chars_removed": stats.chars_removed,
        },
        "sections": list(diff.sections),
    }


def diff_from_json(data: Mapping[str, Any]) -> TextDiff:
    """The TextDiff diff_to_json wrote. Raises ValueError on data of another shape."""
    if data.get("format", DIFF_FORMAT) != DIFF_FORMAT:
        raise ValueError(f"diff format {data.get('format')!r} is not {DIFF_FORMAT}")
    try:
        hunks = tuple(
            Hunk(
                section=hunk["section"],
                old_start=int(hunk["old_start"]),
                new_start=int(hunk["new_start"]),
                removed=tuple(hunk["removed"]),
                added=tuple(hunk["added"]),
                segments=tuple(_segment(op, text) for op, text in hunk["segments"]),
            )
            for hunk in data["hunks"]
        )
        stats = DiffStats(**{key: int(value) for key, value in data["stats"].items()})
        return TextDiff(hunks=hunks, stats=stats, sections=tuple(data["sections"]))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a diff written by diff_to_json: {exc!r}") from None


def _segment(op: str, text: str) -> Segment:
    if op not in ("equal", "insert", "delete"):
        raise ValueError(f"unknown segment op {op!r}")
    return Segment(cast(Literal["equal", "insert", "delete"], op), text)
