"""Page problems: tells a bot wall, a captcha, an "enable JavaScript" shell, an error page
served with 200 or an empty body from a real page, by looking only at the bytes that arrived."""

from __future__ import annotations

import html
import re

from monitor.error_pages import ERROR_HEADING, ERROR_TEXT_MAX
from monitor.models import FetchProblem, ProblemKind

BROWSER_HINT = 'try fetcher = "browser" for this watch'

HEAD_BYTES = 16_384  # markers are looked for only in the start of the page
TEXT_BYTES = 1_048_576  # visible text is measured over at most this much
FIRST_WINDOW = 8192  # visible text is measured over windows of the page doubling from this
SNIFF_BYTES = 1024

# (what it is, pattern on the lower-cased, unescaped start of the page, most visible characters
# a page may have and still be that wall). A real page can carry a captcha form or a
# "please enable JavaScript" banner; a wall carries little else. Real pages behind Cloudflare
# load /cdn-cgi/challenge-platform/scripts/…; only a challenge loads …/challenge-platform/h/….
_WALLS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    (
        "Cloudflare challenge",
        re.compile(
            r"cf_chl_|cf-chl-|/cdn-cgi/challenge-platform/h/|<title>just a moment\.\.\.</title>"
        ),
        3000,
    ),
    (
        "Cloudflare block",
        re.compile(
            r"attention required! \| cloudflare|sorry, you have been blocked|cf-error-details"
        ),
        3000,
    ),
    (
        "Akamai Access Denied",
        re.compile(r"access denied.*reference #\s?\d"),
        3000,
    ),
    (
        "captcha",
        re.compile(
            r"hcaptcha|g-recaptcha|recaptcha|captcha-delivery\.com|px-captcha"
            r"|verify (?:that )?you are (?:a )?human|are you a robot|i'?m not a robot|press & hold"
        ),
        600,
    ),
    (
        "page needs JavaScript",
        re.compile(
            r"enable javascript and cookies to continue|please enable javascript"
            r"|you need to enable javascript|javascript is (?:disabled|required)"
            r"|(?:turn on|enable) javascript (?:to|in your browser)|requires javascript"
        ),
        600,
    ),
)
# On 403 and 503 a weaker sign is enough and more text is allowed.
_WEAK_WALL = re.compile(r"just a moment|access denied|captcha|cloudflare|akamai|ddos protection")
_WALL_STATUSES = (403, 503)
_WALL_STATUS_TEXT_MAX = 6000

_TINY_TEXT = 300  # so little text that an error phrase anywhere in it decides
# more visible text than any wall or error page may have: past it, measuring stops
TEXT_ENOUGH = max(_WALL_STATUS_TEXT_MAX, ERROR_TEXT_MAX, *(most for _, _, most in _WALLS))
_HEADINGS = re.compile(r"<(title|h1|h2)\b[^>]*>(.{0,400}?)</\1\s*>", re.DOTALL)
_INVISIBLE = re.compile(r"<!--|<(script|style|noscript|template|svg)\b", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")
_SPACE = re.compile(r"\s+")


def detect_problem(body: bytes, status: int, content_type: str | None) -> FetchProblem | None:
    """A bot wall, an error page served with 200, or an empty body; None for a real page.

    Pure: looks only at the bytes. Markers are searched in the first 16 KB; a page with a lot of
    visible text is never taken for a wall, whatever scripts or banners it carries.
    """
    if not body.strip():
        return FetchProblem(ProblemKind.EMPTY, "empty body; will try again at the next check", True)
    if not _looks_like_html(body, content_type):
        return None
    text = _visible_text_upto(body[:TEXT_BYTES])
    if len(text) > TEXT_ENOUGH and 200 <= status < 300:
        return None  # more text than any wall or error page shows: a real page
    head = _plain(body[:HEAD_BYTES])
    wall = _wall(head, status, len(text))
    if wall:
        return FetchProblem(ProblemKind.BLOCKED, f"blocked by a bot wall ({wall}); {BROWSER_HINT}")
    if not 200 <= status < 300:
        return None
    error = _error_heading(head, text)
    if error:
        return FetchProblem(
            ProblemKind.EMPTY,
            f'error page served with HTTP {status} ("{error}"); '
            "the site may be down, will try again at the next check",
            transient=True,
        )
    if not text:
        return FetchProblem(
            ProblemKind.EMPTY, f"page has no visible text (built by JavaScript?); {BROWSER_HINT}"
        )
    return None


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    start = body[:SNIFF_BYTES].lower()
    return any(tag in start for tag in (b"<!doctype html", b"<html", b"<head", b"<body"))


def _plain(data: bytes) -> str:
    """Lower-cased, entity-decoded, one-space text of raw HTML bytes, tags kept."""
    text = html.unescape(data.decode("utf-8", errors="replace")).replace("\u2019", "'")
    return _SPACE.sub(" ", text).lower()


def _visible_text_upto(data: bytes) -> str:
    """The page's visible text, or, once a start of the page shows more than TEXT_ENOUGH
    characters of it, that start's text: walls and error pages say little, so the rest of a real
    page (most of a 2 MB page) need not be read. A start cut just before a `<` has no more text
    than the whole page (no tag is cut in two), so the answer is never "little" by mistake."""
    window = FIRST_WINDOW
    while window < len(data):
        cut = data.rfind(b"<", 0, window)
        if cut <= 0:
            break
        text = _visible_text(data[:cut])
        if len(text) > TEXT_ENOUGH:
            return text
        window *= 2
    return _visible_text(data)


def _visible_text(data: bytes) -> str:
    text = _without_invisible(data.decode("utf-8", errors="replace"))
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()


def _without_invisible(text: str) -> str:
    """Drop comments and script, style, noscript, template and svg elements, in linear time
    (a regex would go quadratic on a page full of unclosed <script tags)."""
    lower = text.lower()
    kept: list[str] = []
    pos = 0
    while match := _INVISIBLE.search(text, pos):
        kept.append(text[pos : match.start()])
        closer = "-->" if match.group(1) is None else f"</{match.group(1).lower()}"
        end = lower.find(closer, match.end())
        if end < 0:
            return " ".join(kept)
        pos = lower.find(">", end) + 1 or len(text)
    kept.append(text[pos:])
    return " ".join(kept)


def _wall(head: str, status: int, text_size: int) -> str | None:
    wall_status = status in _WALL_STATUSES
    for name, pattern, text_max in _WALLS:
        allowed = max(text_max, _WALL_STATUS_TEXT_MAX) if wall_status else text_max
        if text_size <= allowed and pattern.search(head):
            return name
    if wall_status and text_size <= _WALL_STATUS_TEXT_MAX:
        weak = _WEAK_WALL.search(head)
        if weak:
            return f'HTTP {status} with "{weak.group(0)}"'
    return None


def _error_heading(head: str, text: str) -> str | None:
    if len(text) > ERROR_TEXT_MAX:
        return None
    headings = [
        _SPACE.sub(" ", _TAG.sub(" ", inner)).strip() for _, inner in _HEADINGS.findall(head)
    ]
    if len(text) <= _TINY_TEXT:
        headings.append(text.lower().replace("\u2019", "'"))
    for heading in headings:
        if ERROR_HEADING.search(heading):
            return heading[:80]
    return None
