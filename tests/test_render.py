"""render: golden renderings of a real-shaped diff, and hostile page text kept inert.

Golden files live beside the diff pairs: tests/fixtures/diff/<case>.unified.txt,
.terminal.txt, .terminal-color.txt and .html. UPDATE_GOLDEN=1 rewrites them.
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from monitor import render
from monitor.diff import diff_texts
from monitor.models import DiffStats, TextDiff
from monitor.render import render_html, render_terminal, render_unified

FIXTURES = Path(__file__).parent / "fixtures" / "diff"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"
GOLDEN_CASES = ["rsp-version-bump", "deprecations-removed-tail"]
OUR_ESCAPES = re.compile(
    "|".join(
        re.escape(code)
        for code in (
            render.RESET,
            render.BOLD_CYAN,
            render.RED,
            render.GREEN,
            render.RED_MARK,
            render.GREEN_MARK,
        )
    )
)
HOSTILE = (
    '<script>alert("x")</script> "><img src=x onerror=alert(1)> </td></table><h1>fake</h1> '
    "&amp; \x1b[2J\x1b]0;title\x07 \u202egnp.exe"
)


def assert_golden(path: Path, actual: str) -> None:
    if UPDATE_GOLDEN:
        path.write_text(actual, encoding="utf-8", newline="")
    assert actual == path.read_text(encoding="utf-8")


def case_diff(name: str) -> TextDiff:
    old = (FIXTURES / f"{name}.old.txt").read_text("utf-8")
    new = (FIXTURES / f"{name}.new.txt").read_text("utf-8")
    return diff_texts(old, new)


def hostile_diff() -> TextDiff:
    old = f"# Policy {HOSTILE}\nVersion 3.0\nsafe line"
    new = f"# Policy {HOSTILE}\nVersion 3.1 {HOSTILE}\nsafe line\nadded {HOSTILE}"
    return diff_texts(old, new)


# --- golden renderings ----------------------------------------------------------------------


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_unified_golden(name: str) -> None:
    text = render_unified(case_diff(name), old_label=f"{name} (old)", new_label=f"{name} (new)")
    assert_golden(FIXTURES / f"{name}.unified.txt", text)


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_terminal_plain_golden(name: str) -> None:
    assert_golden(FIXTURES / f"{name}.terminal.txt", render_terminal(case_diff(name), color=False))


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_terminal_color_golden(name: str) -> None:
    text = render_terminal(case_diff(name), color=True)
    assert_golden(FIXTURES / f"{name}.terminal-color.txt", text)


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_html_golden(name: str) -> None:
    assert_golden(FIXTURES / f"{name}.html", render_html(case_diff(name), title=f"{name}"))


# --- unified --------------------------------------------------------------------------------


def test_unified_headers_name_the_section_and_count_lines() -> None:
    diff = diff_texts("# T\n## A\na\nb\n## B\nc", "# T\n## A\na2\nb\n## B\nc\nd")
    assert render_unified(diff) == (
        "--- old\n+++ new\n@@ -3,1 +3,1 @@ ## A\n-a\n+a2\n@@ -6,0 +7,1 @@ ## B\n+d\n"
    )


def test_unified_hunk_without_section_has_a_bare_header() -> None:
    assert render_unified(diff_texts("x", "y")) == "--- old\n+++ new\n@@ -1,1 +1,1 @@\n-x\n+y\n"


def test_empty_diff_renders_as_nothing_or_a_note() -> None:
    empty = TextDiff((), DiffStats(0, 0, 0, 0, 0), ())
    assert render_unified(empty) == ""
    assert render_terminal(empty, color=True) == "no changes\n"
    assert "No changes." in render_html(empty)


# --- terminal -------------------------------------------------------------------------------


def test_plain_terminal_marks_words() -> None:
    diff = diff_texts("# Policy\nVersion 3.0\nx", "# Policy\nVersion 3.1\nx\nnew line")
    assert render_terminal(diff, color=False) == (
        "# Policy\n~ Version [-3.0-]{+3.1+}\n+ {+new line+}\n"
    )


def test_color_terminal_colours_lines_and_highlights_words() -> None:
    diff = diff_texts("# Policy\nVersion 3.0", "# Policy\nVersion 3.1")
    out = render_terminal(diff, color=True)
    assert f"{render.BOLD_CYAN}# Policy{render.RESET}" in out
    assert f"{render.RED}- Version {render.RED_MARK}3.0{render.RESET}" in out
    assert f"{render.GREEN}+ Version {render.GREEN_MARK}3.1{render.RESET}" in out


def test_section_heading_printed_once_for_consecutive_hunks() -> None:
    diff = diff_texts("## A\na\nkeep\nb", "## A\na2\nkeep\nb2")
    assert render_terminal(diff, color=False).count("## A") == 1


def test_page_text_cannot_drive_the_terminal() -> None:
    for color in (True, False):
        out = render_terminal(hostile_diff(), color=color)
        assert "\x1b" not in OUR_ESCAPES.sub("", out)
        assert "\x07" not in out and "\u202e" not in out
        assert "\\x1b[2J" in out and "\\u202e" in out
    assert "\x1b" not in render_terminal(hostile_diff(), color=False)


# --- HTML -----------------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_escapes_all_page_text() -> None:
    page = render_html(hostile_diff(), title=f"Usage Policy {HOSTILE}")
    parsed = _Collector()
    parsed.feed(page)
    assert parsed.tags <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "table", "tr", "th",
        "td", "del", "ins",
    }  # fmt: skip
    assert "onerror" not in parsed.attributes and "src" not in parsed.attributes
    text = "".join(parsed.text)
    assert '<script>alert("x")</script>' in text and "<h1>fake</h1>" in text
    assert "&amp;" in text  # shown literally, not decoded into "&"
    assert "\x1b" not in page and "\u202e" not in page


def test_html_is_self_contained_and_runs_no_script() -> None:
    page = render_html(case_diff("rsp-version-bump"), title="Usage Policy")
    assert page.startswith("<!doctype html>")
    assert "default-src 'none'" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_html_shows_old_and_new_side_by_side_with_word_marks() -> None:
    page = render_html(diff_texts("# P\nVersion 3.0", "# P\nVersion 3.1"), title="P")
    assert '<td class="old">Version <del>3.0</del></td>' in page
    assert '<td class="new">Version <ins>3.1</ins></td>' in page
    assert "<h2># P</h2>" in page
