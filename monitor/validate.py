"""`monitor validate --fetch`: fetch each watch twice a second apart and report what would make
it alert for nothing (text that differs between the two fetches), selectors that match nothing,
and pages that need a browser. Nothing is recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from monitor import extract
from monitor.config import Config, Watch
from monitor.diff import diff_texts
from monitor.errors import ExtractError
from monitor.models import FetchProblem, FetchResult, ProblemKind

if TYPE_CHECKING:
    from monitor.browser import BrowserFetcher
    from monitor.fetch import Fetcher


def _extract(watch: Watch, result: FetchResult) -> extract.Extracted:
    return extract.extract_document(
        result.body,
        charset=result.charset,
        base_url=result.final_url,
        content_type=result.content_type,
        **watch.extract_rules(),
    )


def _noise_lines(first: str, second: str, limit: int = 5) -> list[str]:
    from monitor.classify.volatile import changed_shapes

    diff = diff_texts(first, second)
    volatile = set(changed_shapes(diff).values())
    lines = []
    for hunk in diff.hunks:
        for old, new in zip(hunk.removed, hunk.added, strict=False):
            learnt = (
                "\n      (only numbers, times or ids: `check` learns this line as volatile)"
                if new.strip() in volatile
                else ""
            )
            lines.append(f"    - {old[:100]}\n    + {new[:100]}{learnt}")
        for extra in hunk.removed[len(hunk.added) :] + hunk.added[len(hunk.removed) :]:
            lines.append(f"    ~ {extra[:100]}")
    return lines[:limit]


class _Fetchers:
    """The HTTP fetcher, and the browser once a watch with `fetcher = "browser"` or `"auto"`
    needs it: each watch is fetched the way `check` fetches it."""

    def __init__(self, http: Fetcher, config: Config) -> None:
        self.http = http
        self._config = config
        self._browser: BrowserFetcher | None = None
        self._lock = asyncio.Lock()

    async def fetch(self, watch: Watch) -> tuple[FetchResult, bool]:
        """The result, and whether the browser was used. With `follow` (HTTP only), the
        document the page links to."""
        if watch.fetcher == "http":
            return await self._follow(watch, await self.http.fetch(watch.url)), False
        from monitor.browser import fetch_auto

        browser = await self.browser()
        if watch.fetcher == "browser":
            return await browser.fetch(watch.url, wait_for=watch.wait_for), True
        return await fetch_auto(
            self.http, browser, watch.url, wait_for=watch.wait_for, etag=None,
            last_modified=None, needs_browser=False,
        )  # fmt: skip

    async def _follow(self, watch: Watch, page: FetchResult) -> FetchResult:
        if watch.follow is None or page.problem is not None:
            return page
        try:
            link = extract.follow_link(page.body, page.charset, page.final_url, watch.follow)
        except ExtractError as exc:
            return replace(page, problem=FetchProblem(ProblemKind.NO_LINK, str(exc)))
        return await self.http.fetch(link)

    async def browser(self) -> BrowserFetcher:
        async with self._lock:
            if self._browser is None:
                from monitor.browser import BrowserFetcher

                d = self._config.defaults
                self._browser = BrowserFetcher(
                    pages=d.browser_pages, timeout=d.timeout, user_agent=d.user_agent,
                    max_body=d.max_body,
                )  # fmt: skip
            return self._browser

    async def aclose(self) -> None:
        if self._browser is not None:
            await self._browser.aclose()


async def _one(fetchers: _Fetchers, watch: Watch, pause: float) -> tuple[list[str], bool]:
    first, used_browser = await fetchers.fetch(watch)
    if first.problem is not None:
        hint = ""
        if (
            first.problem.kind in (ProblemKind.BLOCKED, ProblemKind.EMPTY)
            and watch.fetcher == "http"
        ):
            hint = '; the page may need a browser: set fetcher = "auto" or "browser"'
        return [f"{watch.id}: FAIL fetch: {first.problem.message}{hint}"], False
    if used_browser:
        needs = f"read with the browser (fetcher = {watch.fetcher!r})"
    elif extract.looks_like_js_shell(first.body, first.charset):
        needs = 'needs a browser (set fetcher = "browser" or "auto")'
    else:
        needs = "HTTP suffices"
    try:
        extracted = _extract(watch, first)
    except ExtractError as exc:
        chosen, _how = extract.choose_format(first.body, first.content_type, watch.format)
        needs = needs if chosen == "html" else f"read as {chosen}"
        return [f"{watch.id}: FAIL extract: {exc}; {needs}"], False
    text1 = extracted.text
    seen = f"read as {extracted.format} ({extracted.seen})"
    if watch.follow is not None:
        seen = f"followed to {first.requested_url}, {seen}"
    if extracted.format != "html":
        needs = seen
    else:
        needs = f"{seen}; {needs}"
    unmatched = [
        f"{watch.id}: ignore selector {selector!r} matches nothing on the page; fix it or remove it"
        for selector in extract.unmatched_selectors(first.body, first.charset, watch.ignore)
    ]
    await asyncio.sleep(pause)
    second, _ = await fetchers.fetch(watch)
    if second.problem is not None:
        return [f"{watch.id}: FAIL second fetch: {second.problem.message}"], False
    try:
        text2 = _extract(watch, second).text
    except ExtractError as exc:
        return [f"{watch.id}: FAIL second extract: {exc}"], False
    size = len(text1.encode("utf-8"))
    if text1 == text2:
        ok = f"{watch.id}: ok: {size} bytes of text, stable across two fetches; {needs}"
        return [ok, *unmatched], True
    lines = [
        f"{watch.id}: {seen}",
        f"{watch.id}: NOISE: the text differs between two fetches {pause:g}s apart; "
        "add 'ignore' selectors or 'ignore_text' patterns for:",
        *_noise_lines(text1, text2),
        *unmatched,
    ]
    return lines, False


async def fetch_twice(
    config: Config, watches: Sequence[Watch], *, pause: float = 1.0
) -> tuple[list[str], bool]:
    from monitor.fetch import Fetcher, FetchSettings

    async with Fetcher(FetchSettings.from_defaults(config.defaults)) as http:
        fetchers = _Fetchers(http, config)
        try:
            results = await asyncio.gather(*(_one(fetchers, w, pause) for w in watches))
        finally:
            await fetchers.aclose()
    lines = [line for found, _ok in results for line in found]
    return lines, all(ok for _lines, ok in results)
