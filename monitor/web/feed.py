"""The Atom feed of changes (RFC 4287), filtered like /changes: watch, label, severity, review."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import Response

from monitor.store import browse
from monitor.store.tables import ChangeRow
from monitor.web import data

FEED_SIZE = 50
NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    """Page text as XML character data: escaped, without characters XML 1.0 forbids."""
    return escape(NOT_XML.sub("", value))


def _base(request: Request) -> str:
    """Where readers reach the pages: [defaults] base_url, else the address asked."""
    configured = request.app.state.config.defaults.base_url
    return configured or str(request.base_url).rstrip("/")


def _entry(change: ChangeRow, base: str) -> str:
    link = f"{base}/changes/{change.id}"
    title = f"[{change.severity}] {change.watch_id}: {change.summary or ', '.join(change.labels)}"
    categories = "".join(
        f"<category term={quoteattr(NOT_XML.sub('', label))}/>" for label in change.labels
    )
    return (
        "<entry>"
        f"<id>{escape(link)}</id>"
        f"<title>{_text(title)}</title>"
        f"<updated>{change.detected_at.isoformat()}</updated>"
        f'<link rel="alternate" type="text/html" href={quoteattr(link)}/>'
        f"{categories}"
        f'<summary type="text">{_text(change.summary)}</summary>'
        "</entry>"
    )


def atom(request: Request) -> Response:
    state = request.app.state
    where = data.change_filter(state.config, state.engine, request.query_params)
    rows, _ = browse.change_page(state.engine, where, limit=FEED_SIZE)
    base = _base(request)
    updated = rows[0].detected_at if rows else datetime.now(UTC)
    self_link = str(request.url)
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(self_link)}</id>"
        "<title>monitor: changes</title>"
        f"<updated>{updated.isoformat()}</updated>"
        f'<link rel="self" href={quoteattr(self_link)}/>'
        f'<link rel="alternate" type="text/html" href={quoteattr(base + "/changes")}/>'
        "<author><name>monitor</name></author>"
        + "".join(_entry(row, base) for row in rows)
        + "</feed>\n"
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")
