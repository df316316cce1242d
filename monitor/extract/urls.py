"""Link URLs: made absolute, stripped of tracking parameters, UUID path segments → {id}."""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

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
