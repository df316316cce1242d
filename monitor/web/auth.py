"""Who is asking. A reviewer proves who they are with their token: sent as
`Authorization: Bearer TOKEN`, or exchanged once on the sign-in page for a signed session cookie
(HttpOnly, SameSite=Strict) that holds the token's SHA-256, so removing the reviewer ends it.
Forms carry a CSRF token kept in the session."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from typing import Any

from starlette.requests import Request

from monitor.store.reviewers import reviewer_for_hash, reviewer_for_token, token_sha256

SESSION_KEY = "reviewer_sha256"
CSRF_KEY = "csrf"


class BadToken(Exception):
    """A Bearer token that names no active reviewer."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def reviewer_of(request: Request) -> str | None:
    """The signed-in reviewer, or None. Raises BadToken for a Bearer token that is not valid."""
    engine = request.app.state.engine
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise BadToken("use 'Authorization: Bearer TOKEN'")
        name = reviewer_for_token(engine, token)
        if name is None:
            raise BadToken("unknown or removed reviewer token")
        return name
    digest = request.session.get(SESSION_KEY)
    if isinstance(digest, str):
        name = reviewer_for_hash(engine, digest)
        if name is None:
            request.session.pop(SESSION_KEY, None)
        return name
    return None


def sign_in(request: Request, token: str) -> str | None:
    """Check the token; on success the session holds its hash and a fresh CSRF token."""
    name = reviewer_for_token(request.app.state.engine, token)
    if name is not None:
        request.session[SESSION_KEY] = token_sha256(token.strip())
        request.session[CSRF_KEY] = secrets.token_urlsafe(32)
    return name


def sign_out(request: Request) -> None:
    request.session.clear()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use; forms send it back as `csrf`."""
    token = request.session.get(CSRF_KEY)
    if not isinstance(token, str):
        token = request.session[CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, sent: Any) -> bool:
    expected = request.session.get(CSRF_KEY)
    return (
        isinstance(expected, str)
        and isinstance(sent, str)
        and hmac.compare_digest(expected.encode(), sent.encode())
    )


def bearer_used(request: Request) -> bool:
    return bool(request.headers.get("authorization"))
