"""The fetch stage against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from monitor.config import Defaults
from monitor.fetch import Fetcher, FetchSettings, _retry_after, detect_problem
from monitor.models import FetchResult, ProblemKind
from tests.pageserver import PageServer, Response, conditional, endless

SETTINGS = FetchSettings(
    user_agent="monitor-test/1.0",
    timeout=2.0,
    max_body=1_000_000,
    max_redirects=3,
    retries=2,
    concurrency=10,
    per_host=4,
    backoff_base=0.01,
    backoff_max=0.02,
)

PAGE = b"<!doctype html><html><head><title>Usage Policy</title></head><body>%s</body></html>"
POLICY = (
    b"<p>We want our tools to be used safely and responsibly. This Usage Policy applies to anyone "
    b"who uses our products and services, and it is intended to help our users stay safe. "
    b"Do not use our products to compromise critical infrastructure, to develop weapons, or to "
    b"incite violence. We may update this policy as our understanding of risks evolves.</p>"
)


def fetch_one(url: str, settings: FetchSettings = SETTINGS, **kwargs: str | None) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch(url, **kwargs)

    return asyncio.run(go())


def fetch_many(urls: list[str], settings: FetchSettings) -> list[FetchResult]:
    async def go() -> list[FetchResult]:
        async with Fetcher(settings) as fetcher:
            return list(await asyncio.gather(*(fetcher.fetch(url) for url in urls)))

    return asyncio.run(go())


def gaps(server: PageServer, path: str) -> list[float]:
    times = [request.at for request in server.requests_to(path)]
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# A page, its headers, conditional requests, encodings


def test_a_page_comes_back_with_its_headers(page_server: PageServer) -> None:
    body = PAGE % POLICY
    page_server.route(
        "/aup",
        Response(
            body=body,
            etag='"abc"',
            last_modified="Tue, 11 Nov 2025 10:00:00 GMT",
            content_type="text/html; charset=UTF-8",
        ),
    )
    result = fetch_one(page_server.url("/aup"))

    assert result.ok, result.problem
    assert (result.status, result.body, result.attempts) == (200, body, 1)
    assert result.requested_url == result.final_url == page_server.url("/aup")
    assert (result.content_type, result.charset) == ("text/html", "utf-8")
    assert (result.etag, result.last_modified) == ('"abc"', "Tue, 11 Nov 2025 10:00:00 GMT")
    assert not result.not_modified
    assert result.fetched_at.tzinfo is not None and result.fetched_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - result.fetched_at) < timedelta(seconds=30)
    assert result.duration_ms >= 0
    request = page_server.requests_to("/aup")[0]
    assert request.header("user-agent") == "monitor-test/1.0"
    assert request.header("if-none-match") is None


def test_charset_comes_from_the_header_and_the_bytes_stay_raw(page_server: PageServer) -> None:
    body = (PAGE % "<p>モデルの提供終了のお知らせ。{}</p>".format("本文" * 50).encode()).decode()
    raw = body.encode("shift_jis")
    page_server.route("/ja", Response(body=raw, content_type='text/html; charset="Shift_JIS"'))
    page_server.route("/none", Response(body=PAGE % POLICY, content_type="text/html"))

    japanese = fetch_one(page_server.url("/ja"))
    plain = fetch_one(page_server.url("/none"))

    assert (japanese.charset, japanese.body) == ("shift_jis", raw)
    assert japanese.ok, japanese.problem
    assert plain.charset is None


def test_conditional_request_gets_a_304(page_server: PageServer) -> None:
    modified = "Wed, 12 Nov 2025 08:00:00 GMT"
    page_server.route("/p", conditional(PAGE % POLICY, etag='"v1"', last_modified=modified))
    first = fetch_one(page_server.url("/p"))
    assert first.ok and not first.not_modified and first.etag == '"v1"'

    second = fetch_one(page_server.url("/p"), etag=first.etag, last_modified=first.last_modified)

    assert second.not_modified and second.ok
    assert (second.status, second.body, second.problem) == (304, b"", None)
    assert (second.etag, second.last_modified) == ('"v1"', modified)
    request = page_server.requests_to("/p")[-1]
    assert request.header("if-none-match") == '"v1"'
    assert request.header("if-modified-since") == modified


def test_a_304_without_validators_keeps_the_ones_sent(page_server: PageServer) -> None:
    modified = "Wed, 12 Nov 2025 08:00:00 GMT"
    page_server.route("/p", Response(status=304, content_type=None))

    result = fetch_one(page_server.url("/p"), etag='"v7"', last_modified=modified)

    assert result.not_modified
    assert (result.etag, result.last_modified) == ('"v7"', modified)


def test_a_changed_page_answers_200_to_a_stale_etag(page_server: PageServer) -> None:
    page_server.route("/p", conditional(PAGE % POLICY, etag='"v2"'))

    result = fetch_one(page_server.url("/p"), etag='"v1"')

    assert result.ok and not result.not_modified
    assert (result.status, result.etag) == (200, '"v2"')


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_compressed_bodies_are_decoded(page_server: PageServer, encoding: str) -> None:
    body = PAGE % (POLICY * 40)
    page_server.route("/z", Response(body=body, encoding=encoding))  # type: ignore[arg-type]

    result = fetch_one(page_server.url("/z"))

    assert result.ok, result.problem
    assert result.body == body
    assert encoding in (page_server.requests_to("/z")[0].header("accept-encoding") or "")
    assert page_server.bytes_sent["/z"] < len(body) / 4


# Retries


def test_a_500_then_a_200_recovers_on_the_second_attempt(page_server: PageServer) -> None:
    page_server.route("/p", [Response(status=500), Response(body=PAGE % POLICY)])

    result = fetch_one(page_server.url("/p"))

    assert result.ok, result.problem
    assert (result.status, result.attempts) == (200, 2)
    assert len(page_server.requests_to("/p")) == 2


def test_retry_after_is_honoured(page_server: PageServer) -> None:
    page_server.route(
        "/p",
        [Response(status=429, headers={"Retry-After": "1"}), Response(body=PAGE % POLICY)],
    )

    result = fetch_one(page_server.url("/p"))

    assert result.ok and result.attempts == 2
    # backoff alone would wait at most backoff_max (0.02 s)
    assert gaps(page_server, "/p")[0] >= 0.95


def test_retry_after_is_capped(page_server: PageServer) -> None:
    page_server.route(
        "/p",
        [Response(status=503, headers={"Retry-After": "3600"}), Response(body=PAGE % POLICY)],
    )

    result = fetch_one(page_server.url("/p"), replace(SETTINGS, retry_after_max=0.3))

    assert result.ok and result.attempts == 2
    assert 0.28 <= gaps(page_server, "/p")[0] < 30


def test_retry_after_reads_seconds_and_http_dates() -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)

    assert _retry_after("7", 120) == 7
    assert _retry_after("600", 120) == 120
    assert 25 <= (_retry_after(soon, 120) or 0) <= 30
    assert _retry_after(past, 120) == 0
    assert _retry_after("soon", 120) is None
    assert _retry_after(None, 120) is None


def test_a_persistent_503_is_a_transient_http_status_problem(page_server: PageServer) -> None:
    page_server.route("/p", Response(status=503, body=b"<h1>down for maintenance</h1>"))

    result = fetch_one(page_server.url("/p"))

    assert result.problem is not None
    assert result.problem.kind is ProblemKind.HTTP_STATUS and result.problem.transient
    assert "HTTP 503 Service Unavailable" in result.problem.message
    assert page_server.url("/p") in result.problem.message
    assert (result.status, result.attempts) == (503, 3)
    assert len(page_server.requests_to("/p")) == 3


def test_a_404_is_not_retried(page_server: PageServer) -> None:
    result = fetch_one(page_server.url("/missing"))

    assert result.problem is not None
    assert result.problem.kind is ProblemKind.HTTP_STATUS and not result.problem.transient
    assert "HTTP 404 Not Found" in result.problem.message
    assert result.attempts == 1 and len(page_server.requests) == 1


# Network faults


def test_a_slow_server_times_out(page_server: PageServer) -> None:
    page_server.route("/slow", Response(body=PAGE % POLICY, delay=3))

    result = fetch_one(page_server.url("/slow"), replace(SETTINGS, timeout=0.3, retries=1))

    assert result.problem is not None
    assert result.problem.kind is ProblemKind.TIMEOUT and result.problem.transient
    assert result.attempts == 2 and len(page_server.requests_to("/slow")) == 2
    assert result.status is None


def test_a_server_that_drips_bytes_times_out(page_server: PageServer) -> None:
    def drip() -> Iterator[bytes]:
        while True:
            time.sleep(0.05)
            yield b"<p>."

    page_server.route("/drip", Response(stream=drip()))

    result = fetch_one(page_server.url("/drip"), replace(SETTINGS, timeout=0.2, retries=0))

    assert result.problem is not None and result.problem.kind is ProblemKind.TIMEOUT


def test_a_closed_port_is_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}/"

    result = fetch_one(url)

    assert result.problem is not None
    assert result.problem.kind is ProblemKind.REFUSED and result.problem.transient
    assert result.attempts == 3 and url in result.problem.message


def test_a_name_that_does_not_resolve_is_a_dns_problem() -> None:
    result = fetch_one("http://nonexistent.invalid/", replace(SETTINGS, retries=0))

    assert result.problem is not None
    assert result.problem.kind is ProblemKind.DNS
    assert "nonexistent.invalid" in result.problem.message


@pytest.mark.parametrize("url", ["ftp://example.com/x", "not a url", "http:///nohost", ""])
def test_a_bad_url_is_a_problem_not_an_exception(url: str) -> None:
    result = fetch_one(url)

    assert result.problem is not None
    assert result.problem.kind is ProblemKind.CONNECTION and not result.problem.transient
    assert result.attempts == 1


# Redirects and size caps


def test_redirects_are_followed(page_server: PageServer) -> None:
    page_server.route("/old", Response(status=301, headers={"Location": "/new"}))
    page_server.route("/new", Response(body=PAGE % POLICY))

    result = fetch_one(page_server.url("/old"))

    assert result.ok
    assert result.requested_url == page_server.url("/old")
    assert result.final_url == page_server.url("/new")


def test_a_redirect_loop_is_too_many_redirects(page_server: PageServer) -> None:
    page_server.route("/a", Response(status=302, headers={"Location": "/b"}))
    page_server.route("/b", Response(status=302, headers={"Location": "/a"}))

    result = fetch_one(page_server.url("/a"))

    assert result.problem is not None
    assert result.problem.kind is ProblemKind.TOO_MANY_REDIRECTS
    assert "loop" in result.problem.message
    assert result.final_url == page_server.url("/b")
    assert result.attempts == 1
    assert len(page_server.requests) == SETTINGS.max_redirects + 1


def test_a_body_announced_too_large_is_not_read(page_server: PageServer) -> None:
    page_server.route("/big", Response(stream=endless(), content_length=500_000_000))

    result = fetch_one(page_server.url("/big"), replace(SETTINGS, max_body=100_000))

    assert result.problem is not None and result.problem.kind is ProblemKind.TOO_LARGE
    assert "max_body" in result.problem.message and result.body == b""
    assert page_server.bytes_sent.get("/big", 0) < 20_000_000


def test_an_endless_body_is_cut_at_the_cap(page_server: PageServer) -> None:
    page_server.route("/endless", Response(stream=endless()))

    result = fetch_one(page_server.url("/endless"), replace(SETTINGS, max_body=100_000))

    assert result.problem is not None and result.problem.kind is ProblemKind.TOO_LARGE
    assert result.attempts == 1 and result.body == b""
    assert page_server.bytes_sent["/endless"] < 20_000_000


def test_the_cap_applies_to_decoded_bytes(page_server: PageServer) -> None:
    page_server.route("/bomb", Response(stream=endless(b"\0" * 65536), encoding="gzip"))

    result = fetch_one(page_server.url("/bomb"), replace(SETTINGS, max_body=1_000_000))

    assert result.problem is not None and result.problem.kind is ProblemKind.TOO_LARGE
    assert page_server.bytes_sent["/bomb"] < 1_000_000


# Bot walls, captchas, error pages served with 200, empty bodies

CLOUDFLARE = b"""<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"><script>(function(){window._cf_chl_opt={cvId: '3',
cZone: "www.anthropic.com",cType: 'managed'};var a = document.createElement('script');
a.src = '/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray=8e1';})();</script></head>
<body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">www.anthropic.com</h1><h2 class="h2" id="challenge-running">
Verifying you are human. This may take a few seconds.</h2><noscript><div class="h2">
Enable JavaScript and cookies to continue</div></noscript></div></div>
<div class="footer">Ray ID: <code>8e1c2f</code> Performance &amp; security by Cloudflare</div>
</body></html>"""

CAPTCHA = b"""<html><head><title>Security check</title>
<script src="https://js.hcaptcha.com/1/api.js" async defer></script></head>
<body><h1>One more step</h1><p>Please complete the security check to access the site.</p>
<form method="post"><div class="h-captcha" data-sitekey="10000000-ffff"></div></form>
</body></html>"""

AKAMAI = b"""<HTML><HEAD>
<TITLE>Access Denied</TITLE>
</HEAD><BODY>
<H1>Access Denied</H1>

You don't have permission to access "http&#58;&#47;&#47;openai&#46;com&#47;policies&#47;" on this
server.<P>
Reference&#32;&#35;18&#46;6f2d3e17&#46;1731312000&#46;2a4b5c6
</BODY>
</HTML>"""

JS_SHELL = b"""<!doctype html><html><head><meta charset="utf-8"><title>Platform</title>
<script defer src="/static/js/main.4f1c.js"></script></head>
<body><noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div>
</body></html>"""

JS_CONTINUE = b"""<html><head><title>docs</title></head><body>
<p>Please enable JavaScript to continue using this application.</p></body></html>"""

# The Meta acceptable use policy flaps between its text and this page, served with 200.
NOT_AVAILABLE = (
    "<html><head><title>Meta</title></head><body><div><h2>This page isn\u2019t available</h2>"
    "<p>An unexpected error has occurred. Try reloading the page or come back later.</p>"
    "</div></body></html>"
).encode()

NOT_FOUND = b"""<!DOCTYPE html><html><head><title>404: This page could not be found.</title>
</head><body><div><h1>404</h1><h2>This page could not be found.</h2></div></body></html>"""

WENT_WRONG = b"""<html><head><title>Help Center</title></head><body>
<h1>Something went wrong</h1><p>Please try again later.</p></body></html>"""


def real_page() -> bytes:
    """~100 KB policy page with a recaptcha form, a noscript banner and JavaScript in the text."""
    head = (
        b"<!doctype html><html><head><title>Usage Policy \xe2\x80\x94 Acme AI</title>"
        b'<script src="https://www.google.com/recaptcha/api.js" async></script>'
        b"<script>window.dataLayer=[];function gtag(){dataLayer.push(arguments)}</script>"
        b"</head><body><noscript>Please enable JavaScript to continue using all features."
        b'</noscript><nav><a href="/">Home</a></nav><main><h1>Usage Policy</h1>'
        b"<p>Effective date: September 15, 2025. This policy covers code written in Python, "
        b"JavaScript and other languages that is generated with our models.</p>"
    )
    sections = b"".join(b"<h2>Section %d</h2>%s" % (number, POLICY * 3) for number in range(1, 90))
    form = (
        b'<form action="/report"><p>Report a violation</p><div class="g-recaptcha" '
        b'data-sitekey="6Lc"></div><button>Send</button></form>'
    )
    return head + sections + form + b"</main></body></html>"


# A real page served by Cloudflare carries this script; only a challenge loads .../h/...
CLOUDFLARE_REAL = PAGE % (
    POLICY * 4 + b"<script>(function(){window.__CF$cv$params={r:'8e1c2f',t:'MTczMTMxMjAwMA=='};"
    b"var a=document.createElement('script');"
    b"a.src='/cdn-cgi/challenge-platform/scripts/jsd/main.js';})();</script>"
)


@pytest.mark.parametrize(
    ("body", "status", "kind", "says"),
    [
        pytest.param(
            CLOUDFLARE, 403, ProblemKind.BLOCKED, "Cloudflare challenge", id="cloudflare-403"
        ),
        pytest.param(
            CLOUDFLARE, 200, ProblemKind.BLOCKED, "Cloudflare challenge", id="cloudflare-200"
        ),
        pytest.param(CAPTCHA, 200, ProblemKind.BLOCKED, "captcha", id="hcaptcha"),
        pytest.param(AKAMAI, 403, ProblemKind.BLOCKED, "Akamai Access Denied", id="akamai-403"),
        pytest.param(AKAMAI, 200, ProblemKind.BLOCKED, "Akamai Access Denied", id="akamai-200"),
        pytest.param(JS_SHELL, 200, ProblemKind.BLOCKED, "JavaScript", id="spa-shell"),
        pytest.param(JS_CONTINUE, 200, ProblemKind.BLOCKED, "JavaScript", id="enable-javascript"),
        pytest.param(
            b"<html><head><title>Just a moment</title></head><body>Checking</body></html>",
            503,
            ProblemKind.BLOCKED,
            'HTTP 503 with "just a moment"',
            id="weak-marker-on-503",
        ),
        pytest.param(b"", 200, ProblemKind.EMPTY, "empty body", id="empty"),
        pytest.param(b"  \r\n\t ", 200, ProblemKind.EMPTY, "empty body", id="whitespace"),
        pytest.param(
            NOT_AVAILABLE, 200, ProblemKind.EMPTY, "this page isn't available", id="meta-flap"
        ),
        pytest.param(NOT_FOUND, 200, ProblemKind.EMPTY, '"404', id="soft-404"),
        pytest.param(WENT_WRONG, 200, ProblemKind.EMPTY, "something went wrong", id="went-wrong"),
        pytest.param(
            b"<html><body><div id=app></div><script>render()</script></body></html>",
            200,
            ProblemKind.EMPTY,
            "no visible text",
            id="no-text",
        ),
    ],
)
def test_detect_problem_finds_walls_and_error_pages(
    body: bytes, status: int, kind: ProblemKind, says: str
) -> None:
    problem = detect_problem(body, status, "text/html")

    assert problem is not None and problem.kind is kind
    assert says in problem.message
    assert "\n" not in problem.message


@pytest.mark.parametrize(
    ("body", "status", "content_type"),
    [
        pytest.param(
            real_page(), 200, "text/html; charset=utf-8", id="100kb-policy-with-recaptcha"
        ),
        pytest.param(PAGE % POLICY, 200, "text/html", id="short-policy"),
        pytest.param(
            PAGE % (POLICY * 5 + b"<noscript>Please enable JavaScript to continue.</noscript>"),
            200,
            "text/html",
            id="noscript-banner",
        ),
        pytest.param(CLOUDFLARE_REAL, 200, "text/html", id="behind-cloudflare"),
        pytest.param(
            PAGE % (b"<h2>Errors</h2><p>A model not found error means the id is wrong.</p>" * 30),
            200,
            "text/html",
            id="mentions-not-found",
        ),
        pytest.param(b'{"deprecations": []}', 200, "application/json", id="json"),
        pytest.param(
            b'<?xml version="1.0"?><rss><channel><title>404 feed</title></channel></rss>',
            200,
            "application/rss+xml",
            id="rss",
        ),
        pytest.param(
            b"# Model deprecations\n\nNothing retired yet.\n", 200, "text/plain", id="markdown"
        ),
        # the status already says it; the fetch reports HTTP_STATUS
        pytest.param(NOT_FOUND, 404, "text/html", id="real-404"),
    ],
)
def test_detect_problem_leaves_real_pages_alone(
    body: bytes, status: int, content_type: str
) -> None:
    assert detect_problem(body, status, content_type) is None


def test_a_wall_behind_a_large_inline_script_is_still_a_wall() -> None:
    """Visible text is measured over a growing start of the page: a wall whose few words come
    after 100 KB of script and comments is still found, however the windows fall."""
    script = b"<script>" + b"var state = {'a': [1, 2, 3]};" * 3500 + b"</script>"
    comment = b"<!-- " + b"build 1234 " * 4000 + b"-->"
    body = CAPTCHA.replace(b"</head>", script + comment + b"</head>")

    problem = detect_problem(body, 200, "text/html")

    assert len(body) > 140_000
    assert problem is not None and "captcha" in problem.message


def test_a_page_measured_in_part_is_judged_as_the_whole() -> None:
    """The text of a start of the page never exceeds the whole page's: a start that already
    shows more text than any wall has settles it, and every other page is measured whole."""
    from monitor.fetch.problems import TEXT_ENOUGH, _visible_text, _visible_text_upto

    pages = [
        real_page(),
        real_page() * 20,
        PAGE % (POLICY * 3),
        CAPTCHA,
        PAGE % (b"<p>a &amp; b &lt; c</p><p>" + b"x" * 70_000 + b"</p>"),
        PAGE % (b"<div>" + b"<span>tiny</span><!-- c -->" * 9000 + b"</div>"),
    ]
    for body in pages:
        whole, part = _visible_text(body), _visible_text_upto(body)
        assert len(part) <= len(whole)
        assert (len(part) > TEXT_ENOUGH) == (len(whole) > TEXT_ENOUGH)
        if len(whole) <= TEXT_ENOUGH:
            assert part == whole


def test_a_large_page_with_markers_past_the_start_is_real() -> None:
    late = real_page() + b"<!-- cf-chl verify you are human -->"

    assert len(real_page()) > 90_000
    assert detect_problem(late, 200, "text/html") is None


@pytest.mark.parametrize(
    ("body", "status", "kind", "says"),
    [
        pytest.param(
            CLOUDFLARE,
            503,
            ProblemKind.BLOCKED,
            'blocked by a bot wall (Cloudflare challenge) at {url}; try fetcher = "browser"',
            id="cloudflare-503",
        ),
        pytest.param(CAPTCHA, 200, ProblemKind.BLOCKED, "(captcha) at {url}", id="hcaptcha"),
        pytest.param(
            AKAMAI, 403, ProblemKind.BLOCKED, "(Akamai Access Denied) at {url}", id="akamai"
        ),
        pytest.param(
            JS_SHELL, 200, ProblemKind.BLOCKED, "(page needs JavaScript) at {url}", id="spa-shell"
        ),
        pytest.param(b"", 200, ProblemKind.EMPTY, "empty body at {url}", id="empty"),
        pytest.param(NOT_AVAILABLE, 200, ProblemKind.EMPTY, 'available") at {url}', id="meta-flap"),
    ],
)
def test_walls_and_error_pages_served_are_problems_not_retried(
    page_server: PageServer, body: bytes, status: int, kind: ProblemKind, says: str
) -> None:
    page_server.route("/p", Response(status=status, body=body))

    result = fetch_one(page_server.url("/p"))

    assert result.problem is not None and result.problem.kind is kind
    assert says.format(url=page_server.url("/p")) in result.problem.message
    assert result.attempts == 1 and len(page_server.requests) == 1
    assert result.status == status


def test_a_real_page_with_javascript_and_recaptcha_is_fetched(page_server: PageServer) -> None:
    page_server.route("/aup", Response(body=real_page(), encoding="br"))

    result = fetch_one(page_server.url("/aup"))

    assert result.ok, result.problem
    assert result.body == real_page()


# Limits


def test_per_host_limit(page_server: PageServer) -> None:
    page_server.route("/slow", Response(body=PAGE % POLICY, delay=0.2))
    settings = replace(SETTINGS, per_host=2, concurrency=10)

    results = fetch_many([page_server.url("/slow")] * 6, settings)

    assert all(result.ok for result in results)
    assert page_server.max_active == 2


def test_global_limit(page_server: PageServer) -> None:
    page_server.route("/slow", Response(body=PAGE % POLICY, delay=0.2))
    settings = replace(SETTINGS, per_host=10, concurrency=3)

    results = fetch_many([page_server.url("/slow")] * 7, settings)

    assert all(result.ok for result in results)
    assert page_server.max_active == 3


def test_waiting_for_a_slot_does_not_count_as_timeout(page_server: PageServer) -> None:
    page_server.route("/p", Response(body=PAGE % POLICY, delay=0.1))
    settings = replace(SETTINGS, timeout=0.5, retries=0, concurrency=1)

    # twelve requests one at a time take longer than the timeout, which bounds each attempt
    results = fetch_many([page_server.url("/p")] * 12, settings)

    assert [result.problem for result in results] == [None] * 12
    assert page_server.max_active == 1


def test_hosts_are_limited_separately(page_server: PageServer) -> None:
    page_server.route("/slow", Response(body=PAGE % POLICY, delay=0.3))
    other_host = f"http://localhost:{page_server.port}/slow"
    settings = replace(SETTINGS, per_host=1, concurrency=10)

    results = fetch_many([page_server.url("/slow"), other_host] * 2, settings)

    assert all(result.ok for result in results)
    assert page_server.max_active == 2


def test_host_spacing(page_server: PageServer) -> None:
    page_server.route("/p", Response(body=PAGE % POLICY))
    settings = replace(SETTINGS, per_host=4, host_spacing=0.15)

    results = fetch_many([page_server.url("/p")] * 3, settings)

    assert all(result.ok for result in results)
    assert all(gap >= 0.14 for gap in gaps(page_server, "/p"))


# Wiring


def test_settings_from_defaults() -> None:
    defaults = Defaults.model_validate(
        {"timeout": "5s", "max_body": "2MB", "retries": 4, "per_host": 3, "host_spacing": "2s"}
    )

    settings = FetchSettings.from_defaults(defaults)

    assert (settings.timeout, settings.max_body, settings.retries) == (5.0, 2_000_000, 4)
    assert (settings.per_host, settings.host_spacing) == (3, 2.0)
    assert settings.user_agent == defaults.user_agent
    assert settings.concurrency == defaults.concurrency
    assert settings.max_redirects == defaults.max_redirects


def test_a_transport_can_be_given() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, html=(PAGE % POLICY).decode())

    async def go() -> FetchResult:
        async with Fetcher(SETTINGS, transport=httpx.MockTransport(answer)) as fetcher:
            return await fetcher.fetch("https://www.example.com/policy")

    result = asyncio.run(go())

    assert result.ok and result.final_url == "https://www.example.com/policy"
    assert seen[0].headers["user-agent"] == "monitor-test/1.0"


def test_a_304_leaves_the_connection_open_for_the_next_request(page_server: PageServer) -> None:
    page_server.route("/c", conditional(PAGE % POLICY, etag='"v1"'))

    async def go() -> list[FetchResult]:
        async with Fetcher(SETTINGS) as fetcher:
            return [await fetcher.fetch(page_server.url("/c"), etag='"v1"') for _ in range(5)]

    results = asyncio.run(go())
    assert all(r.not_modified for r in results)
    assert page_server.connections_opened == 1


def test_a_fetch_leaves_no_import_to_search_again_at_the_next(page_server: PageServer) -> None:
    """httpcore imports sniffio at every request: absent, it is remembered as absent (a search of
    sys.path each time cost a third of a 304)."""
    page_server.route("/s", Response(body=PAGE % POLICY))

    assert fetch_one(page_server.url("/s")).status == 200
    assert "sniffio" in sys.modules
