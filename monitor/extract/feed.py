"""RSS 0.9x/1.0/2.0 and Atom feeds → records text. The only module that imports feedparser.

Each item is a record ``{"title", "link", "published", "summary", "guid"}`` (summary as plain
text, dates in ISO 8601 UTC), written one per line as records.py writes JSON records, after the
feed's own title, link and last update:

    {"last_updated": "2026-03-27T04:35:46Z",
    "link": "https://deprecations.info/",
    "title": "AI Model Deprecations",
    "items": [
    {"guid": "…", "link": "…", "published": "2026-03-27T04:35:42Z", "summary": "…", "title": "…"}
    ]}

Items are identified by guid, else link, else title, so a reordered feed is the same text and an
added item is a new record the classifier reports as ``new_entry`` with its title and link.
"""

from __future__ import annotations

import re
import time
from typing import Any

from monitor.errors import ExtractError
from monitor.extract.records import render_records

MAX_ITEMS = 10_000
_TAG = re.compile(r"<[a-zA-Z/!]")
_VERSIONS = {
    "rss090": "RSS 0.90", "rss091n": "RSS 0.91", "rss091u": "RSS 0.91", "rss092": "RSS 0.92",
    "rss093": "RSS 0.93", "rss094": "RSS 0.94", "rss20": "RSS 2.0", "rss10": "RSS 1.0",
    "rss": "RSS", "atom01": "Atom 0.1", "atom02": "Atom 0.2", "atom03": "Atom 0.3",
    "atom10": "Atom 1.0", "atom": "Atom", "cdf": "CDF",
}  # fmt: skip


def _iso(parsed: time.struct_time | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed) if parsed else ""


def _plain(value: str, base_url: str) -> str:
    """Item text as plain lines: HTML summaries are written as pages are, one block a line."""
    if not _TAG.search(value):
        return "\n".join(line.strip() for line in value.strip().splitlines() if line.strip())
    from monitor.extract.text import extract_html

    return extract_html(
        value.encode("utf-8"), charset="utf-8", base_url=base_url or "about:blank", min_length=0
    )


def _item(entry: Any, base_url: str) -> dict[str, str]:
    summary = entry.get("summary") or ""
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value", "")
    record = {
        "title": " ".join(str(entry.get("title", "")).split()),
        "link": str(entry.get("link", "")),
        "published": _iso(entry.get("published_parsed") or entry.get("updated_parsed")),
        "summary": _plain(str(summary), str(entry.get("link") or base_url)),
    }
    guid = str(entry.get("id") or "")
    if guid and guid != record["link"]:
        record["guid"] = guid
    return record


def _identity(record: dict[str, str]) -> str:
    return record.get("guid") or record["link"] or record["title"]


def feed_text(body: bytes, url: str, charset: str | None = None) -> tuple[str, str]:
    """(text, what was seen) for a feed; ExtractError when the body is not a feed (an HTML page,
    a broken document) or carries more than MAX_ITEMS items. The HTTP charset, when given,
    wins over the XML declaration, as RFC 7303 says."""
    import feedparser

    headers = {"content-type": f"application/xml; charset={charset}"} if charset else {}
    parsed = feedparser.parse(
        body, response_headers=headers, sanitize_html=True, resolve_relative_uris=True
    )
    if not parsed.version:
        start = body.lstrip()[:40].decode("utf-8", errors="replace")
        what = "an HTML page" if start.lower().startswith(("<!doctype html", "<html")) else None
        reason = parsed.get("bozo_exception")
        detail = what or (f"not parseable: {str(reason)[:120]}" if reason else f"{start!r}")
        raise ExtractError(
            f"not a feed at {url}: {detail}; check the URL, or set format for this watch"
        )
    if len(parsed.entries) > MAX_ITEMS:
        raise ExtractError(f"feed at {url} has {len(parsed.entries)} items, more than {MAX_ITEMS}")
    feed = parsed.feed
    base = str(feed.get("link") or url)
    items = [_item(entry, base) for entry in parsed.entries]
    by_id: dict[str, dict[str, str]] = {}
    for item in items:
        by_id.setdefault(_identity(item), item)  # a repeated item is listed once
    # newest first, as feeds read; identity breaks ties, so a reordered feed is the same text
    records = sorted(by_id.values(), key=lambda r: (r["published"], _identity(r)), reverse=True)
    head = {
        "title": " ".join(str(feed.get("title", "")).split()),
        "link": str(feed.get("link", "")),
        "last_updated": _iso(feed.get("updated_parsed")),
    }
    head = {key: value for key, value in head.items() if value}
    text, _fields = render_records(records, (), head=head, list_key="items", keep_order=True)
    version = _VERSIONS.get(parsed.version, parsed.version)
    return text, f"{version}, {len(records)} items keyed by guid or link"
