"""CSS selectors: run one on a parsed page, or say in one line why Lexbor rejects it."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from monitor.errors import ExtractError

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


def css(tree: LexborHTMLParser, selector: str) -> list[LexborNode]:
    """The elements `selector` matches; ExtractError saying why when the selector is bad."""
    try:
        return _parse_selector(tree, selector)
    except (SelectolaxError, ValueError):
        raise ExtractError(f"bad CSS selector {selector!r}: {_why_bad(selector.strip())}") from None
