"""A real HTTP server on 127.0.0.1 for tests, with a route table that can change between requests.

    def test_page(page_server: PageServer) -> None:
        page_server.route("/policy", Response(body=b"<h1>Policy</h1>", etag='"v1"'))
        page_server.route("/flaky", [Response(status=500), Response(body=b"ok")])
        page_server.route("/cond", conditional(b"<p>same</p>", etag='"v1"'))
        url = page_server.url("/policy")
        ...
        assert page_server.requests_to("/cond")[-1].header("if-none-match") == '"v1"'

A route is a `Response`, a list of them (served in turn, the last one repeats), or a callable
`(Request) -> Response`. Every request is logged with its headers and arrival time, and the server
counts requests in flight so tests can check concurrency limits. Bodies can be gzip- or
brotli-encoded, delayed, or streamed (chunked, even without end) to test size caps.
"""

from __future__ import annotations

import gzip
import itertools
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import brotli
import pytest

__all__ = [
    "PageServer",
    "Request",
    "Response",
    "conditional",
    "endless",
    "page_server",
]

Encoding = Literal["gzip", "br"]


@dataclass(frozen=True)
class Request:
    """One request the server received."""

    method: str
    path: str  # with the query string, as sent
    headers: dict[str, str]  # names lower-cased
    at: float  # time.monotonic() on arrival
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Response:
    """What to answer. `stream` (an iterable of chunks) replaces `body` and is sent chunked,
    unless `content_length` is given; `delay` seconds pass before the status line is sent."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "text/html; charset=utf-8"
    encoding: Encoding | None = None
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    stream: Iterable[bytes] | None = None  # an iterator is used up by one request
    content_length: int | None = None  # override, e.g. to announce a huge streamed body


Handler = Callable[[Request], Response]
Route = Response | list[Response] | Handler


def conditional(
    body: bytes,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    content_type: str = "text/html; charset=utf-8",
) -> Handler:
    """A page that answers 304 when the request's validators match, else 200 with the body."""

    def handle(request: Request) -> Response:
        if_none_match = request.header("if-none-match")
        if_modified_since = request.header("if-modified-since")
        if etag is not None and if_none_match is not None:
            fresh = etag in [tag.strip() for tag in if_none_match.split(",")]
        elif last_modified is not None and if_modified_since is not None:
            fresh = if_modified_since == last_modified
        else:
            fresh = False
        if fresh:
            return Response(status=304, etag=etag, last_modified=last_modified, content_type=None)
        return Response(
            body=body, etag=etag, last_modified=last_modified, content_type=content_type
        )

    return handle


def endless(chunk: bytes = b"x" * 65536) -> Iterator[bytes]:
    """A body that never ends."""
    return itertools.repeat(chunk)


def _encode(body: bytes, encoding: Encoding | None) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "br":
        return bytes(brotli.compress(body))
    return body


class _StreamEncoder:
    """Encode a stream chunk by chunk, each chunk flushed so the client can decode it at once."""

    def __init__(self, encoding: Encoding | None) -> None:
        self.encoding = encoding
        self._gzip = zlib.compressobj(wbits=31)
        self._brotli = brotli.Compressor()

    def chunk(self, data: bytes) -> bytes:
        if self.encoding == "gzip":
            return self._gzip.compress(data) + self._gzip.flush(zlib.Z_SYNC_FLUSH)
        if self.encoding == "br":
            return bytes(self._brotli.process(data)) + bytes(self._brotli.flush())
        return data

    def end(self) -> bytes:
        if self.encoding == "gzip":
            return self._gzip.flush()
        if self.encoding == "br":
            return bytes(self._brotli.finish())
        return b""


class PageServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 with a free port. Use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.bytes_sent: dict[str, int] = {}  # path → body bytes written (streams included)
        self.max_active = 0
        self._routes: dict[str, Route] = {}
        self._served: dict[str, int] = {}
        self._active = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self.connections_opened = 0
        self._httpd = _Server(("127.0.0.1", 0), _make_handler(self))
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def route(self, path: str, route: Route) -> None:
        """Set (or replace) what `path` answers. Unknown paths answer 404."""
        with self._lock:
            self._routes[path] = route
            self._served[path] = 0

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def reset_counters(self) -> None:
        with self._lock:
            self.requests.clear()
            self.bytes_sent.clear()
            self.max_active = 0

    def start(self) -> PageServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake delayed and streaming handlers, close every socket, join threads."""
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> PageServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _respond(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            key = request.path
            if key not in self._routes:
                key = request.path.split("?", 1)[0]
            route = self._routes.get(key)
            served = self._served.get(key, 0)
            self._served[key] = served + 1
        if route is None:
            return Response(status=404, body=b"<h1>not found</h1>")
        if isinstance(route, Response):
            return route
        if isinstance(route, list):
            return route[min(served, len(route) - 1)]
        return route(request)

    def _enter(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)
            self.connections_opened += 1

    def _leave(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    def _begin(self) -> None:
        with self._lock:
            self._active += 1
            self.max_active = max(self.max_active, self._active)

    def _end(self) -> None:
        with self._lock:
            self._active -= 1

    def _count(self, path: str, size: int) -> None:
        with self._lock:
            self.bytes_sent[path] = self.bytes_sent.get(path, 0) + size


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads
    block_on_close = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up mid-response is expected (timeouts, size caps)


def _make_handler(server: PageServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            server._enter(self.connection)

        def finish(self) -> None:
            server._leave(self.connection)
            try:
                super().finish()
            except OSError:
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_HEAD(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                at=time.monotonic(),
                body=body,
            )
            server._begin()
            try:
                response = server._respond(request)
                if response.delay and server._stopping.wait(response.delay):
                    self.close_connection = True
                    return
                self._send(request, response)
            except (ConnectionError, TimeoutError):
                self.close_connection = True
            finally:
                server._end()

        def _send(self, request: Request, response: Response) -> None:
            path = request.path
            self.send_response_only(response.status, _reason(response.status))
            self.send_header("Date", self.date_time_string())
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            if response.etag:
                self.send_header("ETag", response.etag)
            if response.last_modified:
                self.send_header("Last-Modified", response.last_modified)
            if response.encoding:
                self.send_header("Content-Encoding", response.encoding)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.stream is not None:
                self._send_stream(path, response)
                return
            payload = _encode(response.body, response.encoding)
            no_body = response.status in (204, 304) or request.method == "HEAD"
            if response.status not in (204, 304):
                length = response.content_length
                self.send_header("Content-Length", str(len(payload) if length is None else length))
            self.end_headers()
            if not no_body:
                server._count(path, len(payload))  # before the write: the client may finish first
                self.wfile.write(payload)

        def _send_stream(self, path: str, response: Response) -> None:
            chunked = response.content_length is None
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(response.content_length))
            self.end_headers()
            assert response.stream is not None
            encoder = _StreamEncoder(response.encoding)
            for chunk in response.stream:
                if server._stopping.is_set():
                    self.close_connection = True
                    return
                self._write(path, encoder.chunk(chunk), chunked)
            self._write(path, encoder.end(), chunked)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")

        def _write(self, path: str, data: bytes, chunked: bool) -> None:
            if not data:
                return
            server._count(path, len(data))
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)

    return _Handler


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


@pytest.fixture
def page_server() -> Iterator[PageServer]:
    """A started PageServer, stopped (and every socket closed) after the test."""
    with PageServer() as server:
        yield server
