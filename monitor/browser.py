"""Fetch pages that only a browser can read: Playwright driving the system's Chromium.

The only module that imports playwright, and only once a browser is needed, so the rest of
monitor starts without it. One Chromium process serves every browser watch; each check gets a
fresh context (no cookies carried between watches) and at most `pages` checks render at once.
If Chromium dies, the checks in flight return a transient `browser` problem and the next fetch
starts a new one. The result is the same `FetchResult` the HTTP fetcher returns, its body the
rendered DOM in UTF-8, judged by the same `detect_problem`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from contextlib import suppress
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING

from monitor.models import FetchProblem, FetchResult, ProblemKind
from monitor.rendered import (
    NET_ERRORS,
    RenderedPage,
    first_line,
    rendered_result,
    selector_problem,
    timeout_problem,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Playwright, Response, Route

    from monitor.fetch import Fetcher

__all__ = ["BrowserFetcher", "browser_problem", "chromium_path", "fetch_auto"]

CHROMIUM_ENV = "MONITOR_CHROMIUM"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# Without the background-networking flags Chromium reaches out at start-up (updates, sync,
# field trials), which on a closed network is a stream of refused connections.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
BLOCKED_RESOURCES = frozenset({"image", "font", "media"})
SETTLE_SECONDS = 5.0  # longest wait for the network to go quiet after `load`
CLOSE_SECONDS = 5.0  # beyond the check's timeout, to close its context
PLAYWRIGHT_MISSING = (
    "the browser fetcher needs Playwright, which is not installed: "
    "pip install -e '.[browser]' (Chromium itself: apt-get install chromium)"
)
CHROMIUM_MISSING = (
    f"no Chromium found; install the Debian package chromium or set {CHROMIUM_ENV} to its path"
)


def playwright_missing() -> bool:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return True
    return False


def browser_problem() -> str | None:
    """Why the browser fetcher cannot run on this machine, one line naming the fix; None when
    Playwright is installed and a Chromium binary is there to drive."""
    if playwright_missing():
        return PLAYWRIGHT_MISSING
    path = chromium_path()
    if path is None:
        return CHROMIUM_MISSING
    if not os.access(path, os.X_OK):
        return _not_executable(path)
    return None


def _not_executable(path: str) -> str:
    return (
        f"Chromium {path} is not an executable file; "
        f"install the Debian package chromium or fix {CHROMIUM_ENV}"
    )


def chromium_path() -> str | None:
    """The Chromium to drive: $MONITOR_CHROMIUM, else the first one installed, else None."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserFetcher:
    """Renders pages in one shared headless Chromium, started on the first fetch.
    Use as `async with BrowserFetcher(pages=2) as browser:`."""

    def __init__(
        self,
        *,
        pages: int = 2,
        timeout: float = 30.0,
        user_agent: str | None = None,
        max_body: int = 10_000_000,
        chromium_path: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.user_agent = user_agent  # None: Chromium's own, without "Headless"
        self.max_body = max_body
        self.chromium_path = chromium_path
        self._pages = asyncio.Semaphore(pages)
        self._launching = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    async def __aenter__(self) -> BrowserFetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close Chromium and the Playwright driver."""
        async with self._launching:
            await self._close_browser()
            await self._stop_playwright()

    async def fetch(self, url: str, *, wait_for: str | None = None) -> FetchResult:
        """Render `url`, waiting for the `wait_for` selector if given. Never raises."""
        async with self._pages:
            fetched_at = datetime.now(UTC)
            started = time.monotonic()
            outcome = await self._check(url, wait_for)
            return rendered_result(url, fetched_at, started, outcome, self.max_body)

    async def _check(self, url: str, wait_for: str | None) -> RenderedPage | FetchProblem:
        if playwright_missing():
            return FetchProblem(ProblemKind.BROWSER, f"{PLAYWRIGHT_MISSING}; {url} not checked")
        from playwright.async_api import Error as PlaywrightError

        browser = await self._running_browser()
        if isinstance(browser, FetchProblem):
            return browser
        deadline = time.monotonic() + self.timeout  # starting Chromium is not the page's fault
        try:
            async with asyncio.timeout(self.timeout + CLOSE_SECONDS):
                return await self._render(browser, url, wait_for, deadline)
        except TimeoutError:
            return timeout_problem(url, self.timeout)
        except PlaywrightError as exc:
            if not browser.is_connected():
                return FetchProblem(
                    ProblemKind.BROWSER,
                    f"Chromium exited while rendering {url}; it restarts for the next check",
                    transient=True,
                )
            return _playwright_problem(exc, url, self.timeout)

    async def _running_browser(self) -> Browser | FetchProblem:
        """The shared Chromium, started (again, after a crash) when needed."""
        async with self._launching:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            await self._close_browser()
            path = self.chromium_path or chromium_path()
            if path is None:
                return FetchProblem(ProblemKind.BROWSER, CHROMIUM_MISSING)
            if not os.access(path, os.X_OK):
                return FetchProblem(ProblemKind.BROWSER, _not_executable(path))
            try:
                self._browser = await self._launch(path)
            except Exception as exc:  # a wrong path, a broken install, a dead driver
                await self._stop_playwright()
                return FetchProblem(
                    ProblemKind.BROWSER,
                    f"cannot start Chromium at {path}: {first_line(exc)}; "
                    f"check the install or {CHROMIUM_ENV}",
                )
            return self._browser

    async def _launch(self, path: str) -> Browser:
        if self._playwright is None:
            from playwright.async_api import async_playwright

            self._playwright = await async_playwright().start()
        return await self._playwright.chromium.launch(
            executable_path=path,
            headless=True,
            args=list(CHROMIUM_ARGS),
            timeout=self.timeout * 1000,
        )

    async def _close_browser(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None:
            from playwright.async_api import Error as PlaywrightError

            with suppress(PlaywrightError):
                await browser.close()

    async def _stop_playwright(self) -> None:
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            with suppress(Exception):  # a driver that already died cannot be stopped cleanly
                await playwright.stop()

    async def _render(
        self, browser: Browser, url: str, wait_for: str | None, deadline: float
    ) -> RenderedPage | FetchProblem:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        user_agent = self.user_agent or _desktop_user_agent(browser.version)
        context = await browser.new_context(user_agent=user_agent, service_workers="block")
        try:
            await context.route("**/*", _skip_heavy_resources)
            page = await context.new_page()
            documents = _DocumentResponses(page)
            await page.goto(url, wait_until="load", timeout=_ms_left(deadline))
            if not wait_for:
                await _settle(page, deadline)
                return await _read(page, documents, deadline)
            try:
                await page.wait_for_selector(wait_for, state="attached", timeout=_ms_left(deadline))
            except PlaywrightTimeout:
                return selector_problem(url, wait_for, self.timeout)
            return await _read(page, documents, deadline)
        finally:
            with suppress(PlaywrightError):
                await context.close()


async def fetch_auto(
    http: Fetcher,
    browser: BrowserFetcher,
    url: str,
    *,
    wait_for: str | None,
    etag: str | None,
    last_modified: str | None,
    needs_browser: bool,
) -> tuple[FetchResult, bool]:
    """Fetch for a watch with `fetcher = "auto"`: plain HTTP first, unless the watch is known to
    need the browser; the browser when HTTP gets a JavaScript shell or a bot wall. Returns the
    result and whether the watch needs the browser from now on."""
    if needs_browser:
        return await browser.fetch(url, wait_for=wait_for), True
    result = await http.fetch(url, etag=etag, last_modified=last_modified)
    if not _http_fell_short(result):
        return result, False
    return await browser.fetch(url, wait_for=wait_for), True


def _http_fell_short(result: FetchResult) -> bool:
    """A bot wall, or a page whose content a script has yet to build (with no text at all, the
    HTTP fetcher already calls it an `empty` problem)."""
    if result.not_modified:
        return False
    problem = result.problem
    if problem is not None and problem.kind is ProblemKind.BLOCKED:
        return True
    if problem is not None and problem.kind is not ProblemKind.EMPTY or not result.body.strip():
        return False
    from monitor.extract import looks_like_js_shell

    return looks_like_js_shell(result.body, result.charset)


async def _skip_heavy_resources(route: Route) -> None:
    from playwright.async_api import Error as PlaywrightError

    with suppress(PlaywrightError):  # the page may close while one of its requests waits here
        if route.request.resource_type in BLOCKED_RESOURCES:
            await route.abort("blockedbyclient")
        else:
            await route.continue_()


async def _settle(page: Page, deadline: float) -> None:
    """Let scripts that fetch content after `load` finish: wait until the network is quiet
    (500 ms without requests), but not past SETTLE_SECONDS, as pages that poll never are."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    with suppress(PlaywrightTimeout):
        settle_ms = min(_ms_left(deadline), SETTLE_SECONDS * 1000)
        await page.wait_for_load_state("networkidle", timeout=settle_ms)


class _DocumentResponses:
    """The responses that brought documents into the page's main frame, redirects left out: the
    last is the page's own, even after a script sent it elsewhere."""

    def __init__(self, page: Page) -> None:
        self._frame = page.main_frame
        self.last: Response | None = None
        page.on("response", self._seen)

    def _seen(self, response: Response) -> None:
        request = response.request
        if request.frame == self._frame and request.is_navigation_request():
            if not 300 <= response.status < 400:
                self.last = response


async def _read(page: Page, documents: _DocumentResponses, deadline: float) -> RenderedPage:
    from playwright.async_api import Error as PlaywrightError

    try:
        html = await page.content()
    except PlaywrightError:  # a script is sending the page elsewhere: read where it lands
        await page.wait_for_load_state("load", timeout=_ms_left(deadline))
        html = await page.content()
    response = documents.last
    return RenderedPage(
        status=response.status if response is not None else None,
        headers=await response.all_headers() if response is not None else {},
        final_url=page.url,
        html=html,
    )


def _desktop_user_agent(version: str) -> str:
    """Chromium's user agent without "Headless", which bot walls turn away on sight."""
    major = version.split(".", 1)[0]
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{major}.0.0.0 Safari/537.36"
    )


def _ms_left(deadline: float) -> float:
    """Milliseconds to the deadline; at least 1, as 0 means "no timeout" to Playwright."""
    return max(1.0, (deadline - time.monotonic()) * 1000)


def _playwright_problem(exc: Exception, url: str, timeout: float) -> FetchProblem:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    if isinstance(exc, PlaywrightTimeout):
        return timeout_problem(url, timeout)
    message = first_line(exc)
    for code, (kind, transient) in NET_ERRORS.items():
        if f"net::{code}" in message:
            return FetchProblem(kind, f"{code} at {url}", transient=transient)
    return FetchProblem(ProblemKind.BROWSER, f"the browser failed at {url}: {message}", True)
