"""Requests that failed → FetchProblem, one line each: what happened, where, and what to do."""

from __future__ import annotations

import functools
import socket
from typing import TypeVar

import httpx

from monitor.fetch.attempt import Attempt
from monitor.fetch.problems import BROWSER_HINT, detect_problem
from monitor.models import FetchProblem, ProblemKind

_E = TypeVar("_E", bound=BaseException)


@functools.lru_cache(maxsize=16_384)
def parse_url(url: str) -> httpx.URL | FetchProblem:
    """`url` parsed, or what is wrong with it as a watch's URL (remembered: a watch's URL is
    fetched at every check, and parsing it costs a tenth of a 304's time; the request is built
    from the parsed URL, so it is parsed once)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        return FetchProblem(ProblemKind.CONNECTION, f"bad URL {url!r}: {exc}; fix the watch's url")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return FetchProblem(
            ProblemKind.CONNECTION, f"bad URL {url!r}: use an http:// or https:// URL with a host"
        )
    return parsed


def status_problem(url: str, attempt: Attempt, content_type: str | None) -> FetchProblem | None:
    status = attempt.status or 0
    page_problem = detect_problem(attempt.body, status, content_type)
    if page_problem is not None and (status < 400 or page_problem.kind is ProblemKind.BLOCKED):
        return _at(page_problem, url)
    if status < 300:
        return None
    transient = status in (408, 425, 429) or status >= 500
    advice = {
        403: "the site refuses this client; " + BROWSER_HINT,
        404: "check the watch's url",
        410: "the page is gone; check the watch's url",
        429: "rate limited; lower per_host or raise host_spacing",
    }.get(status, "will try again at the next check" if transient else "check the watch's url")
    message = f"HTTP {status} {attempt.reason}".rstrip() + f" at {url}; {advice}"
    return FetchProblem(ProblemKind.HTTP_STATUS, message, transient=transient)


def _at(problem: FetchProblem, url: str) -> FetchProblem:
    """Put the URL into a page problem's message: 'blocked by … at URL; try …'."""
    head, sep, advice = problem.message.rpartition("; ")
    message = f"{head} at {url}{sep}{advice}" if sep else f"{advice} at {url}"
    return FetchProblem(problem.kind, message, problem.transient)


def timeout_problem(url: str, timeout: float, phase: str = "headers") -> FetchProblem:
    """`phase`: what had not arrived in time, "headers" or "body"."""
    waiting = "waiting for headers" if phase == "headers" else "reading the body"
    return FetchProblem(
        ProblemKind.TIMEOUT,
        f"timed out after {timeout:g} s (timeout) {waiting} at {url}; "
        "raise timeout if the site is just slow",
        transient=True,
    )


def too_large_problem(url: str, max_body: int) -> FetchProblem:
    return FetchProblem(
        ProblemKind.TOO_LARGE,
        f"body larger than max_body ({max_body} bytes) at {url}; raise max_body or check the url",
    )


def redirects_problem(url: str, last: str, target: str, limit: int) -> FetchProblem:
    loop = " (a redirect loop)" if target in (url, last) else ""
    return FetchProblem(
        ProblemKind.TOO_MANY_REDIRECTS,
        f"more than {limit} redirects{loop} from {url}, last at {last} → {target}; "
        "point the watch's url at the final page",
    )


def transport_problem(url: str, exc: httpx.HTTPError) -> FetchProblem:
    if isinstance(exc, httpx.TimeoutException):
        phase = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for data"
        return FetchProblem(
            ProblemKind.TIMEOUT,
            f"timed out {phase} at {url}: no answer within the timeout; "
            "raise timeout if the site is just slow",
            transient=True,
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return FetchProblem(ProblemKind.CONNECTION, f"bad URL at {url}: {exc}; fix the watch's url")
    if isinstance(exc, httpx.DecodingError):
        return FetchProblem(ProblemKind.CONNECTION, f"could not decode the body of {url}: {exc}")
    dns = _cause(exc, socket.gaierror)
    if dns is not None:  # resolvers fail for a moment too: retried with backoff like a timeout
        return FetchProblem(
            ProblemKind.DNS,
            f"cannot resolve the host of {url} ({dns.strerror}); check the watch's url",
            transient=True,
        )
    if _cause(exc, ConnectionRefusedError) is not None:
        return FetchProblem(
            ProblemKind.REFUSED,
            f"connection refused at {url}; the server is down or the port is wrong",
            transient=True,
        )
    detail = str(exc) or type(exc).__name__
    return FetchProblem(ProblemKind.CONNECTION, f"connection failed at {url}: {detail}", True)


def unexpected_problem(url: str, exc: Exception) -> FetchProblem:
    return FetchProblem(
        ProblemKind.CONNECTION, f"request to {url} failed: {type(exc).__name__}: {exc}"
    )


def _cause(exc: BaseException, kind: type[_E]) -> _E | None:
    """The first exception of `kind` in the chain of causes of `exc`."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
