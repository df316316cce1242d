"""diff: golden diffs of real and realistic version pairs, segments, sections, stats, JSON.

Golden files: tests/fixtures/diff/cases.json lists each pair (<case>.old.txt, <case>.new.txt)
and where it came from; the expected diff is <case>.diff.json. UPDATE_GOLDEN=1 rewrites them.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest

from monitor import diff as diff_module
from monitor.diff import diff_from_json, diff_texts, diff_to_json, word_segments
from monitor.models import DiffStats, Hunk, Segment, TextDiff

FIXTURES = Path(__file__).parent / "fixtures" / "diff"
CASES = sorted(json.loads((FIXTURES / "cases.json").read_text("utf-8")))
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"


def assert_golden(path: Path, actual: str) -> None:
    if UPDATE_GOLDEN:
        path.write_text(actual, encoding="utf-8", newline="")
    assert actual == path.read_text(encoding="utf-8")


def pair(name: str) -> tuple[str, str]:
    return (
        (FIXTURES / f"{name}.old.txt").read_text("utf-8"),
        (FIXTURES / f"{name}.new.txt").read_text("utf-8"),
    )


def apply(old: str, diff: TextDiff) -> list[str]:
    """Rebuild the new lines from the old text and the hunks alone."""
    lines = old.splitlines()
    for hunk in reversed(diff.hunks):
        start = hunk.old_start - 1
        assert lines[start : start + len(hunk.removed)] == list(hunk.removed)
        lines[start : start + len(hunk.removed)] = hunk.added
    return lines


def side(segments: tuple[Segment, ...], changed: str) -> str:
    return "".join(s.text for s in segments if s.op in ("equal", changed))


def check_invariants(old: str, new: str, diff: TextDiff) -> None:
    assert apply(old, diff) == new.splitlines()
    for hunk in diff.hunks:
        assert hunk.removed or hunk.added
        assert side(hunk.segments, "delete") == "\n".join(hunk.removed)
        assert side(hunk.segments, "insert") == "\n".join(hunk.added)
        assert new.splitlines()[hunk.new_start - 1 : hunk.new_start - 1 + len(hunk.added)] == list(
            hunk.added
        )


# --- golden pairs ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    diff = diff_texts(*pair(name))
    text = json.dumps(diff_to_json(diff), ensure_ascii=False, indent=2) + "\n"
    assert_golden(FIXTURES / f"{name}.diff.json", text)


@pytest.mark.parametrize("name", CASES)
def test_hunks_rebuild_the_new_text(name: str) -> None:
    old, new = pair(name)
    check_invariants(old, new, diff_texts(old, new))


@pytest.mark.parametrize("name", CASES)
def test_json_round_trip_is_exact(name: str) -> None:
    diff = diff_texts(*pair(name))
    data = json.loads(json.dumps(diff_to_json(diff)))
    assert diff_from_json(data) == diff
    assert diff_to_json(diff_from_json(data)) == data


# --- word level -----------------------------------------------------------------------------


def test_version_bump_is_whole_words_not_characters() -> None:
    diff = diff_texts("# Policy\nVersion 3.0\nBody", "# Policy\nVersion 3.1\nBody")
    (hunk,) = diff.hunks
    assert hunk.segments == (
        Segment("equal", "Version "),
        Segment("delete", "3.0"),
        Segment("insert", "3.1"),
    )


@pytest.mark.parametrize(
    ("old", "new", "deleted", "inserted"),
    [
        ("Effective March 1, 2026", "Effective March 31, 2026", ["1"], ["31"]),
        (
            "model gpt-4o-2024-05-13 retires",
            "model gpt-4o-2024-08-06 retires",
            ["gpt-4o-2024-05-13"],
            ["gpt-4o-2024-08-06"],
        ),  # fmt: skip
        ("Shutdown 2026-01-05.", "Shutdown 2026-02-05.", ["2026-01-05"], ["2026-02-05"]),
        (
            "is now generally available on",
            "is out of beta on",
            ["now generally available"],
            ["out of beta"],
        ),  # fmt: skip
    ],
)
def test_words_and_numbers_are_never_split(
    old: str, new: str, deleted: list[str], inserted: list[str]
) -> None:
    segments = word_segments(old, new)
    assert [s.text for s in segments if s.op == "delete"] == deleted
    assert [s.text for s in segments if s.op == "insert"] == inserted


def test_word_segments_of_pure_additions_and_removals() -> None:
    assert word_segments("", "new text") == (Segment("insert", "new text"),)
    assert word_segments("old text", "") == (Segment("delete", "old text"),)
    assert word_segments("same", "same") == (Segment("equal", "same"),)


def test_version_bump_fixture_segments() -> None:
    diff = diff_texts(*pair("rsp-version-bump"))
    first = diff.hunks[0]
    assert first.removed == ("Version 3.0 · Effective September 15, 2025 · Previous Version",)
    assert first.segments[:3] == (
        Segment("equal", "Version "),
        Segment("delete", "3.0"),
        Segment("insert", "3.1"),
    )


# --- sections -------------------------------------------------------------------------------


def test_section_is_the_nearest_heading_above_in_the_new_text() -> None:
    old = "# Title\nintro\n## A\na1\n## B\nb1\nb2"
    new = "# Title\nintro\n## A\na1 changed\n## B\nb1\nb2 changed"
    diff = diff_texts(old, new)
    assert [h.section for h in diff.hunks] == ["## A", "## B"]
    assert diff.sections == ("## A", "## B")


def test_hunk_before_any_heading_has_no_section() -> None:
    diff = diff_texts("intro\n# Title", "intro changed\n# Title")
    assert diff.hunks[0].section is None
    assert diff.sections == ()


def test_added_section_is_attributed_to_its_own_heading() -> None:
    diff = diff_texts(*pair("release-notes-new-entry"))
    assert diff.hunks[0].section == "### August 20, 2026"
    assert diff.hunks[0].added[0] == "### August 20, 2026"
    assert {h.section for h in diff.hunks[1:]} == {"### August 19, 2026"}
    assert diff.sections == ("### August 20, 2026", "### August 19, 2026")


def test_removed_tail_takes_its_section_from_the_old_text() -> None:
    diff = diff_texts(*pair("deprecations-removed-tail"))
    tail = diff.hunks[-1]
    assert not tail.added and tail.removed[0] == "## Deprecation history"
    assert tail.section == "## Deprecation history"
    assert diff.sections == (
        "## Model status",
        "## Deprecation history",
        "### 2026-02-19: Claude Haiku 3",
    )


def test_removal_inside_a_section_uses_the_old_heading() -> None:
    old = "## Keep\nk\n## Gone soon\nx\ny"
    diff = diff_texts(old, "## Keep\nk\n## Gone soon\nx")
    assert diff.hunks[0].section == "## Gone soon"


def test_sections_list_touched_headings_once_in_order() -> None:
    diff = diff_texts(*pair("rsp-version-bump"))
    assert diff.sections == (
        "# Usage Policy",
        "### Do Not Violate Applicable Laws or Engage in Illegal Activity",
        "### Do Not Develop or Design Weapons",
        "### Do Not Compromise Critical Infrastructure",
        "## 2. High-Risk Use Case Requirements",
    )
    assert len(set(diff.sections)) == len(diff.sections)


# --- positions and stats --------------------------------------------------------------------


def test_line_numbers_are_one_based() -> None:
    diff = diff_texts("a\nb\nc\nd", "a\nB\nc\nd\ne")
    assert [(h.old_start, h.new_start, h.removed, h.added) for h in diff.hunks] == [
        (2, 2, ("b",), ("B",)),
        (5, 5, (), ("e",)),
    ]


def test_stats_count_lines_and_changed_characters() -> None:
    diff = diff_texts("a\nVersion 3.0\nold only\nz", "a\nVersion 3.10\nz\nnew 1\nnew 2")
    assert diff.stats == DiffStats(
        lines_added=3, lines_removed=2, lines_changed=1, chars_added=15, chars_removed=12
    )


def test_identical_texts_give_an_empty_diff() -> None:
    old, _ = pair("rsp-version-bump")
    diff = diff_texts(old, old)
    assert diff.empty and diff.hunks == () and diff.sections == ()
    assert diff.stats == DiffStats(0, 0, 0, 0, 0)
    assert diff_texts("a\nb", "a\nb\n").empty  # a final newline is not content


def test_from_and_to_empty_text() -> None:
    diff = diff_texts("", "# New\nline")
    added = ("# New", "line")
    assert diff.hunks == (Hunk("# New", 1, 1, (), added, (Segment("insert", "# New\nline"),)),)
    gone = diff_texts("# Old\nline", "")
    assert gone.hunks[0].removed == ("# Old", "line") and gone.hunks[0].section == "# Old"


def test_repeated_lines_are_aligned_correctly() -> None:
    old = "| x | Yes |\n| y | Yes |\n| z | Yes |"
    new = "| x | Yes |\n| y | No |\n| z | Yes |\n| w | Yes |"
    diff = diff_texts(old, new)
    check_invariants(old, new, diff)
    assert diff.stats.lines_changed == 1 and diff.stats.lines_added == 2


def test_random_edits_always_rebuild_the_new_text() -> None:
    rng = random.Random(42)
    vocabulary = ["# H1", "## H2", "- item", "| a | b |", "text", "Version 1.0", ""]
    for _ in range(200):
        old_lines = [
            rng.choice(vocabulary) + str(rng.randint(0, 5)) for _ in range(rng.randint(0, 30))
        ]
        new_lines = list(old_lines)
        for _ in range(rng.randint(1, 6)):
            position = rng.randint(0, len(new_lines))
            action = rng.choice(("insert", "delete", "change"))
            if action == "insert" or not new_lines:
                new_lines.insert(position, rng.choice(vocabulary) + "x")
            elif action == "delete":
                del new_lines[min(position, len(new_lines) - 1)]
            else:
                new_lines[min(position, len(new_lines) - 1)] += " edited"
        old, new = "\n".join(old_lines), "\n".join(new_lines)
        diff = diff_texts(old, new)
        check_invariants(old, new, diff)
        assert diff_from_json(diff_to_json(diff)) == diff


# --- bounded and deterministic --------------------------------------------------------------


def test_pathological_inputs_finish_and_stay_deterministic() -> None:
    rng = random.Random(3)
    words = "the model policy will be retired on date with replacement and safety".split()
    lines = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(3000)]
    old, reordered = "\n".join(lines), "\n".join(reversed(lines))
    rewritten = "\n".join(" ".join(rng.choice(words) for _ in range(12)) for _ in range(3000))
    started = time.perf_counter()
    first = diff_texts(old, reordered)
    second = diff_texts(old, rewritten)
    assert time.perf_counter() - started < 20
    check_invariants(old, reordered, first)
    check_invariants(old, rewritten, second)
    assert diff_texts(old, reordered) == first  # an edit-step budget, not a clock


def test_over_budget_word_diff_falls_back_to_delete_insert(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(diff_module, "WORD_STEPS", 1)
    segments = word_segments("alpha beta gamma delta", "one two three four")
    assert segments == (
        Segment("delete", "alpha beta gamma delta"),
        Segment("insert", "one two three four"),
    )


# --- JSON -----------------------------------------------------------------------------------


def test_json_shape() -> None:
    data = diff_to_json(diff_texts("# T\nVersion 3.0", "# T\nVersion 3.1"))
    assert data == {
        "format": 1,
        "hunks": [
            {
                "section": "# T",
                "old_start": 2,
                "new_start": 2,
                "removed": ["Version 3.0"],
                "added": ["Version 3.1"],
                "segments": [["equal", "Version "], ["delete", "3.0"], ["insert", "3.1"]],
            }
        ],
        "stats": {
            "lines_added": 1,
            "lines_removed": 1,
            "lines_changed": 1,
            "chars_added": 3,
            "chars_removed": 3,
        },
        "sections": ["# T"],
    }


@pytest.mark.parametrize(
    "data",
    [
        {"format": 2, "hunks": [], "stats": {}, "sections": []},
        {"hunks": [{"section": None}], "stats": {}, "sections": []},
        {
            "hunks": [
                {
                    "section": None,
                    "old_start": 1,
                    "new_start": 1,
                    "removed": [],
                    "added": ["x"],
                    "segments": [["replace", "x"]],
                }
            ],
            "stats": {},
            "sections": [],
        },
    ],
)
def test_from_json_rejects_other_shapes(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        diff_from_json(data)
