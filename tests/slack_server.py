"""A local stand-in for Slack (and for a webhook receiver) on 127.0.0.1, for the alert tests.

It answers what the real slack-sdk clients send: an incoming-webhook URL, and the Web API methods
monitor calls (`chat.postMessage`, `conversations.history`, `conversations.replies`) under
`api_url`; and a webhook receiver at `hook_url` that checks the `X-Monitor-Signature`. Every
request is recorded; scripted replies (429, 500, a hang after the message was taken) are served
first, in turn, before the normal behaviour. The server can start on a port chosen in advance,
so a test can make the endpoint unreachable first and bring it up later.

Also here: helpers that write a watchlist and record changes through the real store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

WEBHOOK_PATH = "/services/T0000/B0000/incoming-secret-part"
HOOK_PATH = "/hook"
TOKEN = "xoxb-test-token-0000"
HOOK_SECRET = "hook-secret-0000"
CHANNEL_ID = "C0TEST"


@dataclass(frozen=True)
class Reply:
    """A scripted answer. `hang`: take the message as Slack would, then never answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    params: dict[str, str]  # query string and form fields
    verified: bool | None = None  # webhook signature checked against HOOK_SECRET

    def json(self) -> Any:
        return json.loads(self.body)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SlackServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.hits: list[Hit] = []
        self.messages: list[dict[str, Any]] = []  # what Slack would show, oldest first
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> SlackServer:
        handler = type("Handler", (_Handler,), {"stand_in": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._httpd.daemon_threads = True
        self._release.clear()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> SlackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses and scripts -------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def api_url(self) -> str:
        return self.url("/api/")

    @property
    def webhook_url(self) -> str:
        return self.url(WEBHOOK_PATH)

    @property
    def hook_url(self) -> str:
        return self.url(HOOK_PATH)

    def script(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._scripts.setdefault(path, []).extend(replies)

    def to(self, path: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.to(path)) >= count:
                return True
            time.sleep(0.01)
        return False

    # -- behaviour -------------------------------------------------------------------------
    def handle(self, hit: Hit) -> Reply | None:
        with self._lock:
            self.hits.append(hit)
            queue = self._scripts.get(hit.path)
            scripted = queue.pop(0) if queue else None
        if scripted is not None and not scripted.hang:
            return scripted
        normal = self._normal(hit)
        if scripted is not None:  # hang: the message is taken, the answer never comes
            self._release.wait(30)
            return None
        return normal

    def _normal(self, hit: Hit) -> Reply:
        if hit.path == WEBHOOK_PATH:
            self._post({"channel": "incoming-webhook", **hit.json()})
            return Reply(200, b"ok", {"Content-Type": "text/html"})
        if hit.path == HOOK_PATH:
            return _json({"id": f"evt-{len(self.to(HOOK_PATH))}"})
        if not hit.path.startswith("/api/"):
            return Reply(404, b"not found")
        if hit.headers.get("authorization") != f"Bearer {TOKEN}":
            return _json({"ok": False, "error": "invalid_auth"})
        method = hit.path.removeprefix("/api/")
        if method == "chat.postMessage":
            message = self._post(hit.json())
            return _json(
                {"ok": True, "channel": CHANNEL_ID, "ts": message["ts"], "message": message}
            )
        if method in ("conversations.history", "conversations.replies"):
            wanted = hit.params.get("channel") or ""
            if not wanted.startswith(("C", "G", "D")):  # like Slack: IDs only, names are not found
                return _json({"ok": False, "error": "channel_not_found"})
            with self._lock:
                found = [m for m in self.messages if wanted in (m["channel"], CHANNEL_ID)]
            if method == "conversations.history":
                found = [m for m in found if not m.get("thread_ts")]
            else:
                ts = hit.params.get("ts")
                found = [m for m in found if ts in (m["ts"], m.get("thread_ts"))]
            oldest = float(hit.params.get("oldest") or 0)
            found = [m for m in found if float(m["ts"]) >= oldest]
            return _json({"ok": True, "messages": list(reversed(found)), "has_more": False})
        return _json({"ok": False, "error": "unknown_method"})

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            ts = f"{time.time():.6f}"
            while any(m["ts"] == ts for m in self.messages):
                ts = f"{float(ts) + 0.000001:.6f}"
            message = {**body, "ts": ts}
            self.messages.append(message)
            return message

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        stamp = headers.get("x-monitor-timestamp", "")
        expected = hmac.new(HOOK_SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        given = headers.get("x-monitor-signature", "")
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 300
        return fresh and hmac.compare_digest(given, "sha256=" + expected.hexdigest())


def _json(data: dict[str, Any]) -> Reply:
    return Reply(200, json.dumps(data).encode(), {"Content-Type": "application/json"})


class _Handler(BaseHTTPRequestHandler):
    stand_in: SlackServer

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        params = dict(parse_qsl(parts.query))
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode()))
        verified = self.stand_in.verify(headers, body) if parts.path == HOOK_PATH else None
        hit = Hit(self.command, parts.path, headers, body, params, verified)
        reply = self.stand_in.handle(hit)
        if reply is None:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = _serve
    do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


@contextmanager
def slack_stand_in(port: int | None = None) -> Iterator[SlackServer]:
    with SlackServer(port) as server:
        yield server


# -- the store side: a watchlist and changes recorded through the real store ----------------

WATCH_ID = "openai-deprecations"
WATCH_URL = "https://platform.example.com/docs/deprecations"


def write_watchlist(tmp_path: Path, channels: str, defaults: str = "") -> Path:
    path = tmp_path / "watchlist.toml"
    path.write_text(
        f"{defaults}\n{channels}\n"
        f'[[watch]]\nid = "{WATCH_ID}"\nurl = "{WATCH_URL}"\nname = "OpenAI deprecations"\n'
        f'[[watch]]\nid = "anthropic-rsp"\nurl = "https://example.org/rsp"\n',
        encoding="utf-8",
    )
    return path


def add_change(
    engine: Any,
    channels: tuple[str, ...],
    *,
    watch_id: str = WATCH_ID,
    at: datetime | None = None,
    severity: str = "major",
    labels: tuple[str, ...] = ("model_retirement",),
    summary: str = "gpt-4o retires on 2026-06-30; use gpt-4.1",
    facts: tuple[dict[str, Any], ...] = (),
    diff_json: dict[str, Any] | None = None,
) -> int:
    """Record a change of `watch_id` through the store (a first version if need be), with
    deliveries to `channels` in the same transaction. Returns the change id."""
    from monitor.models import Classification, Finding
    from monitor.store.record import NewChange
    from monitor.store.state import load_state

    at = at or datetime.now(UTC)
    url = WATCH_URL if watch_id == WATCH_ID else "https://example.org/rsp"
    state = load_state(engine, watch_id)
    if state.latest is None:
        _version(engine, watch_id, url, at - timedelta(hours=1), b"first", None, None)
        state = load_state(engine, watch_id)
    assert state.latest is not None
    classification = Classification(
        labels=labels,
        severity=severity,  # type: ignore[arg-type]
        summary=summary,
        findings=(Finding(rule="test", label=labels[0], reason="test", facts=facts),),
    )
    change = NewChange(
        classification=classification,
        diff_json=diff_json or {},
        lines_added=2,
        lines_removed=1,
        sections=("## Upcoming retirements",),
        channels=channels,
    )
    body = f"version {state.latest.seq + 1} {time.time_ns()}".encode()
    change_id = _version(engine, watch_id, url, at, body, state.latest, change)
    assert change_id is not None
    return change_id


def _version(
    engine: Any, watch_id: str, url: str, at: datetime, body: bytes, latest: Any, change: Any
) -> int | None:
    from monitor.models import FetchResult
    from monitor.store.record import record_version

    sha = hashlib.sha256(body).hexdigest()
    result = FetchResult(url, url, at, 5, status=200, body=body)
    _, change_id = record_version(
        engine, watch_id, url, result,
        raw_sha256=sha, text_sha256=sha, text_size=len(body), rules_sha256="0" * 64,
        expected_latest=latest, change=change,
    )  # fmt: skip
    return change_id


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    """A local stand-in for Slack's incoming webhooks and Web API, for one test."""
    with SlackServer() as server:
        yield server
