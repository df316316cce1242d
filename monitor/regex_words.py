"""The literal words every match of a regex holds, read from the regex itself.

A rule that searches a long text for a pattern of many alternatives first asks whether the
text holds any of the words every match needs (`classify.text.holds_any`): one string search
per word instead of the pattern tried at every position. Read from the parsed pattern, the
words cannot fall out of step with it: an alternative that holds no literal word makes
`words_every_match_holds` raise, so the pattern is rewritten rather than the search skipped
wrongly. Pure, standard library only (the parser `re.compile` itself uses).
"""

from __future__ import annotations

import re
from itertools import product
from re import _constants as c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]

_MAX_STRINGS = 32  # the most strings a run of fixed characters is expanded to
_MAX_CLASS = 4  # the most characters a class may hold to be expanded
_GOOD_LENGTH = 8  # words of this many letters are selective enough: else the longest win
_ZERO_WIDTH = (c.AT, c.ASSERT, c.ASSERT_NOT)
_GROUPS = (c.SUBPATTERN, getattr(c, "ATOMIC_GROUP", c.SUBPATTERN))
_REPEATS = (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT))

Words = frozenset[str]
_EXACT: dict[int, Words | None] = {}
TYPE_CHECKING = False
if TYPE_CHECKING:  # no import of `typing` at start-up: this module is read by every check
    from typing import Any


def words_every_match_holds(pattern: re.Pattern[str]) -> tuple[str, ...]:
    """Lower-case words such that every match of `pattern` holds at least one of them (as
    `text.lower()` would show it). Raises ValueError naming the pattern when some match
    need hold no literal word of three letters (or one non-ASCII character or more)."""
    parsed = _parser.parse(pattern.pattern, pattern.flags)
    try:
        found = _holds(list(parsed))
    finally:
        _EXACT.clear()  # keyed by the parsed nodes' ids: valid while `parsed` lives
    if not found or any(len(word) < 3 and word.isascii() for word in found):
        raise ValueError(
            f"a match of {pattern.pattern[:60]!r}… need hold no literal word of three letters"
        )
    return tuple(sorted(found))


def longest_match(pattern: re.Pattern[str]) -> int:
    """The most characters one match of `pattern` can span (ValueError if unbounded)."""
    width: int = _parser.parse(pattern.pattern, pattern.flags).getwidth()[1]
    if width >= c.MAXREPEAT:
        raise ValueError(f"a match of {pattern.pattern[:60]!r}… has no longest length")
    return width


def _minimal(words: set[str] | Words) -> Words:
    """`words` without any that holds a shorter one of them (a text holding it holds that)."""
    ordered = sorted(words, key=len)
    kept: list[str] = []
    for word in ordered:
        if not any(shorter in word for shorter in kept):
            kept.append(word)
    return frozenset(kept)


def _rank(words: Words) -> tuple[int, int]:
    """Fewest words whose shortest has the most letters (up to `_GOOD_LENGTH`) first: every
    word is one string search, and a short one is found in almost every text."""
    letters = min(len(word.replace(" ", "")) for word in words)
    return (-min(letters, _GOOD_LENGTH), len(words))


def _exact(node: tuple[Any, Any]) -> Words | None:
    """Every string `node` can match, lower case, when they are few; else None."""
    key = id(node)
    if key not in _EXACT:
        _EXACT[key] = _exact_of(node)
    return _EXACT[key]


def _exact_of(node: tuple[Any, Any]) -> Words | None:
    op, av = node
    if op == c.LITERAL:
        return frozenset({chr(av).lower()})
    if op in _ZERO_WIDTH:
        return frozenset({""})
    if op == c.IN:
        chars: set[str] = set()
        for item_op, item in av:
            if item_op == c.LITERAL:
                chars.add(chr(item).lower())
            elif item_op == c.RANGE and item[1] - item[0] < _MAX_CLASS:
                chars.update(chr(code).lower() for code in range(item[0], item[1] + 1))
            else:
                return None
        return frozenset(chars) if len(chars) <= _MAX_CLASS else None
    if op in _GROUPS:
        return _exact_sequence(list(av[-1] if op == c.SUBPATTERN else av))
    if op == c.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            strings = _exact_sequence(list(branch))
            if strings is None:
                return None
            union |= strings
        return frozenset(union) if len(union) <= _MAX_STRINGS else None
    if op in _REPEATS:
        low, high, body = av
        strings = _exact_sequence(list(body))
        if strings is None or high > 3:
            return None
        out: set[str] = set()
        for count in range(low, high + 1):
            out.update("".join(parts) for parts in product(sorted(strings), repeat=count))
            if len(out) > _MAX_STRINGS:
                return None
        return frozenset(out)
    return None


def _exact_sequence(nodes: list[tuple[Any, Any]]) -> Words | None:
    strings = [""]
    pending = ""  # single strings are joined before the product is taken
    for node in nodes:
        part = _exact(node)
        if part is None:
            return None
        if len(part) == 1:
            pending += next(iter(part))
            continue
        strings = [a + pending + b for a in strings for b in part]
        pending = ""
        if len(strings) > _MAX_STRINGS:
            return None
    return frozenset(a + pending for a in strings)


def _holds(nodes: list[tuple[Any, Any]]) -> Words | None:
    """Words one of which every match of the sequence `nodes` holds (the most selective set
    found), or None. Runs of nodes with few exact strings are expanded: every match holds one
    of each run's strings; a node that is a group, an alternation or a repeat of at least one
    is read for its own words."""
    candidates: list[Words] = []
    exact: list[Words | None] = []
    for node in nodes:  # a run of single strings is one string
        part = _exact(node)
        if part is not None and len(part) == 1 and exact and (last := exact[-1]) is not None:
            if len(last) == 1:
                exact[-1] = frozenset({next(iter(last)) + next(iter(part))})
                continue
        exact.append(part)
    for start in range(len(exact)):
        strings: Words = frozenset({""})
        for end in range(start, len(exact)):
            part = exact[end]
            longer = None if part is None else frozenset(a + b for a in strings for b in part)
            if longer is None or len(longer) > _MAX_STRINGS:
                break
            if len(longer) > len(strings) and "" not in strings:  # the longest run of each size
                candidates.append(_minimal(strings))
            strings = longer
        if "" not in strings:
            candidates.append(_minimal(strings))
    for node in nodes:  # a node of one string was read in the runs above
        exact_strings = _exact(node)
        inner = None if exact_strings and len(exact_strings) == 1 else _holds_node(node)
        if inner:
            candidates.append(inner)
    return min(candidates, key=_rank) if candidates else None


def _holds_node(node: tuple[Any, Any]) -> Words | None:
    op, av = node
    if op in _GROUPS:
        return _holds(list(av[-1] if op == c.SUBPATTERN else av))
    if op == c.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            words = _holds(list(branch))
            if words is None:
                return None
            union |= words
        return _minimal(union)
    if op in _REPEATS and av[0] >= 1:
        return _holds(list(av[2]))
    return None
