"""What one attempt (all its redirect hops) gave, and the FetchResult the last one becomes."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from monitor.models import FetchProblem, FetchResult


@dataclass
class Attempt:
    """What one attempt (all its redirect hops) gave."""

    final_url: str
    status: int | None = None
    reason: str = ""
    body: bytes = b""
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    problem: FetchProblem | None = None
    retry_after: float | None = None


def fetch_result(
    url: str,
    attempt: Attempt,
    fetched_at: datetime,
    started: float,
    attempts: int,
    *,
    etag: str | None,
    last_modified: str | None,
) -> FetchResult:
    headers = attempt.headers
    not_modified = attempt.status == 304 and attempt.problem is None
    content_type = headers.get("Content-Type")
    return FetchResult(
        requested_url=url,
        final_url=attempt.final_url,
        fetched_at=fetched_at,
        duration_ms=round((time.monotonic() - started) * 1000),
        status=attempt.status,
        body=attempt.body,
        charset=_charset(content_type),
        etag=headers.get("ETag") or (etag if not_modified else None),
        last_modified=headers.get("Last-Modified") or (last_modified if not_modified else None),
        content_type=_media_type(content_type),
        not_modified=not_modified,
        problem=attempt.problem,
        attempts=attempts,
        headers=tuple(headers.multi_items()),
    )


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def _charset(content_type: str | None) -> str | None:
    match = _CHARSET.search(content_type or "")
    return match.group(1).lower() if match else None
