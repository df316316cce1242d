"""Bombs and slow servers are bounded: a body is decoded in steps and stopped at max_body for
every Content-Encoding (peak memory measured in a child process), and the watch's timeout
bounds the whole attempt, headers included, in `check` and under the daemon."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import brotli
import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.daemon import Daemon, Options
from monitor.store import queries
from monitor.store.db import open_engine
from tests.pageserver import PageServer, Response

ROOT = Path(__file__).parent.parent
MB = 1 << 20

# Fetches one URL with the default max_body (10 MB) and prints the problem and peak RSS.
FETCH_AND_MEASURE = """
import asyncio, json, resource, sys
from monitor.fetch import Fetcher, FetchSettings
settings = FetchSettings(user_agent="t", timeout=60, max_body=10_000_000, max_redirects=2,
                         retries=0, concurrency=2, per_host=2)
async def go():
    async with Fetcher(settings) as fetcher:
        return await fetcher.fetch(sys.argv[1])
result = asyncio.run(go())
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"kind": result.problem and result.problem.kind.value,
                  "message": result.problem and result.problem.message,
                  "size": len(result.body), "peak_mb": peak_mb}))
"""


def _bomb(encoding: str, inflated: int) -> bytes:
    """`inflated` bytes of zeros, compressed."""
    chunk = b"\0" * MB
    if encoding == "br":
        squeeze = brotli.Compressor(quality=5)
        return b"".join(
            [*(squeeze.process(chunk) for _ in range(inflated // MB)), squeeze.finish()]
        )
    deflate = zlib.compressobj(6, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
    return b"".join([*(deflate.compress(chunk) for _ in range(inflated // MB)), deflate.flush()])


def _measure(url: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", FETCH_AND_MEASURE, url],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.mark.parametrize(
    ("encoding", "inflated"),
    [("br", 1024 * MB), ("gzip", 200 * MB), ("deflate", 200 * MB)],
)
def test_a_compression_bomb_stops_at_max_body_in_bounded_memory(
    page_server: PageServer, encoding: str, inflated: int
) -> None:
    bomb = _bomb(encoding, inflated)
    assert len(bomb) < inflated / 500
    page_server.route("/bomb", Response(body=bomb, headers={"Content-Encoding": encoding}))
    measured = _measure(page_server.url("/bomb"))
    assert measured["kind"] == "too_large", measured
    assert "max_body (10000000 bytes)" in str(measured["message"])
    assert float(measured["peak_mb"]) < 300, measured  # 1 GB of brotli took 2.1 GB before


def test_stacked_encodings_decode_and_a_small_page_reads_whole(page_server: PageServer) -> None:
    from monitor.fetch.decode import BoundedDecoder

    text = b"<main><p>" + b"gpt-4o retires on 2026-06-30. " * 20000 + b"</p></main>"
    stacked = brotli.compress(zlib.compress(text, wbits=31))  # "gzip, br": gzip applied first
    decoder = BoundedDecoder("gzip, br")
    pieces = [*decoder.feed(stacked[:100]), *decoder.feed(stacked[100:]), *decoder.end()]
    assert b"".join(pieces) == text and max(len(p) for p in pieces) <= 131_072
    page_server.route("/page", Response(body=text, encoding="br"))
    measured = _measure(page_server.url("/page"))
    assert measured["kind"] is None and measured["size"] == len(text)


class SlowHeaders:
    """Accepts connections and sends a status line and headers one byte a second, forever."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            worker = threading.Thread(target=self._drip, args=(conn,), daemon=True)
            worker.start()
            self._threads.append(worker)

    def _drip(self, conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Pad: " + b"a" * 10_000
        with conn:
            conn.recv(65536)
            for byte in head:
                if self._stop.wait(1.0):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def slow_headers() -> Iterator[SlowHeaders]:
    server = SlowHeaders()
    yield server
    server.close()


def _watchlist(tmp_path: Path, url: str, interval: str = "6h") -> Path:
    path = tmp_path / "watchlist.toml"
    path.write_text(
        '[defaults]\ntimeout = "2s"\nretries = 0\njitter = 0\nfailures_before_alert = 2\n\n'
        f'[[watch]]\nid = "slow"\nurl = "{url}"\ninterval = "{interval}"\n',
        encoding="utf-8",
    )
    return path


def test_headers_a_byte_a_second_end_at_the_timeout_and_count_toward_fetch_problem(
    tmp_path: Path, slow_headers: SlowHeaders, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _watchlist(tmp_path, slow_headers.url("/policy"))
    for _ in range(2):
        started = time.monotonic()
        assert main(["--watchlist", str(path), "check", "--no-progress", "--no-alerts"]) == 1
        assert time.monotonic() - started < 6  # timeout = "2s", not 10,000 s of headers
    engine = open_engine(load_config(path).database_url)
    checks = queries.checks(engine, "slow")
    assert [c.outcome for c in checks] == ["failed", "failed"]
    assert checks[0].error_kind == "timeout"
    assert "timed out after 2 s (timeout) waiting for headers" in (checks[0].error or "")
    assert [c.labels for c in queries.changes(engine, "slow")] == [["fetch_problem"]]
    capsys.readouterr()


def test_under_the_daemon_a_watch_with_slow_headers_keeps_being_checked(
    tmp_path: Path, slow_headers: SlowHeaders, page_server: PageServer
) -> None:
    page_server.route("/ok", Response(body=b"<main><h1>Usage policy</h1><p>Rules.</p></main>"))
    path = _watchlist(tmp_path, slow_headers.url("/policy"), interval="4s")
    path.write_text(
        path.read_text()
        + f'\n[[watch]]\nid = "ok"\nurl = "{page_server.url("/ok")}"\ninterval = "1s"\n'
    )
    path.write_text(path.read_text().replace('timeout = "2s"', 'timeout = "1s"'))
    config = load_config(path)

    async def serve_for(seconds: float) -> int:
        daemon = Daemon(config, Options(retry_floor=0.2, alerts_every=60, reload_every=60))
        loop = asyncio.get_running_loop()
        loop.call_later(seconds, daemon.stop)
        return await daemon.serve()

    assert asyncio.run(serve_for(5.5)) == 0
    engine = open_engine(config.database_url)
    slow = queries.checks(engine, "slow")
    assert len(slow) >= 3, [c.error for c in slow]  # each ends at 1 s, then backoff
    assert all(c.outcome == "failed" and c.error_kind == "timeout" for c in slow)
    assert len(queries.checks(engine, "ok")) >= 3
