"""TextDiff → unified text, terminal text and a self-contained HTML page. Presentation only.

Page text is untrusted: the terminal renderer shows control characters as visible escapes
(a page cannot move the cursor or recolour the terminal) and the HTML renderer escapes every
character of it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence

from monitor.models import Hunk, Segment, TextDiff

Piece = tuple[bool, str]  # (changed on this side, text)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

RESET = "\x1b[0m"
BOLD_CYAN = "\x1b[1;36m"
RED = "\x1b[31m"
GREEN = "\x1b[32m"
RED_MARK = "\x1b[1;97;41m"
GREEN_MARK = "\x1b[1;30;42m"


def side_lines(segments: Sequence[Segment], side: str) -> list[list[Piece]]:
    """One side of a hunk ("old" or "new") as lines of pieces, rebuilt from its segments."""
    changed_op = "delete" if side == "old" else "insert"
    lines: list[list[Piece]] = [[]]
    for segment in segments:
        if segment.op not in ("equal", changed_op):
            continue
        first, *rest = segment.text.split("\n")
        changed = segment.op == changed_op
        if first:
            lines[-1].append((changed, first))
        for text in rest:
            lines.append([(changed, text)] if text else [])
    return lines


def merged_lines(segments: Sequence[Segment]) -> list[list[Segment]]:
    """Both sides interleaved, split into lines: what a word diff shows."""
    lines: list[list[Segment]] = [[]]
    for segment in segments:
        first, *rest = segment.text.split("\n")
        if first:
            lines[-1].append(Segment(segment.op, first))
        for text in rest:
            lines.append([Segment(segment.op, text)] if text else [])
    return lines


def _sections(diff: TextDiff) -> Iterator[tuple[str | None, Hunk]]:
    """Each hunk with the section heading to print before it (None: same as the last one)."""
    shown: str | None = None
    for hunk in diff.hunks:
        heading = hunk.section if hunk.section != shown else None
        shown = hunk.section
        yield heading, hunk


# --- unified --------------------------------------------------------------------------------


def _range(start: int, count: int) -> str:
    return f"{start - 1 if count == 0 else start},{count}"


def render_unified(diff: TextDiff, *, old_label: str = "old", new_label: str = "new") -> str:
    """A unified diff without context lines; each hunk header names its section."""
    if diff.empty:
        return ""
    out = [f"--- {old_label}", f"+++ {new_label}"]
    for hunk in diff.hunks:
        header = (
            f"@@ -{_range(hunk.old_start, len(hunk.removed))} "
            f"+{_range(hunk.new_start, len(hunk.added))} @@"
        )
        out.append(f"{header} {hunk.section}" if hunk.section else header)
        out.extend(f"-{line}" for line in hunk.removed)
        out.extend(f"+{line}" for line in hunk.added)
    return "\n".join(out) + "\n"


# --- terminal -------------------------------------------------------------------------------


def _visible(text: str) -> str:
    """Control characters as escapes such as \\x1b, so page text cannot drive the terminal."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode(), text)


def render_terminal(diff: TextDiff, *, color: bool) -> str:
    """Section headings, then each hunk. With color: removed lines red and added lines green,
    the changed words highlighted. Without: one word diff, marked [-removed-]{+added+}."""
    if diff.empty:
        return "no changes\n"
    out: list[str] = []
    for heading, hunk in _sections(diff):
        if heading is not None:
            out.append(f"{BOLD_CYAN}{_visible(heading)}{RESET}" if color else _visible(heading))
        out.extend(_colored_hunk(hunk) if color else _plain_hunk(hunk))
    return "\n".join(out) + "\n"


def _colored_hunk(hunk: Hunk) -> list[str]:
    """Removed lines red, added lines green; changed words marked only where a hunk has both."""
    both = bool(hunk.removed and hunk.added)
    out = []
    for side, sign, base, mark in (("old", "-", RED, RED_MARK), ("new", "+", GREEN, GREEN_MARK)):
        if not (hunk.removed if side == "old" else hunk.added):
            continue
        for line in side_lines(hunk.segments, side):
            text = "".join(
                f"{mark}{_visible(t)}{RESET}{base}" if changed and both else _visible(t)
                for changed, t in line
            )
            out.append(f"{base}{sign} {text}{RESET}".replace(f"{base}{RESET}", RESET))
    return out


_PLAIN_MARKS = {"equal": ("", ""), "delete": ("[-", "-]"), "insert": ("{+", "+}")}


def _plain_hunk(hunk: Hunk) -> list[str]:
    sign = "~" if hunk.removed and hunk.added else ("-" if hunk.removed else "+")
    out = []
    for line in merged_lines(hunk.segments):
        marked = "".join(
            f"{_PLAIN_MARKS[s.op][0]}{_visible(s.text)}{_PLAIN_MARKS[s.op][1]}" for s in line
        )
        out.append(f"{sign} {marked}")
    return out


# --- HTML -----------------------------------------------------------------------------------

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:80rem;padding:0 1rem;
color:#1a1a1a}
h1{font-size:1.4rem}h2{font-size:1.05rem;margin:1.6rem 0 .4rem;font-family:ui-monospace,monospace}
table{border-collapse:collapse;width:100%;table-layout:fixed;margin-bottom:.8rem}
th{text-align:left;font-weight:normal;color:#666;font-size:.85rem;padding:.2rem .5rem}
td{vertical-align:top;padding:.3rem .5rem;border:1px solid #ddd;white-space:pre-wrap;
word-wrap:break-word;font-family:ui-monospace,monospace;font-size:.85rem}
td.old{background:#fff5f5}td.new{background:#f3fbf3}
del{background:#f8c4c4;text-decoration:line-through}ins{background:#b8e6b8;text-decoration:none}
.stats{color:#555}
"""


def _escape(text: str) -> str:
    return html.escape(_visible(text))


def _html_line(line: list[Piece], tag: str) -> str:
    return "".join(
        f"<{tag}>{_escape(text)}</{tag}>" if changed else _escape(text) for changed, text in line
    )


def _html_side(hunk: Hunk, side: str) -> str:
    if not (hunk.removed if side == "old" else hunk.added):
        return ""
    tag = "del" if side == "old" else "ins"
    return "\n".join(_html_line(line, tag) for line in side_lines(hunk.segments, side))


def _html_hunk(hunk: Hunk) -> str:
    old_lines = f"old, line {hunk.old_start}" if hunk.removed else "old"
    new_lines = f"new, line {hunk.new_start}" if hunk.added else "new"
    return (
        f"<table><tr><th>{old_lines}</th><th>{new_lines}</th></tr>"
        f'<tr><td class="old">{_html_side(hunk, "old")}</td>'
        f'<td class="new">{_html_side(hunk, "new")}</td></tr></table>'
    )


def render_html(diff: TextDiff, *, title: str = "", about: Sequence[tuple[str, str]] = ()) -> str:
    """A self-contained HTML page: old and new side by side per hunk, changed words marked
    with <del> and <ins>; `about` rows (page URL, times, severity, facts) above the diff.
    Every piece of page text is escaped; the page runs no script."""
    stats = diff.stats
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{_escape(title or 'Changes')}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_escape(title or 'Changes')}</h1>",
        *(
            ['<table class="about">']
            + [f"<tr><th>{_escape(k)}</th><td>{_escape(v)}</td></tr>" for k, v in about]
            + ["</table>"]
            if about
            else []
        ),
        f'<p class="stats">{stats.lines_removed} lines removed, {stats.lines_added} added '
        f"({stats.chars_removed} characters removed, {stats.chars_added} added)</p>",
    ]
    parts.append(render_html_side_by_side(diff))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_html_side_by_side(diff: TextDiff) -> str:
    """The body of render_html: section headings, then old and new side by side per hunk."""
    if diff.empty:
        return "<p>No changes.</p>"
    parts = []
    for heading, hunk in _sections(diff):
        if heading is not None:
            parts.append(f"<h2>{_escape(heading)}</h2>")
        parts.append(_html_hunk(hunk))
    return "\n".join(parts)


_INLINE_TAGS = {"equal": "", "delete": "del", "insert": "ins"}


def render_html_inline(diff: TextDiff) -> str:
    """Section headings, then each hunk as one word diff: removed words in <del>, added words
    in <ins>, inside <pre>. Every piece of page text is escaped."""
    if diff.empty:
        return "<p>No changes.</p>"
    parts = []
    for heading, hunk in _sections(diff):
        if heading is not None:
            parts.append(f"<h2>{_escape(heading)}</h2>")
        lines = []
        for line in merged_lines(hunk.segments):
            lines.append(
                "".join(
                    f"<{tag}>{_escape(s.text)}</{tag}>"
                    if (tag := _INLINE_TAGS[s.op])
                    else _escape(s.text)
                    for s in line
                )
            )
        parts.append(f'<pre class="inline">{chr(10).join(lines)}</pre>')
    return "\n".join(parts)
