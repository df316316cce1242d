"""What every rule reads: the two texts as lines with their sections, and the change reduced to
what really differs. Lines that only moved, or only changed their formatting (heading level,
bold, list marker, indentation, link target, escapes), are set aside first; what is left is
`added`, `removed` and `changed` (an old line paired with the new line it became)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.classify.lines import Doc, Line
from monitor.classify.text import kept_cross_reference, reading, similarity
from monitor.config import Watch
from monitor.models import Hunk, TextDiff

PAIR_THRESHOLD = 0.5
IN_PLACE_THRESHOLD = 0.25  # a line rewritten where it stood reads alike at least this much
MOVED_PAIRS = 400  # residual lines compared across hunks at most (lines moved and edited)
PLACE_WINDOW = 12  # beyond that, lines this near where the old line would now stand


@dataclass(frozen=True)
class Pair:
    old: Line
    new: Line


@dataclass
class Context:
    watch: Watch
    at: datetime
    old_text: str
    new_text: str
    old_doc: Doc
    new_doc: Doc
    added: tuple[Line, ...]  # new lines with no counterpart in the old text
    removed: tuple[Line, ...]  # old lines with no counterpart in the new text
    changed: tuple[Pair, ...]  # an old line and the new line it became
    reformatted: tuple[Pair, ...]  # same words, other formatting
    moved: int  # lines that only changed place
    memo: dict[str, Any] = field(default_factory=dict)  # derived values rules share
    rewrapped: int = 0  # hunks whose lines were split, joined or unwrapped, read alike
    repeated: int = 0  # lines of a copied block: added again, or a second copy taken out

    @property
    def kind(self) -> str:
        return self.watch.kind

    @property
    def old_lines(self) -> tuple[Line, ...]:
        """Every line of the old text (parsed on first use: most changes never need it)."""
        return self.old_doc.lines

    @property
    def new_lines(self) -> tuple[Line, ...]:
        return self.new_doc.lines

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
            or self.reformatted
            or self.moved
            or self.rewrapped
            or self.repeated
        )


def _cancel(
    old: list[Line], new: list[Line], key: Any
) -> tuple[list[Line], list[Line], list[Pair]]:
    """Take out lines whose key appears on both sides; returns what is left and the matches."""
    if not old or not new:
        return old, new, []
    pool: dict[str, list[Line]] = defaultdict(list)
    for line in new:
        pool[key(line)].append(line)
    left_old, matched = [], []
    for line in old:
        candidates = pool.get(key(line))
        if candidates:
            matched.append(Pair(line, candidates.pop(0)))
        else:
            left_old.append(line)
    taken = {id(pair.new) for pair in matched}
    return left_old, [line for line in new if id(line) not in taken], matched


def _pair_up(removed: list[Line], added: list[Line], window: int = 12) -> list[Pair]:
    """Greedy best-first pairing of residual lines that read alike, near each other in order."""

    def near(i: int) -> range:
        centre = i * len(added) // max(1, len(removed))
        return range(max(0, centre - window), min(len(added), centre + window + 1))

    return _best_first(removed, added, near)


def _best_first(removed: list[Line], added: list[Line], near: Callable[[int], range]) -> list[Pair]:
    """Pair each removed line with the added line in `near` its index that reads most alike,
    best-scoring pairs first, each line in one pair at most."""
    candidates: list[tuple[float, int, int]] = []
    for i, old in enumerate(removed):
        for j in near(i):
            if old.table != added[j].table:
                continue
            score = similarity(old.core, added[j].core)
            if score >= PAIR_THRESHOLD:
                candidates.append((score, i, j))
    candidates.sort(key=lambda item: (-item[0], item[1], item[2]))
    used_old: set[int] = set()
    used_new: set[int] = set()
    pairs = []
    for _, i, j in candidates:
        if i not in used_old and j not in used_new:
            used_old.add(i)
            used_new.add(j)
            pairs.append(Pair(removed[i], added[j]))
    return pairs


def _renamed_heading(removed: list[Line], added: list[Line]) -> list[Pair]:
    """One heading replaced by one heading of the same level in one place: a rename."""
    old = [line for line in removed if line.heading]
    new = [line for line in added if line.heading]
    if len(old) == len(new) == 1 and old[0].heading == new[0].heading:
        if old[0].trail == new[0].trail:
            return [Pair(old[0], new[0])]
    return []


def _by_hunk(diff: TextDiff, removed: list[Line], added: list[Line]) -> list[Pair]:
    """Pair lines inside each hunk, then lines that moved and changed across hunks."""
    old_hunk: dict[int, int] = {}
    new_hunk: dict[int, int] = {}
    for index, hunk in enumerate(diff.hunks):
        old_hunk.update(
            dict.fromkeys(range(hunk.old_start, hunk.old_start + len(hunk.removed)), index)
        )
        new_hunk.update(
            dict.fromkeys(range(hunk.new_start, hunk.new_start + len(hunk.added)), index)
        )
    groups: dict[int, tuple[list[Line], list[Line]]] = {}
    for line in removed:
        groups.setdefault(old_hunk.get(line.number, -1), ([], []))[0].append(line)
    for line in added:
        groups.setdefault(new_hunk.get(line.number, -1), ([], []))[1].append(line)
    pairs = [pair for old, new in groups.values() if old and new for pair in _pair_up(old, new)]
    paired = {id(pair.old) for pair in pairs} | {id(pair.new) for pair in pairs}
    rest_old = [line for line in removed if id(line) not in paired]
    rest_new = [line for line in added if id(line) not in paired]
    if rest_old and rest_new and len(rest_old) * len(rest_new) <= MOVED_PAIRS:
        pairs += _pair_up(rest_old, rest_new, window=len(rest_new))
    elif rest_old and rest_new:
        pairs += _pair_by_place(diff.hunks, rest_old, rest_new)
    paired = {id(pair.old) for pair in pairs} | {id(pair.new) for pair in pairs}
    for old, new in groups.values():
        rest_old = [line for line in old if id(line) not in paired]
        rest_new = [line for line in new if id(line) not in paired]
        pairs += _renamed_heading(rest_old, rest_new) or _in_place(rest_old, rest_new)
    return sorted(pairs, key=lambda pair: pair.new.number)


def _pair_by_place(hunks: Iterable[Hunk], removed: list[Line], added: list[Line]) -> list[Pair]:
    """In a change too large to compare every residual line with every other, a line taken out
    in one hunk and a line put in by a nearby hunk, where the old line would now stand, that
    read alike: the diff split a rewritten line into a removal and an addition."""
    shifts: list[tuple[int, int]] = []  # (first old line after a hunk, new - old from there)
    shift = 0
    for hunk in hunks:
        shift += len(hunk.added) - len(hunk.removed)
        shifts.append((hunk.old_start + len(hunk.removed), shift))
    ends = [end for end, _ in shifts]
    added = sorted(added, key=lambda line: line.number)
    numbers = [line.number for line in added]

    def near(i: int) -> range:
        number = removed[i].number
        before = bisect_right(ends, number) - 1
        expected = number + (shifts[before][1] if before >= 0 else 0)
        first = bisect_left(numbers, expected - PLACE_WINDOW)
        return range(first, bisect_right(numbers, expected + PLACE_WINDOW))

    return _best_first(removed, added, near)


def _in_place(removed: list[Line], added: list[Line]) -> list[Pair]:
    """As many lines out as in, in one place: each line was rewritten where it stood."""
    if not removed or len(removed) != len(added):
        return []
    pairs = list(map(Pair, removed, added))
    for pair in pairs:
        if (pair.old.heading, pair.old.table) != (pair.new.heading, pair.new.table):
            return []
        if similarity(pair.old.core, pair.new.core, IN_PLACE_THRESHOLD) < IN_PLACE_THRESHOLD:
            return []
    return pairs


def build_context(
    diff: TextDiff, old_text: str, new_text: str, watch: Watch, *, at: datetime
) -> Context:
    old_doc, new_doc = Doc(old_text), Doc(new_text)
    if diff.hunks:  # only the lines the diff touched are parsed
        old_side = _hunk_lines(old_doc, ((h.old_start, len(h.removed)) for h in diff.hunks))
        new_side = _hunk_lines(new_doc, ((h.new_start, len(h.added)) for h in diff.hunks))
    else:
        old_side, new_side = list(old_doc.lines), list(new_doc.lines)
    old_count = Counter(line.text for line in old_side)
    new_count = Counter(line.text for line in new_side)
    gone, came = old_count - new_count, new_count - old_count
    removed = [line for line in old_side if gone[line.text] > 0 and _take(gone, line.text)]
    added = [line for line in new_side if came[line.text] > 0 and _take(came, line.text)]
    moved = _moves(diff, old_doc, new_doc)
    old_wrapped, new_wrapped, rewrapped = _rewrapped(diff, old_doc.raw, old_text, new_text)
    removed = [line for line in removed if line.number not in old_wrapped]
    added = [line for line in added if line.number not in new_wrapped]
    markup = [line for line in (*removed, *added) if not line.table and not line.core]
    removed = [line for line in removed if line.table or line.core]
    added = [line for line in added if line.table or line.core]
    removed, added, reformatted = _cancel(removed, added, lambda line: line.core)
    moved += len(markup)
    pairs = _by_hunk(diff, removed, added) if diff.hunks else _pair_up(removed, added)
    paired_old = {id(pair.old) for pair in pairs}
    paired_new = {id(pair.new) for pair in pairs}
    added = [line for line in added if id(line) not in paired_new]
    removed = [line for line in removed if id(line) not in paired_old]
    copied_in, copied_out = _copies(added, old_doc), _copies(removed, new_doc)
    return Context(
        watch=watch,
        at=at,
        old_text=old_text,
        new_text=new_text,
        old_doc=old_doc,
        new_doc=new_doc,
        added=tuple(line for line in added if line.number not in copied_in),
        removed=tuple(line for line in removed if line.number not in copied_out),
        changed=tuple(pairs),
        reformatted=tuple(reformatted),
        moved=moved,
        rewrapped=rewrapped,
        repeated=len(copied_in) + len(copied_out),
    )


def seed_context(text: str, watch: Watch, *, at: datetime) -> Context:
    """`build_context(diff_texts("", text), "", text, …)`: a first version, every line of which
    is added. Nothing is there to pair, cancel, move, rewrap or copy, so only the lines are
    made, and those that are markup only (no words, not a table row) counted as moved."""
    old_doc, new_doc = Doc(""), Doc(text)
    made = (new_doc.line(number) for number in range(1, len(new_doc.raw) + 1))
    added, markup = [], 0
    for line in made:
        if line is None:
            continue
        if line.table or line.core:
            added.append(line)
        else:
            markup += 1
    return Context(
        watch=watch,
        at=at,
        old_text="",
        new_text=text,
        old_doc=old_doc,
        new_doc=new_doc,
        added=tuple(added),
        removed=(),
        changed=(),
        reformatted=(),
        moved=markup,
    )


COPIED_BLOCK = 3  # lines in a row, at least, to call a repeat a copied block
COPIED_SHARE = 0.8  # of which at least this share already on the other side


def _copies(lines: list[Line], other: Doc) -> set[int]:
    """Numbers of `lines` that copy a line the other text already has, in runs that are mostly
    such copies: a page body pasted twice, or the second copy taken out. A line the copy changed
    is not one of them, and is read as a change."""
    runs: list[list[Line]] = []
    for line in sorted(lines, key=lambda item: item.number):
        if runs and line.number - runs[-1][-1].number <= 2:
            runs[-1].append(line)
        else:
            runs.append([line])
    runs = [run for run in runs if len(run) >= COPIED_BLOCK]
    if not runs:
        return set()
    present = set(other.raw)
    found: set[int] = set()
    for run in runs:
        copies = [line.number for line in run if line.text in present]
        if len(copies) >= COPIED_SHARE * len(run):
            found.update(copies)
    return found


def _rewrapped(
    diff: TextDiff, old_raw: list[str], old_text: str = "", new_text: str = ""
) -> tuple[set[int], set[int], int]:
    """Old and new line numbers of hunks that turned some lines into a different number of
    lines a reader reads alike (a paragraph rewrapped, a callout unwrapped into its own lines,
    a run-together list split into items), and how many such hunks. Hunks apart only by blank
    lines are read together, as one edit; a line that only points to a page the other text
    still links to is not read (a region list regrouped under a linked heading drops its "See
    [Locations](…) for more information."). Each hunk is read once or twice: linear."""
    old: set[int] = set()
    new: set[int] = set()
    count = 0
    groups: list[list[Hunk]] = []
    for hunk in diff.hunks:
        if groups:
            last = groups[-1][-1]
            gap = old_raw[last.old_start - 1 + len(last.removed) : hunk.old_start - 1]
            if len(gap) <= 2 and not any(line.strip() for line in gap):
                groups[-1].append(hunk)
                continue
        groups.append([hunk])
    for group in groups:
        candidates = [group] + ([[hunk] for hunk in group] if len(group) > 1 else [])
        for hunks in candidates:
            removed = [line for hunk in hunks for line in hunk.removed if line.strip()]
            added = [line for hunk in hunks for line in hunk.added if line.strip()]
            removed = [line for line in removed if not kept_cross_reference(line, new_text)]
            added = [line for line in added if not kept_cross_reference(line, old_text)]
            if not removed or not added or len(removed) == len(added):
                continue
            if reading(removed) == reading(added):
                for hunk in hunks:
                    old.update(range(hunk.old_start, hunk.old_start + len(hunk.removed)))
                    new.update(range(hunk.new_start, hunk.new_start + len(hunk.added)))
                count += 1
                if hunks is group:
                    break
    return old, new, count


def _take(counter: Counter[str], key: str) -> bool:
    counter[key] -= 1
    return True


def _hunk_lines(doc: Doc, spans: Iterable[tuple[int, int]]) -> list[Line]:
    out = []
    for start, count in spans:
        for number in range(start, start + count):
            line = doc.line(number)
            if line is not None:
                out.append(line)
    return out


def _moves(diff: TextDiff, old_doc: Doc, new_doc: Doc) -> int:
    """How many lines only changed place: removed in one hunk and added back in another."""
    if diff.hunks:
        gone = Counter(line for hunk in diff.hunks for line in hunk.removed if line.strip())
        came = Counter(line for hunk in diff.hunks for line in hunk.added if line.strip())
        return sum((gone & came).values())
    old_lines, new_lines = old_doc.lines, new_doc.lines
    new_set = {line.text for line in new_lines}
    old_set = {line.text for line in old_lines}
    old_order = [line.text for line in old_lines if line.text in new_set]
    new_order = [line.text for line in new_lines if line.text in old_set]
    return int(old_order != new_order)
