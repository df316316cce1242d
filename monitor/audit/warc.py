"""The raw snapshots as WARC response records, with the HTTP headers they were served with.
The only module that imports warcio (an optional extra: `pip install 'monitor[warc]'`)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.audit.chain import utc_text
from monitor.errors import MonitorError
from monitor.snapshots import Bodies

if TYPE_CHECKING:
    from monitor.store.tables import SnapshotRow

# the body is stored decoded: headers about the transfer encoding no longer describe it
_DROPPED = {"content-encoding", "transfer-encoding", "content-length"}


def write_warc(rows: Iterable[SnapshotRow], bodies: Bodies, out: Path) -> int:
    """One gzipped WARC response record per snapshot. Returns how many were written."""
    try:
        from warcio.statusandheaders import StatusAndHeaders
        from warcio.warcwriter import WARCWriter
    except ImportError:
        raise MonitorError("--format warc needs warcio: pip install 'monitor[warc]'") from None
    count = 0
    with out.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for row in rows:
            body = bodies.get(row.sha256)
            status = row.status or 200
            try:
                reason = HTTPStatus(status).phrase
            except ValueError:
                reason = ""
            headers = [(k, v) for k, v in (row.headers or []) if k.lower() not in _DROPPED]
            if row.headers is None and row.content_type:
                charset = f"; charset={row.charset}" if row.charset else ""
                headers.append(("Content-Type", f"{row.content_type}{charset}"))
            headers.append(("Content-Length", str(len(body))))
            http_headers = StatusAndHeaders(
                f"{status} {reason}".strip(), headers, protocol="HTTP/1.1"
            )
            record = writer.create_warc_record(
                row.final_url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=http_headers,
                warc_headers_dict={
                    "WARC-Date": utc_text(row.fetched_at)[:19] + "Z",
                    "WARC-Target-URI": row.final_url,
                },
            )
            writer.write_record(record)
            count += 1
    return count
