"""A retiring sentence that names no model takes the models listed right after it: a long list of
such sentences is read once, not once per sentence. Counted in lines read, not timed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.classify import baseline_facts, lifecycle
from monitor.config import Watch

WATCH = Watch(id="w", url="https://example.com/", kind="lifecycle")
AT = datetime(2026, 5, 4, tzinfo=UTC)


def _lines_read(monkeypatch: pytest.MonkeyPatch, text: str) -> tuple[tuple[Any, ...], int]:
    """The facts of `text` read as a first version, and how many lines the prose rules asked
    for the models they name."""
    read: list[str] = []
    find_models = lifecycle.find_models

    def counted(line: str) -> Any:
        read.append(line)
        return find_models(line)

    monkeypatch.setattr(lifecycle, "find_models", counted)
    return baseline_facts(text, WATCH, at=AT), len(read)


def _unnamed_notices(count: int) -> str:
    items = [
        f"- This older option will be deprecated on March {n % 28 + 1}, 2027 for customer {n}."
        for n in range(count)
    ]
    return "# Deprecations\n\n## Upcoming\n\n" + "\n".join(items)


def test_a_long_list_of_notices_naming_no_model_is_read_in_its_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found_small, small = _lines_read(monkeypatch, _unnamed_notices(1000))
    found_large, large = _lines_read(monkeypatch, _unnamed_notices(4000))
    assert found_small == found_large == ()
    assert large <= 4.5 * small, (small, large)  # a square would read 16 times as many
    assert large <= 3 * 4000, large


def test_a_caption_still_takes_the_models_listed_below_it_among_many_items() -> None:
    """The index of a list's naming lines gives what reading every line after the caption gave:
    the first model of each item, in order, each once, up to the end of the list."""
    filler = [f"- Item {n} of the notes carries no name." for n in range(500)]
    text = "\n".join(
        [
            "# Deprecations",
            "",
            "## Upcoming",
            "",
            "On March 1, 2027 the following models will be retired:",
            *filler[:200],
            "- `quill-1-x` (use `quill-2` instead)",
            *filler[200:400],
            "- `ink-7`",
            "- `quill-1-x` again",
            *filler[400:],
            "",
            "Other news: `gpt-4o` is unchanged.",
        ]
    )
    found = baseline_facts(text, WATCH, at=AT)
    retiring = [fact["model"] for fact in found if fact["kind"] == "retirement"]
    assert retiring == ["quill-1-x", "ink-7"]
    assert {fact["shutdown_date"] for fact in found} == {"2027-03-01"}
