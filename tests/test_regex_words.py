"""The words every match of a pattern holds, read from the pattern: every match generated from
the pattern's own structure holds one, a new alternative brings its own word, and an
alternative that holds no literal word is refused."""

from __future__ import annotations

import random
import re
from re import _constants as c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

import pytest

from monitor import patterns as p
from monitor.classify.text import holds_any
from monitor.regex_words import longest_match, words_every_match_holds

_SOME = "aZ9 -._/:é終"  # characters tried where a pattern allows any of many


def _sample(nodes: Any, rng: random.Random, fold: bool) -> str:
    """A string the parsed `nodes` could match (lookarounds and boundaries ignored)."""
    out = []
    for op, av in nodes:
        if op == c.LITERAL:
            out.append(chr(av).swapcase() if fold and rng.random() < 0.5 else chr(av))
        elif op in (c.NOT_LITERAL, c.ANY):
            out.append(rng.choice([ch for ch in _SOME if op == c.ANY or ord(ch) != av]))
        elif op == c.IN:
            choices = [ch for ch in _SOME + " \t" if re.fullmatch(_class(av), ch, re.I)]
            out.append(rng.choice(choices or [" "]))
        elif op == c.BRANCH:
            out.append(_sample(rng.choice(av[1]), rng, fold))
        elif op == c.SUBPATTERN:
            out.append(_sample(av[-1], rng, fold))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            low, high, body = av
            count = rng.randint(low, min(high, low + 3))
            out += [_sample(body, rng, fold) for _ in range(count)]
    return "".join(out)


def _class(items: Any) -> str:
    """The character class `items` as a pattern, for picking its characters."""
    parts = []
    for op, av in items:
        if op == c.NEGATE:
            parts.append("^")
        elif op == c.LITERAL:
            parts.append(re.escape(chr(av)))
        elif op == c.RANGE:
            parts.append(f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}")
        elif op == c.CATEGORY:
            parts.append({c.CATEGORY_DIGIT: r"\d", c.CATEGORY_SPACE: r"\s"}.get(av, r"\w"))
    return f"[{''.join(parts)}]"


PATTERNS = [
    p.RETIRE_WORDS,
    p.LAUNCH_WORDS,
    p.API_CONTINUES,
    re.compile(r"\b(?:end[- ]of[- ](?:life|support)|(?:is|are) (?:now )?available)\b", re.I),
    re.compile(r"(?<!\w)(?:version|rev(?:ision)?[.:])\s*\d+(?:\.\d+)*|[A-Z]{1,3}\d{2} edition"),
]


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda pattern: pattern.pattern[:30])
def test_every_match_made_from_the_pattern_holds_one_of_its_words(pattern: re.Pattern[str]) -> None:
    words = words_every_match_holds(pattern)
    parsed = _parser.parse(pattern.pattern, pattern.flags)
    rng = random.Random(9)
    matched = 0
    for _ in range(3000):
        text = f"x {_sample(parsed, rng, bool(pattern.flags & re.I))} x"
        for match in pattern.finditer(text):
            matched += 1
            assert holds_any(match.group(), words), (match.group(), words)
    assert matched > 1000


def test_a_new_alternative_brings_its_word_and_one_without_a_word_is_refused() -> None:
    extended = re.compile(p.LAUNCH_WORDS.pattern + r"|\brolled out to (?:all|every)\b", re.I)
    words = words_every_match_holds(extended)
    assert set(p.LAUNCH_WORDS_HOLD) < set(words)
    assert holds_any("Rolled out to all users", words)
    assert not holds_any("Rolled out to all users", p.LAUNCH_WORDS_HOLD)
    assert "soon" in "".join(words_every_match_holds(re.compile(r"[a-z]{3,} soon|\bnow\b")))
    for wordless in (r"|\w+ed\b", r"|\w+\s+\w+", r"|\d{4}-\d\d", r"|(?:new )?[a-z]+ \d"):
        with pytest.raises(ValueError, match="no literal word"):
            words_every_match_holds(re.compile(p.RETIRE_WORDS.pattern + wordless, re.I))


def test_the_words_are_the_selective_ones() -> None:
    assert {"retire", "retiring", "deprecat", "sunset"} <= set(p.RETIRE_WORDS_HOLD)
    assert {"launch", "introduc", "available", "released"} <= set(p.LAUNCH_WORDS_HOLD)
    assert all(len(word) >= 3 or not word.isascii() for word in p.RETIRE_WORDS_HOLD)
    # a common word is passed over for the longer ones beside it in the same alternative
    assert not holds_any("API requests for the model and its support", p.RETIRE_WORDS_HOLD)
    assert not holds_any("the API docs list API changes", p.API_CONTINUES_HOLD)
    assert longest_match(p.API_CONTINUES) == p.API_CONTINUES_WIDTH
    with pytest.raises(ValueError, match="no longest length"):
        longest_match(p.RETIRE_WORDS)
