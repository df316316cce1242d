"""The browser fetcher against a real Chromium and a real server on 127.0.0.1.

One event loop and one BrowserFetcher serve the whole module, as one serves a whole run of
monitor: each launch of Chromium costs about a second.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from monitor.browser import BrowserFetcher, chromium_path, fetch_auto
from monitor.fetch import Fetcher, FetchSettings
from monitor.models import FetchResult, ProblemKind
from tests.pageserver import PageServer, Request, Response, conditional

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the browser tests: install the Debian package chromium")
    pytest.skip(
        "no Chromium found (install the Debian package chromium or set MONITOR_CHROMIUM)",
        allow_module_level=True,
    )

FIXTURES = Path(__file__).parent / "fixtures" / "browser"
MODELS = [["claude-3-opus-20240229", "2026-01-05"], ["gpt-4-0613", "2026-06-06"]]
RENDERED_ROW = b"<tr><td>claude-3-opus-20240229</td><td>2026-01-05</td></tr>"
HTTP_AGENT = "monitor-test-http"
BROWSER_AGENT = "monitor-test-browser"
HTTP = FetchSettings(
    user_agent=HTTP_AGENT,
    timeout=5.0,
    max_body=1_000_000,
    max_redirects=3,
    retries=0,
    concurrency=4,
    per_host=2,
)
POLICY = (
    b"<!doctype html><html><head><title>Usage policy</title></head><body><h1>Usage policy</h1>"
    b"<p>We want our tools to be used safely and responsibly. This policy applies to anyone who "
    b"uses our products and services. Do not use them to compromise critical infrastructure, "
    b"to develop weapons, or to incite violence. We update it as our understanding evolves.</p>"
    b"</body></html>"
)
CHALLENGE = (
    b"<!doctype html><html><head><title>Just a moment...</title></head><body>"
    b'<div id="challenge"><noscript>Enable JavaScript and cookies to continue</noscript></div>'
    b'<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1"></script>'
    b"</body></html>"
)
T = TypeVar("T")


class Loop:
    """One event loop kept across the module's tests."""

    def __init__(self, runner: asyncio.Runner) -> None:
        self._runner = runner

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coroutine)


@pytest.fixture(scope="module")
def loop() -> Iterator[Loop]:
    with asyncio.Runner() as runner:
        yield Loop(runner)


@pytest.fixture(scope="module")
def browser(loop: Loop) -> Iterator[BrowserFetcher]:
    fetcher = BrowserFetcher(pages=2, timeout=10.0, user_agent=BROWSER_AGENT)
    yield fetcher
    loop.run(fetcher.aclose())


def page(name: str) -> Response:
    return Response(body=(FIXTURES / name).read_bytes())


def serve_app(server: PageServer, shell: str = "app.html") -> None:
    """A client-rendered page: its table exists only once its script has fetched the rows."""
    server.route("/app", page(shell))
    server.route(
        "/static/app.js",
        Response(body=(FIXTURES / "app.js").read_bytes(), content_type="text/javascript"),
    )
    server.route(
        "/api/models",
        Response(body=json.dumps(MODELS).encode(), content_type="application/json", delay=0.3),
    )
    server.route("/logo.png", Response(body=b"\x89PNG\r\n", content_type="image/png"))
    server.route("/fonts/inter.woff2", Response(body=b"wOF2", content_type="font/woff2"))


def paths(server: PageServer) -> list[str]:
    return [request.path for request in server.requests]


def agents(requests: list[Request]) -> list[str | None]:
    return [request.header("user-agent") for request in requests]


def chromium_processes() -> list[int]:
    """Chromium browser processes (not renderers or helpers) started below this test process."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [os.getpid()]
    while todo:
        for pid in children.get(todo.pop(), []):
            todo.append(pid)
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[0].endswith(b"chromium") and not any(a.startswith(b"--type=") for a in argv):
                found.append(pid)
    return found


def test_browser_renders_what_the_script_builds(
    loop: Loop, browser: BrowserFetcher, page_server: PageServer
) -> None:
    serve_app(page_server)

    result = loop.run(browser.fetch(page_server.url("/app")))

    assert result.ok, result.problem
    assert result.fetcher == "browser"
    assert result.status == 200
    assert result.charset == "utf-8"
    assert RENDERED_ROW in result.body
    assert (
        b"claude-3-opus"
        not in (FIXTURES / "app.html").read_bytes() + (FIXTURES / "app.js").read_bytes()
    )
    assert "/api/models" in paths(page_server)
    assert "/logo.png" not in paths(page_server)
    assert "/fonts/inter.woff2" not in paths(page_server)


def test_late_element_needs_wait_for(
    loop: Loop, browser: BrowserFetcher, page_server: PageServer
) -> None:
    page_server.route("/late", page("late.html"))
    url = page_server.url("/late")

    without = loop.run(browser.fetch(url))
    waited = loop.run(browser.fetch(url, wait_for="#retirements"))

    assert without.ok and waited.ok, (without.problem, waited.problem)
    assert b"Retired models: gpt-4-0314" not in without.body
    assert b"Retired models: gpt-4-0314" in waited.body


def test_wait_for_that_never_appears_is_a_timeout_naming_the_selector(
    loop: Loop, browser: BrowserFetcher, page_server: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    page_server.route("/late", page("late.html"))
    monkeypatch.setattr(browser, "timeout", 2.0)

    started = time.monotonic()
    result = loop.run(browser.fetch(page_server.url("/late"), wait_for="table.models"))

    assert result.problem is not None
    assert result.problem.kind is ProblemKind.TIMEOUT
    assert "'table.models'" in result.problem.message
    assert result.body == b""
    assert time.monotonic() - started < 8


def test_redirects_final_url_headers_and_no_cookies_between_checks(
    loop: Loop, browser: BrowserFetcher, page_server: PageServer
) -> None:
    page_server.route("/old", Response(status=301, headers={"Location": "/new"}))
    page_server.route(
        "/moved",
        Response(body=b'<script>location.replace("/new")</script>', etag='"moved"'),
    )
    page_server.route(
        "/new",
        Response(
            body=POLICY,
            etag='"v31"',
            last_modified="Wed, 01 Oct 2025 09:00:00 GMT",
            headers={"Set-Cookie": "visitor=returning; Path=/"},
        ),
    )

    first = loop.run(browser.fetch(page_server.url("/old")))
    second = loop.run(browser.fetch(page_server.url("/old")))
    scripted = loop.run(browser.fetch(page_server.url("/moved")))

    for result in (first, second, scripted):
        assert result.ok, result.problem
        assert result.final_url == page_server.url("/new")
        assert result.status == 200
        assert result.etag == '"v31"'
        assert result.last_modified == "Wed, 01 Oct 2025 09:00:00 GMT"
        assert result.content_type == "text/html"
        assert b"critical infrastructure" in result.body
    assert first.requested_url == page_server.url("/old")
    assert scripted.requested_url == page_server.url("/moved")
    new_requests = page_server.requests_to("/new")
    assert [request.header("cookie") for request in new_requests] == [None, None, None]
    assert agents(new_requests) == [BROWSER_AGENT] * 3


def test_at_most_pages_checks_render_at_once(
    loop: Loop, browser: BrowserFetcher, page_server: PageServer
) -> None:
    page_server.route("/slow", Response(body=POLICY, delay=0.4))

    async def scenario() -> list[FetchResult]:
        urls = [page_server.url(f"/slow?n={n}") for n in range(4)]
        return list(await asyncio.gather(*(browser.fetch(url) for url in urls)))

    results = loop.run(scenario())

    assert [result.ok for result in results] == [True] * 4
    assert page_server.max_active == 2


def test_browser_judges_the_rendered_page_like_the_http_fetcher(
    loop: Loop, browser: BrowserFetcher, page_server: PageServer
) -> None:
    page_server.route("/gone", Response(status=404, body=b"<h1>Not found</h1>"))
    page_server.route("/wall", Response(body=CHALLENGE))

    gone = loop.run(browser.fetch(page_server.url("/gone")))
    wall = loop.run(browser.fetch(page_server.url("/wall")))

    assert gone.problem is not None
    assert (gone.problem.kind, gone.status, gone.problem.transient) == (
        ProblemKind.HTTP_STATUS,
        404,
        False,
    )
    assert wall.problem is not None
    assert wall.problem.kind is ProblemKind.BLOCKED
    assert "the browser saw it too" in wall.problem.message


def test_rendered_page_over_max_body_is_too_large(
    loop: Loop, browser: BrowserFetcher, page_server: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    page_server.route("/big", Response(body=b"<script>document.write('x'.repeat(5000))</script>"))
    monkeypatch.setattr(browser, "max_body", 4000)

    result = loop.run(browser.fetch(page_server.url("/big")))

    assert result.problem is not None
    assert result.problem.kind is ProblemKind.TOO_LARGE
    assert result.body == b""


def test_browser_killed_mid_check_is_restarted_for_the_next_check(
    loop: Loop, browser: BrowserFetcher, page_server: PageServer
) -> None:
    page_server.route("/late", page("late.html"))
    page_server.route("/after", Response(body=POLICY))

    async def kill_mid_check() -> FetchResult:
        in_flight = asyncio.create_task(
            browser.fetch(page_server.url("/late"), wait_for="#retirements")
        )
        while not page_server.requests_to("/late"):
            await asyncio.sleep(0.05)
        (victim,) = chromium_processes()
        os.kill(victim, signal.SIGKILL)
        return await in_flight

    crashed = loop.run(kill_mid_check())
    after = loop.run(browser.fetch(page_server.url("/after")))

    assert crashed.problem is not None
    assert crashed.problem.kind is ProblemKind.BROWSER
    assert crashed.problem.transient
    assert after.ok, after.problem
    assert b"critical infrastructure" in after.body
    assert len(chromium_processes()) == 1


def test_missing_chromium_is_a_browser_problem_not_an_exception(
    loop: Loop, page_server: PageServer, tmp_path: Path
) -> None:
    page_server.route("/", Response(body=POLICY))
    missing = str(tmp_path / "no-chromium")

    async def scenario() -> FetchResult:
        async with BrowserFetcher(chromium_path=missing) as broken:
            return await broken.fetch(page_server.url("/"))

    result = loop.run(scenario())

    assert result.problem is not None
    assert result.problem.kind is ProblemKind.BROWSER
    assert missing in result.problem.message
    assert page_server.requests == []


def test_chromium_path_prefers_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_CHROMIUM", "/opt/chromium/chrome")
    assert chromium_path() == "/opt/chromium/chrome"
    monkeypatch.delenv("MONITOR_CHROMIUM")
    found = chromium_path()
    assert found is not None and os.access(found, os.X_OK)


async def auto(
    browser: BrowserFetcher,
    url: str,
    *,
    needs_browser: bool,
    etag: str | None = None,
) -> tuple[FetchResult, bool]:
    async with Fetcher(HTTP) as http:
        return await fetch_auto(
            http,
            browser,
            url,
            wait_for=None,
            etag=etag,
            last_modified=None,
            needs_browser=needs_browser,
        )


def test_auto_escalates_a_javascript_shell_once_then_goes_straight_to_the_browser(
    loop: Loop, browser: BrowserFetcher, page_server: PageServer
) -> None:
    serve_app(page_server, "next.html")  # HTTP reads it without a problem: a header, no content
    url = page_server.url("/app")

    first, needs_browser = loop.run(auto(browser, url, needs_browser=False))
    assert needs_browser
    assert first.ok, first.problem
    assert first.fetcher == "browser"
    assert RENDERED_ROW in first.body
    assert agents(page_server.requests_to("/app")) == [HTTP_AGENT, BROWSER_AGENT]

    second, still_needs_browser = loop.run(auto(browser, url, needs_browser=needs_browser))
    assert still_needs_browser
    assert second.fetcher == "browser"
    assert RENDERED_ROW in second.body
    assert agents(page_server.requests_to("/app")) == [HTTP_AGENT, BROWSER_AGENT, BROWSER_AGENT]


@pytest.mark.parametrize(
    ("shell", "http_problem"),
    [("app.html", ProblemKind.BLOCKED), ("bare.html", ProblemKind.EMPTY)],
)
def test_auto_escalates_a_shell_the_http_fetcher_calls_a_problem(
    loop: Loop,
    browser: BrowserFetcher,
    page_server: PageServer,
    shell: str,
    http_problem: ProblemKind,
) -> None:
    serve_app(page_server, shell)

    async def http_only() -> FetchResult:
        async with Fetcher(HTTP) as http:
            return await http.fetch(page_server.url("/app"))

    plain = loop.run(http_only())
    result, needs_browser = loop.run(auto(browser, page_server.url("/app"), needs_browser=False))

    assert plain.problem is not None and plain.problem.kind is http_problem
    assert needs_browser
    assert result.ok, result.problem
    assert RENDERED_ROW in result.body


def test_auto_escalates_a_bot_wall_that_lets_browsers_through(
    loop: Loop, browser: BrowserFetcher, page_server: PageServer
) -> None:
    def guarded(request: Request) -> Response:
        if request.header("sec-fetch-mode") == "navigate":  # sent by browsers, not by httpx
            return Response(body=POLICY)
        return Response(status=403, body=CHALLENGE)

    page_server.route("/policy", guarded)

    result, needs_browser = loop.run(auto(browser, page_server.url("/policy"), needs_browser=False))

    assert needs_browser
    assert result.ok, result.problem
    assert b"critical infrastructure" in result.body
    assert agents(page_server.requests_to("/policy")) == [HTTP_AGENT, BROWSER_AGENT]


def test_auto_stays_on_http_for_a_page_with_content_and_starts_no_chromium(
    loop: Loop, page_server: PageServer
) -> None:
    page_server.route("/policy", conditional(POLICY, etag='"p1"'))
    page_server.route("/gone", Response(status=404, body=b"<h1>Not found</h1>"))

    async def scenario() -> list[tuple[FetchResult, bool]]:
        async with BrowserFetcher(user_agent=BROWSER_AGENT) as unused:
            before = chromium_processes()
            outcomes = [
                await auto(unused, page_server.url("/policy"), needs_browser=False),
                await auto(unused, page_server.url("/policy"), needs_browser=False, etag='"p1"'),
                await auto(unused, page_server.url("/gone"), needs_browser=False),
            ]
            assert chromium_processes() == before
            return outcomes

    (fresh, fresh_needs), (same, same_needs), (gone, gone_needs) = loop.run(scenario())

    assert (fresh.fetcher, fresh_needs, fresh.ok) == ("http", False, True)
    assert (same.fetcher, same_needs, same.not_modified) == ("http", False, True)
    assert (gone.fetcher, gone_needs, gone.status) == ("http", False, 404)
    assert agents(page_server.requests) == [HTTP_AGENT] * 3
