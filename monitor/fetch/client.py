"""Fetcher: one shared httpx client behind a global and a per-host limit; redirects followed
hop by hop; bodies streamed and capped; transient faults retried. Never raises."""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import random
import ssl
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import TracebackType

import httpx

from monitor.fetch.attempt import Attempt, fetch_result
from monitor.fetch.decode import ACCEPT_ENCODING, BoundedDecoder
from monitor.fetch.failures import (
    parse_url,
    redirects_problem,
    status_problem,
    timeout_problem,
    too_large_problem,
    transport_problem,
    unexpected_problem,
)
from monitor.fetch.limits import HostGate
from monitor.fetch.retry import backoff, retry_after, should_retry
from monitor.fetch.settings import FetchSettings
from monitor.models import FetchProblem, FetchResult, ProblemKind

ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _remember_sniffio_absent() -> None:
    """httpcore imports sniffio several times per request to tell asyncio from trio; when it is
    not installed, every one of those imports searches sys.path again (about 80 µs each, a
    third of a 304's cost). Marked absent once, the failed import is immediate."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_remember_sniffio_absent()


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
        self._hosts: dict[str, HostGate] = {}
        self._random = random.Random()

    async def __aenter__(self) -> Fetcher:
        limit = self.settings.concurrency
        self._client = httpx.AsyncClient(
            transport=self._transport,
            verify=_ssl_context(),
            timeout=httpx.Timeout(self.settings.timeout),
            limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
            headers={
                "User-Agent": self.settings.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
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
        attempt = Attempt(final_url=url)
        for attempts in range(1, self.settings.retries + 2):
            attempt = await self._attempt_guarded(url, headers)
            if not should_retry(attempt) or attempts > self.settings.retries:
                break
            await asyncio.sleep(backoff(self.settings, self._random, attempts, attempt.retry_after))
        return fetch_result(
            url, attempt, fetched_at, started, attempts, etag=etag, last_modified=last_modified
        )

    async def _attempt_guarded(self, url: str, headers: dict[str, str]) -> Attempt:
        final = [url, "headers"]  # where the attempt is: the hop's URL, and headers or body
        try:
            return await self._attempt(url, headers, final)
        except TimeoutError:
            problem = timeout_problem(final[0], self.settings.timeout, final[1])
            return Attempt(final[0], problem=problem)
        except _TooLarge:
            return Attempt(final[0], problem=too_large_problem(final[0], self.settings.max_body))
        except httpx.HTTPError as exc:
            return Attempt(final[0], problem=transport_problem(final[0], exc))
        except (OSError, ValueError) as exc:  # e.g. a header value httpx cannot encode
            return Attempt(final[0], problem=unexpected_problem(final[0], exc))

    async def _attempt(self, url: str, headers: dict[str, str], final: list[str]) -> Attempt:
        """One attempt: follow redirects hop by hop, each hop behind its host's gate."""
        if self._client is None:
            raise RuntimeError("use Fetcher as an async context manager: async with Fetcher(...)")
        parsed = parse_url(url)
        if isinstance(parsed, FetchProblem):
            return Attempt(url, problem=parsed)
        request = self._client.build_request("GET", parsed, headers=headers)
        # `timeout` bounds the whole attempt, from the first request sent to the last body byte
        # (a server that sends its headers a byte a second is stopped too); waiting for a turn
        # at a busy host does not count.
        deadline: float | None = None
        for _hop in range(self.settings.max_redirects + 1):
            final[0] = str(request.url)
            gate = self._gate(request.url.host)
            async with gate.slots, self._slots:
                async with gate.turn():
                    if deadline is None:
                        deadline = asyncio.get_running_loop().time() + self.settings.timeout
                    final[1] = "headers"
                    async with asyncio.timeout_at(deadline):
                        response = await self._client.send(request, stream=True)
                try:
                    if response.next_request is None:
                        final[1] = "body"
                        async with asyncio.timeout_at(deadline):
                            return await self._read(response)
                finally:
                    await response.aclose()
            request = response.next_request
        problem = redirects_problem(url, final[0], str(request.url), self.settings.max_redirects)
        return Attempt(final[0], status=response.status_code, problem=problem)

    async def _read(self, response: httpx.Response) -> Attempt:
        url = str(response.url)
        attempt = Attempt(url, response.status_code, response.reason_phrase)
        attempt.headers = response.headers
        if response.status_code == 304:
            await response.aread()  # reach the end of the message, so the connection is reused
            return attempt
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.settings.max_body:
            raise _TooLarge
        attempt.body = await self._body(response)
        attempt.problem = status_problem(url, attempt, response.headers.get("Content-Type"))
        if attempt.problem and attempt.problem.kind is ProblemKind.HTTP_STATUS:
            attempt.retry_after = retry_after(
                response.headers.get("Retry-After"), self.settings.retry_after_max
            )
        return attempt

    async def _body(self, response: httpx.Response) -> bytes:
        """The decoded body, stopped as soon as it passes max_body, whatever the encoding."""
        decoder = BoundedDecoder(response.headers.get("Content-Encoding"))
        chunks: list[bytes] = []
        size = 0

        def take(pieces: Iterator[bytes]) -> None:
            nonlocal size
            for piece in pieces:
                size += len(piece)
                if size > self.settings.max_body:
                    raise _TooLarge
                chunks.append(piece)

        try:
            async for raw in response.aiter_raw():
                take(decoder.feed(raw))
        except httpx.StreamConsumed:  # a transport that gave the body whole, already decoded
            take(iter([response.content]))
            return b"".join(chunks)
        take(decoder.end())
        return b"".join(chunks)

    def _gate(self, host: str) -> HostGate:
        key = host.lower()
        if key not in self._hosts:
            self._hosts[key] = HostGate(self.settings.per_host, self.settings.host_spacing)
        return self._hosts[key]


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
