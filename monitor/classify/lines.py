"""A text as lines with their sections, parsed only where a rule looks.

A change to a 2 MB page touches a few lines; parsing every line of both texts cost more than
every rule together. `Doc` indexes the text's headings in one pass over the few lines that can
be headings, so any line can be built on demand with its heading trail; the whole list is built
only when a rule asks for it (a table a change touches), and then reuses the lines already made,
so a line is one object whichever way it was reached."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property

from monitor import patterns as p
from monitor.classify.text import core

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+\S")
BOLD_LINE = 7  # the heading level of a line that is all bold
_BOLD_LINE = re.compile(r"^\s*(?:\*\*|__)[^*_\n]{2,200}(?:\*\*|__)\s*$")
_SETEXT = re.compile(r"^\s{0,3}(?:={3,}|-{3,})\s*$")
_HEADING_START = frozenset("#*_ ")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]\s*|\d{1,3}[.)]\s+)\S")


@dataclass(frozen=True)
class Line:
    text: str  # the line exactly as stored
    number: int  # 1-based line number in its text
    trail: tuple[str, ...]  # cores of the headings above, outermost first
    heading: int  # heading level (1-6; 7 for a line that is all bold), 0 if not a heading
    depth: int  # list nesting: indentation in steps of two spaces
    table: bool  # a table row

    @cached_property
    def core(self) -> str:
        return core(self.text)

    @property
    def section(self) -> str | None:
        return self.trail[-1] if self.trail else None

    @property
    def list_item(self) -> bool:
        return bool(_LIST_ITEM.match(self.text))


def _new_line(
    text: str, number: int, trail: tuple[str, ...], heading: int, depth: int, table: bool
) -> Line:
    """`Line(...)` without the frozen dataclass's `__init__`, which sets each field through
    `object.__setattr__`: a first version makes one per line of the page."""
    made = object.__new__(Line)
    made.__dict__.update(
        text=text, number=number, trail=trail, heading=heading, depth=depth, table=table
    )
    return made


def _heading_level(text: str) -> int:
    if text.lstrip(" ")[:1] not in ("#", "*", "_"):
        return 0
    match = _HEADING.match(text)
    if match:
        return len(match.group(1))
    return BOLD_LINE if _BOLD_LINE.match(text) else 0


class Doc:
    """One text's lines: any line on demand, all of them when asked. Non-blank lines only;
    table separator rows and setext underlines are not lines; a leading `---` front-matter
    block gives only its `title:` line, as the document's level-1 heading."""

    def __init__(self, text: str):
        self.text = text
        self.raw = text.split("\n")
        if "\r" in text:
            self.raw = [line.removesuffix("\r") for line in self.raw]
        self._made: dict[int, Line | None] = {}
        self._cores: dict[int, str] = {}  # heading line number → its core, for trails
        self._trails: dict[int, tuple[str, ...]] = {}  # heading index → trail below it
        self._all: tuple[Line, ...] | None = None
        self.front_end = 0  # last line number of the front-matter block (its closing `---`)
        if self.raw and self.raw[0].strip() == "---":
            closing = next(
                (n for n in range(1, len(self.raw)) if self.raw[n].strip() == "---"), None
            )
            self.front_end = len(self.raw) + 1 if closing is None else closing + 1
        self.setext = {
            n - 1
            for n, line in enumerate(self.raw, start=1)
            if (line[:1] in ("=", "-") or line[:1].isspace())
            and n >= 2
            and _SETEXT.match(line)
            and self.raw[n - 2].strip()
        }  # numbers of the lines a setext underline makes headings
        self.underlines = {n + 1 for n in self.setext}
        self.heading_numbers: list[int] = []
        self.trail_after: list[tuple[int, ...]] = []  # heading numbers on the stack after each
        self._index_headings()

    def _index_headings(self) -> None:
        candidates = {
            n
            for n, line in enumerate(self.raw, start=1)
            if line[:1] in _HEADING_START and line.lstrip(" ")[:1] in ("#", "*", "_")
        }
        candidates |= self.setext
        candidates |= {
            n
            for n in range(2, min(self.front_end, len(self.raw)) + 1)
            if self.raw[n - 1].startswith("title:")
        }
        stack: list[tuple[int, int]] = []
        for number in sorted(candidates):
            level = self._level(number)
            if not level:
                continue
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, number))
            self.heading_numbers.append(number)
            self.trail_after.append(tuple(at for _, at in stack))

    def _level(self, number: int) -> int:
        """The heading level line `number` would have, without building the line."""
        text = self.raw[number - 1]
        if number <= self.front_end:
            return 1 if 1 < number < self.front_end and text.startswith("title:") else 0
        stripped = text.strip()
        if not stripped or number in self.underlines:
            return 0
        if p.SEPARATOR_ROW.match(stripped) and "-" in stripped:
            return 0
        return 2 if number in self.setext else _heading_level(text)

    def _trail(self, number: int) -> tuple[str, ...]:
        """The cores of the headings above line `number` (read only for lines a rule sees)."""
        index = bisect.bisect_left(self.heading_numbers, number)
        if not index:
            return ()
        trail = self._trails.get(index)
        if trail is None:
            trail = tuple(self._heading_core(at) for at in self.trail_after[index - 1])
            self._trails[index] = trail
        return trail

    def _heading_core(self, number: int) -> str:
        if number not in self._cores:
            text = self.raw[number - 1]
            self._cores[number] = core(
                text.removeprefix("title:") if number <= self.front_end else text
            )
        return self._cores[number]

    def line(self, number: int) -> Line | None:
        """Line `number` (1-based), or None where there is no line (blank, a separator row, an
        underline, front matter other than its title)."""
        if number in self._made:
            return self._made[number]
        made = self._make(number)
        self._made[number] = made
        return made

    def _is_line(self, number: int) -> bool:
        """Whether line `number` is a line (not blank, a separator row, an underline, front
        matter other than its title)."""
        if not 1 <= number <= len(self.raw):
            return False
        text = self.raw[number - 1]
        if number <= self.front_end:
            kept = text.startswith("title:") or p.FRONT_MATTER_DATE.match(text)
            return number != 1 and bool(kept) and number != self.front_end
        stripped = text.strip()
        if not stripped or p.SEPARATOR_ROW.match(stripped) and "-" in stripped:
            return False
        return number not in self.underlines

    def _make(self, number: int) -> Line | None:
        if not self._is_line(number):
            return None
        text = self.raw[number - 1]
        trail = self._trail(number)
        if number <= self.front_end and not text.startswith("title:"):
            return Line(text, number, trail, 0, 0, False)  # the page's date ("ms.date: …")
        if number <= self.front_end:
            item = Line(text, number, trail, 1, 0, False)
            item.__dict__["core"] = core(text.removeprefix("title:"))
            return item
        stripped = text.strip()
        level = 2 if number in self.setext else _heading_level(text)
        lead = text[: len(text) - len(text.lstrip(" \t"))]
        indent = len(lead.expandtabs(4)) if "\t" in lead else len(lead)
        return _new_line(text, number, trail, level, indent // 2, stripped.startswith("|"))

    def first(self, count: int) -> list[Line]:
        """The first `count` lines."""
        out: list[Line] = []
        for number in range(1, len(self.raw) + 1):
            if len(out) >= count:
                break
            line = self.line(number)
            if line is not None:
                out.append(line)
        return out

    def after(self, number: int, count: int) -> list[Line]:
        """Up to `count` lines after line `number`."""
        out: list[Line] = []
        for following in range(number + 1, len(self.raw) + 1):
            if len(out) >= count:
                break
            line = self.line(following)
            if line is not None:
                out.append(line)
        return out

    def first_heading(self) -> Line | None:
        return self.line(self.heading_numbers[0]) if self.heading_numbers else None

    def table_lines(self) -> tuple[Line, ...]:
        """The table rows, each followed by the line right after it when that is not a row: all
        a reader of tables needs to tell where one table ends, without building every line."""
        if self._all is not None:
            return self._all
        out: list[Line] = []
        for number, text in enumerate(self.raw, start=1):
            if not text.lstrip().startswith("|"):
                continue
            row = self.line(number)
            if row is None:
                continue
            if not out or out[-1].number < number:
                out.append(row)
            after = self.line(number + 1)
            if after is not None and not after.table:
                out.append(after)
        return tuple(out)

    def table_runs(self) -> list[list[int]]:
        """The line numbers of each run of rows that reads as one table, its header first: how
        `parse_tables` groups `table_lines()`, found without making the rows' lines (a page may
        be one table of 25,000 rows, of which a change reads a few)."""
        raw = self.raw
        starts = [n for n, text in enumerate(raw, start=1) if text.lstrip().startswith("|")]
        is_start = set(starts)
        runs: list[list[int]] = []
        run: list[int] = []
        for number in starts:
            if number <= self.front_end or number in self.underlines:
                continue  # no line (`_make`)
            stripped = raw[number - 1].strip()
            if "-" in stripped and p.SEPARATOR_ROW.match(stripped):
                continue  # a separator row is no line
            if run and number - run[-1] > 2:
                runs.append(run)
                run = []
            run.append(number)
            if number + 1 not in is_start and self.line(number + 1) is not None:
                runs.append(run)  # a line that is not a row ends the table
                run = []
        runs.append(run)
        return [run for run in runs if len(run) >= 2]

    def cores(self) -> set[str]:
        """The core of every line, as `{line.core for line in self.lines}`, without making the
        lines (a lookup by reading needs only these)."""
        return {
            core(text.removeprefix("title:") if number <= self.front_end else text)
            for number, text in enumerate(self.raw, start=1)
            if self._is_line(number)
        }

    @property
    def lines(self) -> tuple[Line, ...]:
        """Every line, in order (built once)."""
        if self._all is None:
            made = (self.line(number) for number in range(1, len(self.raw) + 1))
            self._all = tuple(line for line in made if line is not None)
        return self._all


def parse_lines(text: str) -> tuple[Line, ...]:
    """Non-blank lines with their headings; a leading `---` front-matter block gives the title."""
    return Doc(text).lines
