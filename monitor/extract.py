"""HTML page → normalised, deterministic text. The only module that imports selectolax; pure.

The text has one block per line and no blank lines (blank lines inside ``<pre>`` are dropped
too), so that a line-level diff lines up with the page's blocks:

    # Responsible Scaling Policy
    Version 3.1 · Effective March 31, 2026
    ## 1. Capability thresholds
    - Thresholds are reviewed using chatgpt-4o-latest model outputs
      - nested items are indented by two spaces per level
    1. ordered items are numbered
    | Model | Shutdown date | Replacement |
    > quoted text

Headings are written as ``#`` × level, list items as ``- `` or ``N. ``, table rows as
``| cell | cell |`` (a rowspan repeats its cell in each row it covers, a colspan adds empty cells
after it, ``|`` inside a cell is written ``\\|``), blockquotes as ``> ``; ``<pre>`` keeps its lines
and their indentation. ``<sup>`` is written ``^1`` so a footnote mark never fuses with a model
id. Links are written ``[text](url)`` for index watches and as their text otherwise, with URLs
made absolute and stripped of tracking parameters. Whitespace is collapsed only where HTML
collapses it, so ``<b>GPT</b>-4o`` stays ``GPT-4o``. Same bytes in, same text out.

Dropped: scripts, styles, templates, embedded media, form fields, comments, hidden elements
(``hidden``, ``aria-hidden="true"``, closed dialogs; ``hidden="until-found"`` is kept), the
watch's ``ignore`` selectors, and nav, aside and page-level header and footer unless the
selection is one of them.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from monitor.errors import ExtractError

EXTRACT_VERSION = 2

# --- decoding -------------------------------------------------------------------------------

# WHATWG encoding labels → the Python codec that decodes them as browsers do.
_ENCODINGS = {
    **dict.fromkeys(
        "ascii us-ascii iso-8859-1 iso8859-1 iso_8859-1 latin1 latin-1 l1 cp819 ibm819 "
        "csisolatin1 iso-ir-100 windows-1252 cp1252 x-cp1252".split(),
        "cp1252",
    ),
    **dict.fromkeys(
        "shift_jis shift-jis sjis x-sjis ms_kanji csshiftjis windows-31j cp932 ms932".split(),
        "cp932",
    ),
    **dict.fromkeys("euc-jp x-euc-jp cseucpkdfmtjapanese".split(), "euc_jp"),
    **dict.fromkeys("utf-8 utf8 unicode-1-1-utf-8 x-unicode20utf8".split(), "utf-8"),
    **dict.fromkeys("iso-8859-9 latin5 windows-1254".split(), "cp1254"),
    **dict.fromkeys("tis-620 iso-8859-11 windows-874".split(), "cp874"),
    **dict.fromkeys("gb2312 gbk x-gbk gb18030".split(), "gb18030"),
    **dict.fromkeys("big5 big5-hkscs".split(), "big5hkscs"),
    **dict.fromkeys("euc-kr ks_c_5601-1987 windows-949".split(), "cp949"),
    **dict.fromkeys("utf-16 utf-16le".split(), "utf-16-le"),
    "utf-16be": "utf-16-be",
}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_PRESCAN_BYTES = 4096


def _codec(label: str | None) -> str | None:
    """A WHATWG encoding label → the Python codec a browser's decoder matches; None if unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if name in _ENCODINGS:
        return _ENCODINGS[name]
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


def decode_html(body: bytes, charset: str | None) -> str:
    """Bytes → str: a byte-order mark wins (as in browsers), then the header charset, then a
    <meta> declaration in the first 4 KB, else UTF-8. Undecodable bytes become U+FFFD."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, errors="replace")
    codec = _codec(charset) or _meta_codec(body[:_PRESCAN_BYTES]) or "utf-8"
    return body.decode(codec, errors="replace")


def _meta_codec(head: bytes) -> str | None:
    match = _META_CHARSET.search(head)
    codec = _codec(match.group(1).decode("ascii")) if match else None
    if codec is not None and codec.startswith("utf-16"):
        return "utf-8"  # a <meta> readable as ASCII cannot be UTF-16
    return codec


# --- selectors ------------------------------------------------------------------------------

_PSEUDO_CLASSES = frozenset(
    "active any-link blank checked current disabled empty enabled first-child first-of-type "
    "focus has hover is last-child last-of-type lexbor-contains link not nth-child "
    "nth-last-child nth-last-of-type nth-of-type only-child only-of-type optional "
    "placeholder-shown read-only read-write required root where".split()
)
_PSEUDO = re.compile(r"(?<!:):([A-Za-z][\w-]*)")


def _parse_selector(tree: LexborHTMLParser | LexborNode, selector: str) -> list[LexborNode]:
    if not selector.strip():
        raise ValueError("empty selector")
    return tree.css(selector)


def selector_problem(selector: str) -> str | None:
    """None if selectolax (Lexbor) accepts the CSS selector, else one line saying why not."""
    try:
        _parse_selector(LexborHTMLParser("<p></p>"), selector)
    except (SelectolaxError, ValueError):
        return f"bad CSS selector {selector!r}: {_why_bad(selector.strip())}"
    return None


def _why_bad(selector: str) -> str:
    if not selector:
        return "the selector is empty"
    for opening, closing in ("[]", "()"):
        if selector.count(opening) != selector.count(closing):
            return f"unbalanced '{opening}' and '{closing}'"
    if selector.count('"') % 2 or selector.count("'") % 2:
        return "unclosed quote"
    if selector[-1] in ">+~,":
        return f"nothing after the final '{selector[-1]}'"
    if selector[0] in ">+~,":
        return f"nothing before the leading '{selector[0]}'"
    if ",," in "".join(selector.split()):
        return "an empty item in the selector list (',,')"
    if "::" in selector:
        return "pseudo-elements such as '::before' are not supported"
    for name in _PSEUDO.findall(selector):
        if name.lower() not in _PSEUDO_CLASSES:
            return f"unknown or unsupported pseudo-class ':{name}'"
    return "Lexbor cannot parse it; check the syntax"


def rules_sha256(
    select: str | None, ignore: Sequence[str], ignore_text: Sequence[str], kind: str
) -> str:
    """SHA-256 of the rules that shape a version's text, so a rule edit is told from a change."""
    rules = {
        "extract_version": EXTRACT_VERSION,
        "select": select,
        "ignore": sorted(set(ignore)),  # every ignore selector applies; order has no effect
        "ignore_text": list(ignore_text),  # applied in order
        "kind": kind,
    }
    canonical = json.dumps(rules, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- URLs -----------------------------------------------------------------------------------

_TRACKING_PARAMS = frozenset(
    "gclid fbclid dclid msclkid yclid mc_cid mc_eid _hsenc _hsmi ref_src igshid _ga _gl "
    "mkt_tok".split()
)
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)
_HEX_TOKEN = re.compile(r"[0-9a-f]{16,}", re.I)
_B64_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{20,}={0,2}")
_WORDS = re.compile(r"(?:[A-Za-z]+|\d+)(?:[-_](?:[A-Za-z]+|\d+))+")  # a slug, not a token


def _is_opaque_token(value: str) -> bool:
    if _UUID.fullmatch(value):
        return True
    if _HEX_TOKEN.fullmatch(value) and not value.isdigit():
        return True
    return bool(
        _B64_TOKEN.fullmatch(value)
        and any(c.isdigit() for c in value)
        and any(c.islower() for c in value)
        and any(c.isupper() for c in value)
        and not _WORDS.fullmatch(value)
    )


def _keep_param(pair: str) -> bool:
    name, _, value = pair.partition("=")
    name = unquote(name).lower()
    if name.startswith("utm_") or name in _TRACKING_PARAMS:
        return False
    return not _is_opaque_token(unquote(value))


_URL_FIXES = str.maketrans({"\t": None, "\n": None, "\r": None, " ": "%20"})


def clean_url(href: str, base_url: str) -> str | None:
    """An href → absolute URL without tracking parameters, UUID path segments → {id}.
    None for links that lead nowhere (empty, javascript:, data:)."""
    href = href.strip().translate(_URL_FIXES)
    if not href or href.lower().startswith(("javascript:", "data:")):
        return None
    try:
        parts = urlsplit(urljoin(base_url, href))
    except ValueError:  # e.g. a broken IPv6 host: the link text is kept, the URL is not
        return None
    if parts.scheme not in ("http", "https"):
        return urlunsplit(parts)
    path = "/".join("{id}" if _UUID.fullmatch(seg) else seg for seg in parts.path.split("/"))
    query = "&".join(pair for pair in parts.query.split("&") if pair and _keep_param(pair))
    fragment = "" if parts.fragment.startswith(":~:") else parts.fragment
    return urlunsplit((parts.scheme, parts.netloc.lower(), path, query, fragment))


# --- the text writer ------------------------------------------------------------------------

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
# hidden="until-found" is collapsed content a reader can open; a closed <dialog> is not shown
_HIDDEN = '[hidden]:not([hidden="until-found"]), [aria-hidden="true"], dialog:not([open])'
_LANDMARKS = "nav, aside, header, footer"
# header/footer inside these belong to the content, not to the page (ARIA banner/contentinfo)
_CONTENT_LANDMARKS = ", ".join(
    f"{outer} {inner}" for outer in ("article", "main", "section") for inner in ("header", "footer")
)


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
class _Options:
    links: bool  # write [text](url)
    base_url: str
    skip: frozenset[int]  # mem_id of elements dropped with their subtree


class _Writer:
    """Walks element subtrees and writes lines. A flat writer (table cells) writes one line."""

    def __init__(self, options: _Options, *, flat: bool = False) -> None:
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
        text = raw.translate(_CHAR_FIXES)
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
        rows: list[LexborNode] = []
        for child in self._children(table):
            if child.tag == "caption":
                self._emit(self._cell_text(child))
            elif child.tag in ("thead", "tbody", "tfoot"):
                rows.extend(row for row in self._children(child) if row.tag == "tr")
            elif child.tag == "tr":
                rows.append(child)
        for cells in _grid(rows, self._children, self._cell_text):
            if any(cells):
                self._emit("|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|")

    def _children(self, node: LexborNode) -> list[LexborNode]:
        skip = self.options.skip
        return [child for child in node.iter() if child.mem_id not in skip]

    def _cell_text(self, cell: LexborNode) -> str:
        writer = _Writer(self.options, flat=True)
        for child in cell.iter(include_text=True):
            writer.walk(child)
        return writer.flat_text().replace("|", "\\|")

    def _emit(self, line: str) -> None:
        if line:
            self._parts = [line]
            self._flush()


def _int_attr(node: LexborNode, name: str, default: int) -> int:
    value = node.attributes.get(name)
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _span(value: str | None, limit: int) -> int:
    try:
        span = int(value) if value else 1
    except ValueError:
        return 1
    return limit if span == 0 else max(1, min(span, limit))


def _grid(
    rows: list[LexborNode],
    children: Callable[[LexborNode], list[LexborNode]],
    cell_text: Callable[[LexborNode], str],
) -> list[list[str]]:
    """Rows of cell texts; a rowspan repeats its text below, a colspan pads with empty cells."""
    grid: list[list[str]] = []
    carried: dict[int, tuple[str, int]] = {}  # column → (text, rows still covered)

    def take(column: int, out: list[str]) -> None:
        text, left = carried.pop(column)
        out.append(text)
        if left > 1:
            carried[column] = (text, left - 1)

    for index, row in enumerate(rows):
        out: list[str] = []
        for cell in children(row):
            if cell.tag not in ("td", "th"):
                continue
            while len(out) in carried:
                take(len(out), out)
            text = cell_text(cell)
            attributes = cell.attributes
            rowspan = _span(attributes.get("rowspan"), len(rows) - index)
            for offset in range(_span(attributes.get("colspan"), 1000)):
                if rowspan > 1:
                    carried[len(out)] = (text if offset == 0 else "", rowspan - 1)
                out.append(text if offset == 0 else "")
        for column in sorted(c for c in carried if c >= len(out)):
            out.extend([""] * (column - len(out)))
            take(column, out)
        grid.append(out)
    return grid


# --- extraction -----------------------------------------------------------------------------

_EMPTIED_LINE = re.compile(r"(?:> ?)*\s*(?:#{1,6}|-|\d+\.)?[\s|]*")


def _css(tree: LexborHTMLParser, selector: str) -> list[LexborNode]:
    try:
        return _parse_selector(tree, selector)
    except (SelectolaxError, ValueError):
        raise ExtractError(f"bad CSS selector {selector!r}: {_why_bad(selector.strip())}") from None


def _select(tree: LexborHTMLParser, select: str | None, url: str) -> list[LexborNode]:
    if select is not None:
        nodes = _css(tree, select)
        if not nodes:
            raise ExtractError(
                f"selector {select!r} matched nothing on {url}; "
                "check the page or the watch's select"
            )
    else:
        body = tree.body or tree.root
        nodes = tree.css("main") or tree.css("article") or ([body] if body is not None else [])
    chosen = {node.mem_id for node in nodes}
    return [node for node in nodes if not _has_ancestor_in(node, chosen)]


def _has_ancestor_in(node: LexborNode, ids: set[int]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id in ids:
            return True
        parent = parent.parent
    return False


def _skipped(tree: LexborHTMLParser, roots: list[LexborNode], ignore: Sequence[str]) -> set[int]:
    """Elements dropped with their subtree: hidden ones, ignored ones and page landmarks
    (nav, aside, page header and footer) unless the selection itself is one of them."""
    dropped = {node.mem_id for node in tree.css(_HIDDEN)}
    for selector in ignore:
        dropped.update(node.mem_id for node in _css(tree, selector))
    landmarks = {node.mem_id for node in tree.css(_LANDMARKS)}
    landmarks -= {node.mem_id for node in tree.css(_CONTENT_LANDMARKS)}
    landmarks -= {root.mem_id for root in roots}
    return dropped | landmarks


def _base_url(tree: LexborHTMLParser, url: str) -> str:
    base = tree.css_first("base[href]")
    href = base.attributes.get("href") if base is not None else None
    return urljoin(url, href.strip()) if href else url


def _drop_text(lines: list[str], patterns: Sequence[str]) -> list[str]:
    """Remove the spans each pattern matches, line by line; drop lines left without content."""
    for pattern in patterns:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ExtractError(f"bad ignore_text regex {pattern!r}: {exc}") from None
        kept = []
        for line in lines:
            if regex.search(line):
                line = regex.sub("", line)
                indent = line[: len(line) - len(line.lstrip(" "))]
                line = indent + " ".join(line.split())
                if _EMPTIED_LINE.fullmatch(line):
                    continue
            kept.append(line)
        lines = kept
    return lines


def extract_text(
    body: bytes,
    *,
    charset: str | None,
    base_url: str,
    select: str | None = None,
    ignore: Sequence[str] = (),
    ignore_text: Sequence[str] = (),
    kind: str = "generic",
    min_length: int = 1,
) -> str:
    """The page's content as normalised text (see the module docstring for its format).
    Raises ExtractError when a selector is bad or matches nothing, or the text is too short."""
    tree = LexborHTMLParser(decode_html(body, charset))
    roots = _select(tree, select, base_url)
    skip = _skipped(tree, roots, ignore)
    options = _Options(kind == "index", _base_url(tree, base_url), frozenset(skip))
    writer = _Writer(options)
    for root in roots:
        writer.walk(root)
    lines = unicodedata.normalize("NFC", "\n".join(writer.finish())).split("\n")
    if ignore_text:
        lines = _drop_text(lines, ignore_text)
    text = "\n".join(lines)
    if len(text) < min_length:
        raise ExtractError(
            f"content empty or too short on {base_url}: {len(text)} characters, "
            f"min_length is {min_length}; check the page or the watch's select and ignore"
        )
    return text


# --- JavaScript shells ----------------------------------------------------------------------

_ENABLE_JS = re.compile(
    r"(?:enable|turn on|activate|allow)\s+javascript|javascript\s+(?:is\s+)?(?:required|disabled"
    r"|must be enabled|needs to be enabled)|requires?\s+javascript|javascript\s*を\s*有効",
    re.IGNORECASE,
)
_APP_ROOTS = "#root, #__next, #app, #__nuxt, #svelte, [data-reactroot]"
_SHELL_TEXT = 400  # visible characters below which a page may be an unrendered app


def looks_like_js_shell(body: bytes, charset: str | None) -> bool:
    """True when the page shows almost no text and either asks for JavaScript or has an empty
    framework root: a browser is needed to see its content."""
    tree = LexborHTMLParser(decode_html(body, charset))
    root = tree.body
    if root is None:
        return False
    writer = _Writer(_Options(False, "", frozenset(n.mem_id for n in tree.css(_HIDDEN))))
    writer.walk(root)
    visible = " ".join(writer.finish())
    if len(visible) >= _SHELL_TEXT:
        return False
    if _ENABLE_JS.search(visible):
        return True
    if any(_ENABLE_JS.search(node.text(deep=True)) for node in tree.css("noscript")):
        return True
    return any(not node.text(deep=True).strip() for node in tree.css(_APP_ROOTS))
