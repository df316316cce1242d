"""What a browser check gave, judged as the HTTP fetcher judges a response: the rendered page
becomes a `FetchResult`, and a wall, an error status, an oversized page or a network error becomes
a `FetchProblem` with one line naming what to fix. No Playwright here: browser.py drives Chromium.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime

from monitor.fetch import BROWSER_HINT, detect_problem
from monitor.models import FetchProblem, FetchResult, ProblemKind

# With scripting on, a browser never shows <noscript>: its "enable JavaScript" text is no wall.
_NOSCRIPT = re.compile(rb"<noscript\b.*?</noscript\s*>", re.IGNORECASE | re.DOTALL)

NET_ERRORS: dict[str, tuple[ProblemKind, bool]] = {
    "ERR_NAME_NOT_RESOLVED": (ProblemKind.DNS, False),
    "ERR_NAME_RESOLUTION_FAILED": (ProblemKind.DNS, True),
    "ERR_CONNECTION_REFUSED": (ProblemKind.REFUSED, True),
    "ERR_CONNECTION_RESET": (ProblemKind.CONNECTION, True),
    "ERR_CONNECTION_CLOSED": (ProblemKind.CONNECTION, True),
    "ERR_EMPTY_RESPONSE": (ProblemKind.CONNECTION, True),
    "ERR_TIMED_OUT": (ProblemKind.TIMEOUT, True),
    "ERR_CONNECTION_TIMED_OUT": (ProblemKind.TIMEOUT, True),
    "ERR_TOO_MANY_REDIRECTS": (ProblemKind.TOO_MANY_REDIRECTS, False),
}


@dataclass(frozen=True)
class RenderedPage:
    """What one rendered check gave."""

    status: int | None
    headers: dict[str, str]
    final_url: str
    html: str


def first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def timeout_problem(url: str, timeout: float) -> FetchProblem:
    return FetchProblem(
        ProblemKind.TIMEOUT,
        f"the browser timed out after {timeout:g} s at {url}; raise timeout if the site is slow",
        transient=True,
    )


def selector_problem(url: str, wait_for: str, timeout: float) -> FetchProblem:
    return FetchProblem(
        ProblemKind.TIMEOUT,
        f"wait_for selector {wait_for!r} did not appear within {timeout:g} s at {url}; "
        "check the selector against the page, or raise timeout",
    )


def rendered_result(
    url: str,
    fetched_at: datetime,
    started: float,
    outcome: RenderedPage | FetchProblem,
    max_body: int,
) -> FetchResult:
    duration_ms = round((time.monotonic() - started) * 1000)
    if isinstance(outcome, FetchProblem):
        return FetchResult(
            requested_url=url,
            final_url=url,
            fetched_at=fetched_at,
            duration_ms=duration_ms,
            problem=outcome,
            fetcher="browser",
        )
    body = outcome.html.encode("utf-8")
    content_type = outcome.headers.get("content-type")
    problem = _page_problem(outcome.final_url, body, outcome.status, content_type, max_body)
    if problem is not None and problem.kind is ProblemKind.TOO_LARGE:
        body = b""
    return FetchResult(
        requested_url=url,
        final_url=outcome.final_url,
        fetched_at=fetched_at,
        duration_ms=duration_ms,
        status=outcome.status,
        body=body,
        charset="utf-8",
        etag=outcome.headers.get("etag"),
        last_modified=outcome.headers.get("last-modified"),
        content_type=_media_type(content_type),
        problem=problem,
        fetcher="browser",
        headers=tuple(sorted(outcome.headers.items())),
    )


def _at(message: str, url: str) -> str:
    """'blocked by … ; try fetcher = "browser"' → 'blocked by … at URL; the browser saw it too'."""
    head, sep, advice = message.rpartition("; ")
    if not sep:
        return f"{message} at {url}"
    if advice == BROWSER_HINT:
        advice = "the browser saw it too"
    return f"{head} at {url}; {advice}"


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def _page_problem(
    url: str, body: bytes, status: int | None, content_type: str | None, max_body: int
) -> FetchProblem | None:
    """The same judgement the HTTP fetcher makes, on the rendered page."""
    if len(body) > max_body:
        return FetchProblem(
            ProblemKind.TOO_LARGE,
            f"rendered page larger than max_body ({max_body} bytes) at {url}; raise max_body",
        )
    status = status or 200  # no main response: a page Chromium made up itself
    problem = detect_problem(_NOSCRIPT.sub(b"", body), status, content_type)
    if problem is not None and (status < 400 or problem.kind is ProblemKind.BLOCKED):
        return FetchProblem(problem.kind, _at(problem.message, url), problem.transient)
    if status < 400:
        return None
    transient = status in (408, 425, 429) or status >= 500
    advice = "will try again at the next check" if transient else "check the watch's url"
    return FetchProblem(ProblemKind.HTTP_STATUS, f"HTTP {status} at {url}; {advice}", transient)
