"""The fetch stage: the only module that requests watched pages.

`Fetcher.fetch(url)` always returns a `FetchResult`: the page, a 304, or a typed `FetchProblem`.
It never raises into the pipeline. One `httpx.AsyncClient` serves every request, behind a global
limit, a per-host limit and an optional spacing between requests to one host. Redirects are
followed one hop at a time so each hop passes its host's limit. Bodies are read as a stream and
dropped as soon as they pass `max_body`. Transient faults (timeouts, connection errors, 429, 5xx)
are retried with exponential backoff and full jitter, honouring `Retry-After`.

`detect_problem` looks at the bytes of a page that arrived and tells a bot wall, a captcha, an
"enable JavaScript" shell, an error page served with 200 or an empty body from a real page.
"""

from __future__ import annotations

import asyncio
import functools
import html
import random
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import httpx

from monitor.models import FetchProblem, FetchResult, ProblemKind

if TYPE_CHECKING:
    from monitor.config import Defaults

__all__ = ["FetchSettings", "Fetcher", "detect_problem"]

_E = TypeVar("_E", bound=BaseException)

ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
BROWSER_HINT = 'try fetcher = "browser" for this watch'
# A per-read timeout cannot stop a server that sends one byte every few seconds: reading a body
# also ends after this many times `timeout`.
BODY_DEADLINE_FACTOR = 4


@dataclass(frozen=True)
class FetchSettings:
    user_agent: str
    timeout: float  # seconds, for connect, each read, each write
    max_body: int  # bytes, after Content-Encoding is decoded
    max_redirects: int
    retries: int  # extra attempts after the first
    concurrency: int  # requests in flight, all hosts together
    per_host: int  # requests in flight to one host
    host_spacing: float = 0.0  # seconds from one answer of a host to the next request to it
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0

    @classmethod
    def from_defaults(cls, defaults: Defaults) -> FetchSettings:
        return cls(
            user_agent=defaults.user_agent,
            timeout=defaults.timeout,
            max_body=defaults.max_body,
            max_redirects=defaults.max_redirects,
            retries=defaults.retries,
            concurrency=defaults.concurrency,
            per_host=defaults.per_host,
            host_spacing=defaults.host_spacing,
        )


@dataclass
class _Attempt:
    """What one attempt (all its redirect hops) gave."""

    final_url: str
    status: int | None = None
    reason: str = ""
    body: bytes = b""
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    problem: FetchProblem | None = None
    retry_after: float | None = None


class _HostGate:
    """At most `limit` requests in flight to one host, and with `spacing`, each request sent at
    least `spacing` seconds after the previous one to that host was answered (its headers came),
    so the host sees them that far apart whatever the network adds."""

    def __init__(self, limit: int, spacing: float) -> None:
        self.slots = asyncio.Semaphore(limit)
        self._spacing = spacing
        self._turn = asyncio.Lock()
        self._next_send = 0.0

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold around sending one request and receiving its headers."""
        if self._spacing <= 0:
            yield
            return
        async with self._turn:
            wait = self._next_send - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                self._next_send = time.monotonic() + self._spacing


class _TooLarge(Exception):
    pass


class Fetcher:
    """Fetches pages with one shared client. Use as `async with Fetcher(settings) as fetcher:`."""

    def __init__(
        self, settings: FetchSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, _HostGate] = {}
        self._random = random.Random()

    async def __aenter__(self) -> Fetcher:
        limit = self.settings.concurrency
        self._client = httpx.AsyncClient(
            transport=self._transport,
            verify=_ssl_context(),
            timeout=httpx.Timeout(self.settings.timeout),
            limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
            headers={"User-Agent": self.settings.user_agent, "Accept": ACCEPT},
            follow_redirects=False,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch `url`, conditionally when `etag` or `last_modified` is given. Never raises."""
        fetched_at = datetime.now(UTC)
        started = time.monotonic()
        headers = _conditional_headers(etag, last_modified)
        attempts = 0
        attempt = _Attempt(final_url=url)
        for attempts in range(1, self.settings.retries + 2):
            attempt = await self._attempt_guarded(url, headers)
            if not _should_retry(attempt) or attempts > self.settings.retries:
                break
            await asyncio.sleep(self._backoff(attempts, attempt.retry_after))
        return _result(
            url, attempt, fetched_at, started, attempts, etag=etag, last_modified=last_modified
        )

    async def _attempt_guarded(self, url: str, headers: dict[str, str]) -> _Attempt:
        final = [url]
        try:
            return await self._attempt(url, headers, final)
        except TimeoutError:
            return _Attempt(final[0], problem=_timeout_problem(final[0], self.settings.timeout))
        except _TooLarge:
            return _Attempt(final[0], problem=_too_large_problem(final[0], self.settings.max_body))
        except httpx.HTTPError as exc:
            return _Attempt(final[0], problem=_transport_problem(final[0], exc))
        except (OSError, ValueError) as exc:  # e.g. a header value httpx cannot encode
            return _Attempt(final[0], problem=_unexpected_problem(final[0], exc))

    async def _attempt(self, url: str, headers: dict[str, str], final: list[str]) -> _Attempt:
        """One attempt: follow redirects hop by hop, each hop behind its host's gate."""
        if self._client is None:
            raise RuntimeError("use Fetcher as an async context manager: async with Fetcher(...)")
        problem = _url_problem(url)
        if problem:
            return _Attempt(url, problem=problem)
        request = self._client.build_request("GET", url, headers=headers)
        for _hop in range(self.settings.max_redirects + 1):
            final[0] = str(request.url)
            gate = self._gate(request.url.host)
            async with gate.slots, self._slots:
                async with gate.turn():
                    response = await self._client.send(request, stream=True)
                try:
                    if response.next_request is None:
                        return await self._read(response)
                finally:
                    await response.aclose()
            request = response.next_request
        problem = _redirects_problem(url, final[0], str(request.url), self.settings.max_redirects)
        return _Attempt(final[0], status=response.status_code, problem=problem)

    async def _read(self, response: httpx.Response) -> _Attempt:
        url = str(response.url)
        attempt = _Attempt(url, response.status_code, response.reason_phrase)
        attempt.headers = response.headers
        if response.status_code == 304:
            return attempt
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.settings.max_body:
            raise _TooLarge
        async with asyncio.timeout(self.settings.timeout * BODY_DEADLINE_FACTOR):
            attempt.body = await self._body(response)
        attempt.problem = _status_problem(url, attempt, response.headers.get("Content-Type"))
        if attempt.problem and attempt.problem.kind is ProblemKind.HTTP_STATUS:
            attempt.retry_after = _retry_after(
                response.headers.get("Retry-After"), self.settings.retry_after_max
            )
        return attempt

    async def _body(self, response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.settings.max_body:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def _gate(self, host: str) -> _HostGate:
        key = host.lower()
        if key not in self._hosts:
            self._hosts[key] = _HostGate(self.settings.per_host, self.settings.host_spacing)
        return self._hosts[key]

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        ceiling = min(self.settings.backoff_max, self.settings.backoff_base * 2 ** (attempt - 1))
        return self._random.uniform(0, ceiling)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """Built once per process: loading the CA bundle costs more than most fetches."""
    return httpx.create_ssl_context()


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _should_retry(attempt: _Attempt) -> bool:
    # An error page served with 200 comes and goes over hours: the next check will see.
    problem = attempt.problem
    return problem is not None and problem.transient and problem.kind is not ProblemKind.EMPTY


def _result(
    url: str,
    attempt: _Attempt,
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
    )


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def _charset(content_type: str | None) -> str | None:
    match = _CHARSET.search(content_type or "")
    return match.group(1).lower() if match else None


def _retry_after(value: str | None, cap: float) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP date), at most `cap`."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), cap)


# Problems, one line each: what happened, where, and what to do.


def _url_problem(url: str) -> FetchProblem | None:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        return FetchProblem(ProblemKind.CONNECTION, f"bad URL {url!r}: {exc}; fix the watch's url")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return FetchProblem(
            ProblemKind.CONNECTION, f"bad URL {url!r}: use an http:// or https:// URL with a host"
        )
    return None


def _status_problem(url: str, attempt: _Attempt, content_type: str | None) -> FetchProblem | None:
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


def _timeout_problem(url: str, timeout: float) -> FetchProblem:
    return FetchProblem(
        ProblemKind.TIMEOUT,
        f"timed out after {timeout:g} s at {url}; raise timeout if the site is just slow",
        transient=True,
    )


def _too_large_problem(url: str, max_body: int) -> FetchProblem:
    return FetchProblem(
        ProblemKind.TOO_LARGE,
        f"body larger than max_body ({max_body} bytes) at {url}; raise max_body or check the url",
    )


def _redirects_problem(url: str, last: str, target: str, limit: int) -> FetchProblem:
    loop = " (a redirect loop)" if target in (url, last) else ""
    return FetchProblem(
        ProblemKind.TOO_MANY_REDIRECTS,
        f"more than {limit} redirects{loop} from {url}, last at {last} → {target}; "
        "point the watch's url at the final page",
    )


def _transport_problem(url: str, exc: httpx.HTTPError) -> FetchProblem:
    if isinstance(exc, httpx.TimeoutException):
        return FetchProblem(ProblemKind.TIMEOUT, f"timed out at {url}: {exc}", transient=True)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return FetchProblem(ProblemKind.CONNECTION, f"bad URL at {url}: {exc}; fix the watch's url")
    if isinstance(exc, httpx.DecodingError):
        return FetchProblem(ProblemKind.CONNECTION, f"could not decode the body of {url}: {exc}")
    dns = _cause(exc, socket.gaierror)
    if dns is not None:
        temporary = dns.errno == socket.EAI_AGAIN
        return FetchProblem(
            ProblemKind.DNS,
            f"cannot resolve the host of {url} ({dns.strerror}); check the watch's url",
            transient=temporary,
        )
    if _cause(exc, ConnectionRefusedError) is not None:
        return FetchProblem(
            ProblemKind.REFUSED,
            f"connection refused at {url}; the server is down or the port is wrong",
            transient=True,
        )
    detail = str(exc) or type(exc).__name__
    return FetchProblem(ProblemKind.CONNECTION, f"connection failed at {url}: {detail}", True)


def _unexpected_problem(url: str, exc: Exception) -> FetchProblem:
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


# Page problems: bot walls, error pages served with 200, empty bodies.

HEAD_BYTES = 16_384  # markers are looked for only in the start of the page
TEXT_BYTES = 1_048_576  # visible text is measured over at most this much
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

_ERROR_HEADING = re.compile(
    r"^(?:error\s*)?(?:400|404|410|500|502|503)\b|page not found|^not found\b"
    r"|internal server error|service (?:temporarily )?unavailable|bad gateway"
    r"|this page (?:isn't|is not) available|something went wrong"
    r"|an (?:unexpected )?error (?:has )?occurred|page (?:does not|doesn't) exist"
    r"|could not be found|page unavailable|can't find (?:that|the|this) page|^oops\b"
)
_ERROR_TEXT_MAX = 1500  # an error page says little
_TINY_TEXT = 300  # so little text that an error phrase anywhere in it decides
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
    head = _plain(body[:HEAD_BYTES])
    text = _visible_text(body[:TEXT_BYTES])
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
    if len(text) > _ERROR_TEXT_MAX:
        return None
    headings = [
        _SPACE.sub(" ", _TAG.sub(" ", inner)).strip() for _, inner in _HEADINGS.findall(head)
    ]
    if len(text) <= _TINY_TEXT:
        headings.append(text.lower().replace("\u2019", "'"))
    for heading in headings:
        if _ERROR_HEADING.search(heading):
            return heading[:80]
    return None
