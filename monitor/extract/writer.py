"""The block writer: element subtrees → one line per block, with heading, list and quote
prefixes, links as ``[text](url)`` when asked, and whitespace collapsed where HTML collapses it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from selectolax.lexbor import LexborNode

from monitor.extract.tables import table_lines
from monitor.extract.urls import clean_url

_SKIP_TAGS = frozenset(
    "script style noscript template svg iframe canvas object embed input select textarea "
    "datalist audio video head title meta link base".split()
)
_BLOCK_TAGS = frozenset(
    "address article aside blockquote body center dd details dialog dir div dl dt fieldset "
    "figcaption figure footer form header hgroup hr html legend li main menu nav ol p pre "
    "search section summary table caption thead tbody tfoot tr td th ul".split()
)
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_LIST_TAGS = frozenset(("ul", "ol", "menu", "dir"))
_STRUCK_TAGS = frozenset(("del", "s", "strike"))
_CHAR_FIXES = str.maketrans(
    {
        "\u00a0": " ",  # no-break space
        "\u202f": " ",  # narrow no-break space
        "\u2007": " ",  # figure space
        "\u2011": "-",  # non-breaking hyphen, as in "GPT\u20115"
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
        "\u00ad": None,  # soft hyphen
    }
)
_FIXABLE = re.compile("[" + "".join(map(chr, _CHAR_FIXES)) + "]")  # what it changes


@dataclass
class _Link:
    url: str
    opened: bool = False


@dataclass
class _List:
    ordered: bool
    number: int


@dataclass
class _Prefix:
    """What a list item or blockquote puts before each of its lines; `first` until one is out."""

    first: str
    rest: str
    used: bool = False
    item: bool = False


@dataclass(frozen=True)
class Options:
    links: bool  # write [text](url)
    base_url: str
    skip: frozenset[int]  # mem_id of elements dropped with their subtree


class Writer:
    """Walks element subtrees and writes lines. A flat writer (table cells) writes one line."""

    def __init__(self, options: Options, *, flat: bool = False) -> None:
        self.options = options
        self.flat = flat
        self.lines: list[str] = []
        self._parts: list[str] = []
        self._space = False
        self._pre = 0
        self._heading = 0
        self._lists: list[_List] = []
        self._prefixes: list[_Prefix] = []  # outermost first
        self._links: list[_Link] = []

    # walking

    def walk(self, node: LexborNode) -> None:
        stack: list[LexborNode | Callable[[], None]] = [node]
        while stack:
            item = stack.pop()
            if not isinstance(item, LexborNode):
                item()
                continue
            tag = item.tag
            if tag == "-text":
                self._text(item.text_content or "")
                continue
            if tag is None or tag[0] == "-" or tag in _SKIP_TAGS:
                continue
            if item.mem_id in self.options.skip:
                continue
            if tag == "br":
                self._br()
            elif tag == "table" and not self.flat:
                self._table(item)
            else:
                leave = self._enter(tag, item)
                if leave is not None:
                    stack.append(leave)
                stack.extend(reversed(list(item.iter(include_text=True))))

    def _enter(self, tag: str, node: LexborNode) -> Callable[[], None] | None:
        if tag == "a":
            return self._open_link(node)
        if tag == "sup":
            self._put("^")  # footnote marks must not merge into ids: "…20250805^1"
            return None
        if tag in _STRUCK_TAGS:  # a reader sees it crossed out: "~~2026-02-05~~ 2026-05-05"
            self._put("~~")
            return self._close_struck
        if tag not in _BLOCK_TAGS and tag not in _HEADINGS:
            return None
        self._boundary()
        if tag in _HEADINGS:
            self._heading = _HEADINGS[tag]
            return self._leave_heading
        if tag in _LIST_TAGS:
            self._lists.append(_List(tag == "ol", _int_attr(node, "start", 1)))
            return self._leave_list
        if tag == "li":
            self._start_item(node)
            return self._leave_prefix
        if tag == "blockquote":
            self._prefixes.append(_Prefix("> ", "> "))
            return self._leave_prefix
        if tag == "pre":
            self._pre += 1
            return self._leave_pre
        return self._boundary

    def _close_struck(self) -> None:
        self._space = False
        self._parts.append("~~")

    def _leave_heading(self) -> None:
        self._boundary()
        self._heading = 0

    def _leave_list(self) -> None:
        self._boundary()
        self._lists.pop()

    def _start_item(self, node: LexborNode) -> None:
        marker = "- "
        current = self._lists[-1] if self._lists else None
        if current is not None and current.ordered:
            current.number = _int_attr(node, "value", current.number)
            marker = f"{current.number}. "
            current.number += 1
        open_items = 0
        for prefix in self._prefixes:
            prefix.used = True  # an item with nothing before its sublist shows no marker
            open_items += prefix.item
        # a list nested directly in a list (no <li> between) still indents
        indent = "  " * max(0, len(self._lists) - 1 - open_items)
        self._prefixes.append(_Prefix(indent + marker, indent + "  ", item=True))

    def _leave_prefix(self) -> None:
        self._boundary()
        self._prefixes.pop()

    def _leave_pre(self) -> None:
        self._boundary()
        self._pre -= 1

    # links

    def _open_link(self, node: LexborNode) -> Callable[[], None] | None:
        if not self.options.links:
            return None
        href = node.attributes.get("href")
        url = clean_url(href, self.options.base_url) if href else None
        if url is None:
            return None
        self._links.append(_Link(url))
        return self._close_link

    def _close_link(self) -> None:
        link = self._links.pop()
        if link.opened:
            self._parts.append(f"]({link.url})")

    # text

    def _text(self, raw: str) -> None:
        text = _fix_chars(raw)
        if not text:
            return
        if self._pre and not self.flat:
            self._pre_text(text)
            return
        words = text.split()
        if not words:
            self._space = True
            return
        if text[0].isspace():
            self._space = True
        self._put(" ".join(words))
        self._space = text[-1].isspace()

    def _pre_text(self, text: str) -> None:
        first, *rest = text.split("\n")
        self._put(first)
        for line in rest:
            self._flush()
            self._put(line)

    def _put(self, text: str) -> None:
        if self._space and self._parts:
            self._parts.append(" ")
        self._space = False
        for link in self._links:
            if not link.opened:
                self._parts.append("[")
                link.opened = True
        self._parts.append(text)

    def _br(self) -> None:
        if self.flat or (self._heading and not self._pre):
            self._space = True
        else:
            self._flush()

    def _boundary(self) -> None:
        if self.flat:
            self._space = True
        else:
            self._flush()

    def _flush(self) -> None:
        if not self._parts:
            self._space = False
            return
        for link in self._links:
            if link.opened:
                self._parts.append(f"]({link.url})")
                link.opened = False
        text = "".join(self._parts)
        self._parts.clear()
        self._space = False
        text = text.rstrip() if self._pre else text.strip()
        if text:
            self.lines.append(self._prefix() + text)

    def _prefix(self) -> str:
        parts = []
        for prefix in self._prefixes:
            parts.append(prefix.rest if prefix.used else prefix.first)
            prefix.used = True
        if self._heading:
            parts.append("#" * self._heading + " ")
        return "".join(parts)

    def flat_text(self) -> str:
        return "".join(self._parts).strip()

    def finish(self) -> list[str]:
        self._boundary()
        return self.lines

    # tables

    def _table(self, table: LexborNode) -> None:
        self._boundary()
        for line in table_lines(table, self._children, self._cell_text):
            self._emit(line)

    def _children(self, node: LexborNode) -> list[LexborNode]:
        skip = self.options.skip
        return [child for child in node.iter() if child.mem_id not in skip]

    def _cell_text(self, cell: LexborNode) -> str:
        children = list(cell.iter(include_text=True))
        if all(child.tag == "-text" for child in children):
            # most cells hold text alone: its words, as the flat writer would put them
            text = "".join(child.text_content or "" for child in children)
            return " ".join(_fix_chars(text).split()).replace("|", "\\|")
        writer = Writer(self.options, flat=True)
        for child in children:
            writer.walk(child)
        return writer.flat_text().replace("|", "\\|")

    def _emit(self, line: str) -> None:
        if line:
            self._parts = [line]
            self._flush()


def _fix_chars(text: str) -> str:
    # translate looks up every character; most texts hold none of those it changes
    if text.isascii() or _FIXABLE.search(text) is None:
        return text
    return text.translate(_CHAR_FIXES)


def _int_attr(node: LexborNode, name: str, default: int) -> int:
    value = node.attributes.get(name)
    try:
        return int(value) if value else default
    except ValueError:
        return default
