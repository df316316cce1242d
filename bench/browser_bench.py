"""How fast the browser fetcher renders client-side pages, and how much memory it takes.

    python -m bench.browser_bench [--count 100] [--pages 2] [--wait-for "table.rendered"]

Serves COUNT pages on 127.0.0.1, each an empty shell whose script fetches its rows as JSON and
builds a table (as single-page apps do), and fetches them all through one BrowserFetcher. Prints
pages per second, wall seconds (Chromium's start-up included), the CPU seconds of the whole run
(local server included, memory sampling left out) and the peak memory of the process tree (this
Python process, the Playwright driver and every Chromium process), sampled from /proc every
250 ms. Without --wait-for each check waits for the network to go quiet (500 ms without
requests) after `load`; with it, only until the selector is present.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from monitor.browser import BrowserFetcher, chromium_path

SHELL = """<!doctype html>
<html><head><meta charset="utf-8"><title>Page {n}</title></head>
<body><noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div>
<script>
fetch("/api/{n}.json").then((r) => r.json()).then((rows) => {{
  const table = document.createElement("table");
  table.className = "rendered";
  for (const [model, date] of rows) {{
    const row = table.insertRow();
    row.insertCell().textContent = model;
    row.insertCell().textContent = date;
  }}
  document.getElementById("root").append(table);
}});
</script></body></html>
"""
PAGE = re.compile(r"^/page/(\d+)$")
DATA = re.compile(r"^/api/(\d+)\.json$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if match := PAGE.match(self.path):
            self._send(SHELL.format(n=match.group(1)).encode(), "text/html; charset=utf-8")
        elif match := DATA.match(self.path):
            rows = [[f"model-{match.group(1)}-{i}", f"2026-{i % 12 + 1:02d}-01"] for i in range(40)]
            self._send(json.dumps(rows).encode(), "application/json")
        else:
            self.send_error(404)

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def descendants(root: int) -> list[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def memory_kib(pid: int, file: str, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/{file}").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


class PeakSampler(threading.Thread):
    """Peak sums over the process tree: RSS (counts memory Chromium's processes share once per
    process) and PSS (shares it out, so it adds up to what the tree really holds)."""

    def __init__(self, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss = 0
        self.cpu = 0.0  # this thread's own CPU seconds, not the fetcher's
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            pids = descendants(os.getpid())
            rss = sum(memory_kib(pid, "status", "VmRSS") for pid in pids)
            pss = sum(memory_kib(pid, "smaps_rollup", "Pss") for pid in pids)
            self.peak_rss = max(self.peak_rss, rss * 1024)
            self.peak_pss = max(self.peak_pss, pss * 1024)
            self.cpu = time.thread_time()

    def stop(self) -> tuple[int, int]:
        self._stop_event.set()
        self.join()
        return self.peak_rss, self.peak_pss


async def fetch_all(
    base_url: str, count: int, pages: int, wait_for: str | None
) -> tuple[int, float]:
    """Fetch every page; returns how many came back rendered, and the wall seconds."""
    started = time.monotonic()
    async with BrowserFetcher(pages=pages) as browser:
        results = await asyncio.gather(
            *(browser.fetch(f"{base_url}/page/{n}", wait_for=wait_for) for n in range(count))
        )
    wall = time.monotonic() - started
    rendered = sum(1 for r in results if r.ok and b'<table class="rendered">' in r.body)
    return rendered, wall


def cpu_seconds() -> float:
    """User and system time of this process and every child it (transitively) waited for: once
    the fetcher is closed, that is the Playwright driver and all of Chromium."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="pages to fetch (default 100)")
    parser.add_argument("--pages", type=int, default=2, help="pages rendered at once (default 2)")
    parser.add_argument("--wait-for", help="CSS selector to wait for instead of a quiet network")
    args = parser.parse_args()
    if chromium_path() is None:
        raise SystemExit("no Chromium found: install the Debian package chromium")

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    serving.start()
    sampler = PeakSampler()
    sampler.start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}"
        rendered, wall = asyncio.run(fetch_all(base_url, args.count, args.pages, args.wait_for))
    finally:
        peak_rss, peak_pss = sampler.stop()
        cpu = cpu_seconds() - sampler.cpu
        server.shutdown()
        server.server_close()
        serving.join()

    print(f"chromium        {chromium_path()}")
    print(f"cpus            {os.cpu_count()}")
    print(f"pages           {args.count} fetched, {rendered} rendered, {args.pages} at once")
    print(f"wait            {args.wait_for or 'network quiet'}")
    print(f"wall seconds    {wall:.2f}")
    print(f"pages/second    {args.count / wall:.2f}")
    print(f"CPU seconds     {cpu:.1f} (tree), {cpu / args.count:.2f} per page")
    print(f"load average    {os.getloadavg()[0]:.1f} (other work on the machine slows the run)")
    print(f"peak RSS (tree) {peak_rss / 2**20:.0f} MiB (sum over processes)")
    print(f"peak PSS (tree) {peak_pss / 2**20:.0f} MiB (shared pages counted once)")
    if rendered != args.count:
        raise SystemExit(f"{args.count - rendered} pages did not render")


if __name__ == "__main__":
    main()
