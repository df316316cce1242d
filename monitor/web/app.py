"""The application: routes, access rules, sessions and the security headers on every response.

Access: with no reviewer signed in, pages and the API may be read only while the server listens
on a loopback address (otherwise 401); every write needs a reviewer."""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.config import Config
from monitor.errors import MonitorError
from monitor.snapshots import open_bodies
from monitor.web import api, feed, pages
from monitor.web.auth import BadToken, reviewer_of
from monitor.web.data import BadRequest, NotFound, SpanCache, TooLarge

CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
RAW_CSP = "default-src 'none'; sandbox"
SESSION_HOURS = 12
Endpoint = Callable[[Request], Awaitable[Response]] | Callable[[Request], Response]


class SecurityHeaders:
    """Adds the CSP, nosniff and Referrer-Policy headers to every response, errors included.
    A response that sets its own (stricter) CSP keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def guarded(endpoint: Endpoint, *, api_route: bool, open_to_all: bool = False) -> Endpoint:
    """Who is asking, and may they read; bad parameters and unknown ids become 400 and 404.
    Plain functions run in a worker thread: they read the store, which blocks."""

    async def run(request: Request) -> Response:
        try:
            request.state.reviewer = await run_in_threadpool(reviewer_of, request)
        except BadToken as exc:
            return unauthorized(request, str(exc), api_route=api_route)
        if request.state.reviewer is None and not (request.app.state.public_read or open_to_all):
            return unauthorized(request, "sign in with a reviewer token", api_route=api_route)
        try:
            if inspect.iscoroutinefunction(endpoint):
                return await endpoint(request)  # reads the body, then writes
            # reads the store: in a worker thread, so a slow page does not hold up the others
            return await run_in_threadpool(endpoint, request)  # type: ignore[arg-type]
        except BadRequest as exc:
            return failure(request, 400, str(exc), api_route=api_route)
        except TooLarge as exc:
            return failure(request, 413, str(exc), api_route=api_route)
        except NotFound as exc:
            return failure(request, 404, str(exc), api_route=api_route)
        except MonitorError as exc:  # e.g. a snapshot body missing from the snapshots folder
            return failure(request, 500, str(exc), api_route=api_route)

    return run


def unauthorized(request: Request, reason: str, *, api_route: bool) -> Response:
    if api_route:
        return JSONResponse(
            {"error": reason}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    return pages.signin_page(request, status_code=401, problem=reason)


def failure(request: Request, status: int, reason: str, *, api_route: bool) -> Response:
    if api_route:
        return JSONResponse({"error": reason}, status_code=status)
    return pages.error_page(request, status, reason)


def _routes() -> list[Route | Mount]:
    def page(path: str, endpoint: Endpoint, methods: tuple[str, ...] = ("GET",)) -> Route:
        return Route(path, guarded(endpoint, api_route=False), methods=list(methods))

    def json(path: str, endpoint: Endpoint, methods: tuple[str, ...] = ("GET",)) -> Route:
        return Route(path, guarded(endpoint, api_route=True), methods=list(methods))

    static = Path(__file__).parent / "static"
    return [
        page("/", pages.watches),
        page("/watches/{watch_id}", pages.watch_timeline),
        page("/changes", pages.change_list),
        page("/changes/{change_id:int}", pages.change),
        page("/changes/{change_id:int}/reviews", pages.review, ("POST",)),
        page("/compare", pages.compare),
        page("/versions/{version_id:int}", pages.version),
        page("/versions/{version_id:int}/raw", pages.raw_snapshot),
        page("/models", pages.models),
        page("/models.ics", pages.models_ics),
        page("/feed.atom", feed.atom),
        Route(
            "/signin",
            guarded(pages.signin, api_route=False, open_to_all=True),
            methods=["GET", "POST"],
        ),
        Route(
            "/signout", guarded(pages.signout, api_route=False, open_to_all=True), methods=["POST"]
        ),
        json("/api/watches", api.watches),
        json("/api/changes", api.changes),
        json("/api/changes/{change_id:int}", api.change),
        json("/api/changes/{change_id:int}/reviews", api.review, ("POST",)),
        json("/api/compare", api.compare),
        json("/api/models", api.models),
        json("/api/exposure", api.exposure),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]


def create_app(
    config: Config,
    engine: sa.Engine,
    *,
    public_read: bool,
    session_secret: str | None = None,
    secure_cookie: bool = False,
    allowed_hosts: list[str] | None = None,
) -> ASGIApp:
    """The ASGI application. `public_read`: reading without a token is allowed (set it only
    when listening on loopback). Sessions end when the server restarts unless
    `session_secret` is given. `allowed_hosts`: the Host headers answered (a page elsewhere
    that rebinds its own name to 127.0.0.1 gets 400, not the history); None answers any."""
    app = Starlette(
        routes=_routes(),
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or ["*"]),
            Middleware(
                SessionMiddleware,
                secret_key=session_secret or secrets.token_urlsafe(32),
                session_cookie="monitor_session",
                max_age=SESSION_HOURS * 3600,
                same_site="strict",
                https_only=secure_cookie,
            ),
        ],
        exception_handlers={404: _not_found, 405: _not_allowed},
    )
    app.state.config = config
    app.state.engine = engine
    app.state.snapshots = open_bodies(config.snapshots)
    app.state.public_read = public_read
    app.state.spans = SpanCache()
    return SecurityHeaders(app)


async def _not_found(request: Request, exc: Any) -> Response:
    api_route = request.url.path.startswith("/api/")
    return failure(request, 404, f"nothing at {request.url.path}", api_route=api_route)


async def _not_allowed(request: Request, exc: Any) -> Response:
    api_route = request.url.path.startswith("/api/")
    return failure(request, 405, f"{request.method} is not allowed here", api_route=api_route)
