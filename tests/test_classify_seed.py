"""A first version read to seed the registry: the same reading as a change from an empty page,
with each row of a page-long table read once. Counted in operations (calls), not timed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.classify import baseline_facts, names, table_diff, tables
from monitor.classify.context import Context, build_context, seed_context
from monitor.classify.lines import Doc
from monitor.config import Watch
from monitor.diff import diff_texts
from monitor.evaluate import case_paths, load_case

CASES = Path(__file__).parent / "fixtures" / "classify"
WATCH = Watch(id="seed", url="https://example.com/deprecations", kind="lifecycle")
AT = datetime(2026, 5, 4, tzinfo=UTC)


def _reading(ctx: Context) -> tuple[Any, ...]:
    def lines(items: tuple[Any, ...]) -> list[tuple[int, str]]:
        return [(line.number, line.text) for line in items]

    pairs = [(p.old.number, p.new.number) for p in (*ctx.changed, *ctx.reformatted)]
    return (
        lines(ctx.added),
        lines(ctx.removed),
        pairs,
        ctx.moved,
        ctx.rewrapped,
        ctx.repeated,
        ctx.old_text,
        ctx.new_text,
    )


EDGES = [
    "",
    "\n",
    "\n\n\n",
    "one line",
    "---\ntitle: Deprecations\ndate: 2024-01-02\n---\n# Models\n\n---\n\n**\n",
    "# Models\n\n| Model | Shutdown |\n| --- | --- |\n| gpt-4 | 2026-01-01 |\n\nText\r\nMore\r\n",
    "Heading\n=======\n\nBody\n\n*  *\n- \n\n![](x.png)\n",
]


@pytest.mark.parametrize("text", EDGES)
def test_a_first_version_reads_as_a_change_from_an_empty_page(text: str) -> None:
    built = build_context(diff_texts("", text), "", text, WATCH, at=AT)
    assert _reading(seed_context(text, WATCH, at=AT)) == _reading(built)


def test_every_case_text_reads_as_a_change_from_an_empty_page() -> None:
    texts = {
        t for path in case_paths(CASES) for t in (load_case(path).before, load_case(path).after)
    }
    assert len(texts) > 500
    for text in texts:
        built = build_context(diff_texts("", text), "", text, WATCH, at=AT)
        assert _reading(seed_context(text, WATCH, at=AT)) == _reading(built), text[:200]


def _tracker(rows: int) -> str:
    """A page that is one lifecycle table, every row its own model, every fifth with an alias
    cell the header does not name."""
    lines = ["# Model deprecation tracker", "", "## All models", ""]
    lines += ["| Model | Model ID | Status | Shutdown | Replacement |", "|---|---|---|---|---|"]
    for row in range(rows):
        alias = f" delta-{row % 7} |" if row % 5 == 0 else ""
        day = f"2026-{row % 12 + 1:02}-{row % 28 + 1:02}"
        lines.append(
            f"| delta-{row % 7}-{20240101 + row}-r{row} |{alias}  | deprecated | {day} | x |"
        )
    return "\n".join(lines)


class Calls:
    """How many times each counted function was called."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.counts: dict[str, int] = {}
        self.monkeypatch = monkeypatch

    def count(self, owner: Any, name: str) -> None:
        wrapped = getattr(owner, name)
        self.counts.setdefault(name, 0)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.counts[name] += 1
            return wrapped(*args, **kwargs)

        self.monkeypatch.setattr(owner, name, counted)


def _seed_calls(monkeypatch: pytest.MonkeyPatch, rows: int) -> dict[str, int]:
    names.find_models.cache_clear()
    names._cell_models.cache_clear()
    tables._aligned.cache_clear()
    calls = Calls(monkeypatch)
    calls.count(tables, "roles")  # a table's header read
    calls.count(tables, "split_cells")  # a row split into cells
    calls.count(tables, "namer")  # a table's columns named
    calls.count(table_diff, "namer")
    calls.count(Doc, "_make")  # a line made
    calls.count(names, "_cell_models")  # a row's models read
    facts = baseline_facts(_tracker(rows), WATCH, at=AT)
    assert len({fact["model"] for fact in facts}) >= rows * 4 // 5
    monkeypatch.undo()
    return calls.counts


def test_each_row_of_a_seeded_table_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    small, large = _seed_calls(monkeypatch, 500), _seed_calls(monkeypatch, 1000)
    # the header's names once per table, whatever its length; its roles once more for each row
    # with a surplus cell to place (every fifth), not once per row
    assert large["namer"] == small["namer"] == 1
    assert large["roles"] - small["roles"] == 100
    # each row split once, its line made once, its models read once
    for name in ("split_cells", "_make", "_cell_models"):
        assert large[name] - small[name] == 500, name
