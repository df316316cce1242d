"""No classification rule is quadratic: on a page of many rows, each row is compared with a
bounded number of others. Counted in operations (calls of the comparing function), not timed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import monitor.classify as classify
from monitor.classify import merge_facts
from monitor.models import Finding

ROWS = 2000
CASES = Path(__file__).parent / "fixtures" / "classify"


def _retirement(model: str, shutdown: str) -> dict[str, Any]:
    return {
        "kind": "retirement",
        "model": model,
        "event": "deprecation_announced",
        "surface": "api",
        "shutdown_date": shutdown,
    }


def _rows(count: int) -> list[Finding]:
    """A table's rows: dated ids of one model, each with its own shutdown date."""
    return [
        Finding(
            "lifecycle.row_added",
            "model_retirement",
            "retiring",
            facts=(
                _retirement(f"alpha-3-{20240000 + n}", f"2026-{n % 12 + 1:02}-{n % 28 + 1:02}"),
            ),
        )
        for n in range(count)
    ]


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times merge_facts compares two facts (one item per comparison)."""
    calls: list[int] = []
    compare = classify._same_fact

    def counted(*args: Any) -> bool:
        calls.append(1)
        return compare(*args)

    monkeypatch.setattr(classify, "_same_fact", counted)
    return calls


def test_rows_of_one_model_are_not_compared_row_with_row(comparisons: list[int]) -> None:
    merged = merge_facts(_rows(ROWS))
    assert len(merged) == ROWS  # every dated id is a model of its own
    assert len(comparisons) <= ROWS


def test_a_sentence_still_merges_with_its_row_among_many(comparisons: list[int]) -> None:
    told = Finding(
        "lifecycle.prose",
        "model_retirement",
        "retiring",
        facts=({**_retirement("alpha-3", "2026-03-03"), "replacement": "alpha-4"},),
    )
    row_facts = [fact for finding in merge_facts([*_rows(ROWS), told]) for fact in finding.facts]
    assert len(row_facts) == ROWS  # the sentence's fact joined a row's
    joined = [fact for fact in row_facts if fact.get("replacement") == "alpha-4"]
    assert [fact["shutdown_date"] for fact in joined] == ["2026-03-03"]
    assert len(comparisons) <= 3 * ROWS


def test_a_row_told_twice_is_one_fact(comparisons: list[int]) -> None:
    twice = _rows(ROWS) + _rows(ROWS)
    merged = merge_facts(twice)
    assert sum(len(finding.facts) for finding in merged) == ROWS
    assert len(comparisons) <= 2 * ROWS


def test_a_model_neither_written_nor_named_in_prose_is_not_one_the_text_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A removed row's model is looked for among the new text's models without reading them
    all when it is neither written in the text nor a prose name's id: over every case's new
    text and (up to 20 of) the models either text names, and those ids a letter short or
    longer, that answer is the one reading every model of the text gives."""
    from monitor.classify import still_listed
    from monitor.classify.context import Context
    from monitor.classify.lines import Doc
    from monitor.classify.names import find_models
    from monitor.classify.text import normalise
    from monitor.evaluate import case_paths, load_case

    monkeypatch.setattr(still_listed, "_SWEEPS", 10**9)  # every model asked by the search
    asked = skipped = 0
    for case in map(load_case, case_paths(CASES)):
        if "|" not in case.before:
            continue  # no table: no row removed
        named = {hit.id for text in (case.before, case.after) for hit in find_models(text)}
        variants = named | {m[:-1] for m in named if len(m) > 2} | {m + "-2" for m in named}
        written = normalise(case.after)
        unwritten = sorted(model for model in variants if model not in written)[:20]
        if not unwritten:
            continue  # a model written in the text is always looked for among all its models
        ctx = Context(
            case.watch, case.at, "", case.after, Doc(""), Doc(case.after), (), (), (), (), 0
        )
        reads = {hit.id for hit in find_models(case.after)}
        for model in unwritten:
            ctx.memo.pop("new_models", None)  # the search, not the models read before
            assert still_listed._read_in_new(ctx, model) == (model in reads), model
            asked += 1
            skipped += "new_models" not in ctx.memo
    assert asked > 2000 and skipped > 2000, (asked, skipped)


def test_whitespace_is_squeezed_as_the_pattern_replaces_it() -> None:
    """`squeezed` (how `core` folds a padded row's spaces) reads every character as `\\s` does:
    each run one space, a leading or trailing run kept as one."""
    from monitor.classify.text import _SPACES, squeezed

    every = "".join(f"a{chr(c)} {chr(c)}b{chr(c)}" for c in range(0x110000))
    assert squeezed(every) == _SPACES.sub(" ", every)
    for text in ("", " ", "\t\n", " a", "a ", "  a  b  ", "\u3000x\u00a0\u00a0y\x1c", "|  | x |"):
        assert squeezed(text) == _SPACES.sub(" ", text), repr(text)


NOTICES = 1000


class _Measured:
    """A pattern that adds up the characters it is asked to search."""

    def __init__(self, pattern: re.Pattern[str], searched: list[int]) -> None:
        self.pattern, self.searched = pattern, searched

    def search(self, text: str, *args: Any) -> re.Match[str] | None:
        self.searched.append(len(text))
        return self.pattern.search(text, *args)


def test_a_section_of_many_retirement_notices_is_read_once_not_once_per_notice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each retiring sentence reads what its section says as a whole (the ids it writes, its
    surface, a "respectively") from what was read once for the section: the characters
    searched and the lines read grow with the section, not with its square."""
    from datetime import UTC, datetime

    from monitor.classify import baseline_facts, facts, lifecycle, names
    from monitor.config import Watch

    notices = [f"- `quill-{n}-x` will be retired on March 1, 2027." for n in range(NOTICES)]
    text = "# Deprecations\n\n## Upcoming retirements\n\n" + "\n".join(notices)
    text += "\n- We recommend migrating to `gpt-4o`."
    searched: list[int] = []
    read: list[str] = []
    surface_in, find_models = facts.surface_in, names.find_models

    def surface(sentence: str) -> str | None:
        searched.append(len(sentence))
        return surface_in(sentence)

    def models(line: str) -> Any:
        read.append(line)
        return find_models(line)

    monkeypatch.setattr(facts, "surface_in", surface)
    monkeypatch.setattr(names, "find_models", models)  # as `as_written` reads each line
    monkeypatch.setattr(lifecycle, "_RESPECTIVELY", _Measured(lifecycle._RESPECTIVELY, searched))
    watch = Watch(id="w", url="https://example.com/", kind="lifecycle")
    found = baseline_facts(text, watch, at=datetime(2026, 5, 4, tzinfo=UTC))
    retiring = {fact["model"]: fact for fact in found if fact["kind"] == "retirement"}
    assert set(retiring) == {f"quill-{n}-x" for n in range(NOTICES)}
    assert {fact["shutdown_date"] for fact in retiring.values()} == {"2027-03-01"}
    assert {fact["replacement"] for fact in retiring.values()} == {"gpt-4o"}
    assert sum(searched) <= 10 * len(text)
    assert len(read) <= 3 * NOTICES
