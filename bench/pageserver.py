"""A fast local HTTP/1.1 server for benchmarks: N generated pages of realistic HTML (60–150 KB),
with per-request noise (script nonce, CSRF meta) and a stable ETag per content version.

    python -m bench.pageserver --pages 1000 --port 0   # prints "READY <port>" then serves

POST /_change?percent=10 changes that share of the pages (deterministically) and answers with
their paths, one per line. GET /big/KB answers a page of about KB kilobytes that changes all
through (every tenth heading, a table cell in every section) at each request: the page that is
slow to classify. GET /_stats answers the number of page requests served so far."""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import random
import re
import uuid

WORDS = (
    "model safety policy deployment capability threshold evaluation retirement shutdown "
    "replacement version effective governance commitment risk mitigation security access "
    "research frontier responsible scaling usage prohibited review incident report api"
).split()


def paragraph(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def content(index: int, version: int) -> str:
    rng = random.Random(index * 7919)
    parts = [
        f"<h1>Policy document {index}</h1>",
        f"<p>Version {version}.0, effective 2026-0{1 + version % 9}-01.</p>",
    ]
    target = rng.randint(60_000, 150_000)
    size, section = 0, 0
    while size < target:
        section += 1
        parts.append(f"<h2>Section {section}</h2>")
        for _ in range(rng.randint(2, 5)):
            text = paragraph(rng, rng.randint(40, 90))
            parts.append(
                f'<p class="body-text prose">{text} <a href="/doc/{section}?utm_source=x">more</a></p>'
            )
        rows = "".join(
            f"<tr><td>model-{section}-{r}</td><td>2026-0{1 + r % 9}-1{r % 10}</td><td>active</td></tr>"
            for r in range(rng.randint(2, 6))
        )
        parts.append(
            f"<table><thead><tr><th>Model</th><th>Date</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        size = sum(len(p) for p in parts)
    if version > 1:
        parts.insert(3, f"<p>Changed in version {version}: {paragraph(rng, 30)}</p>")
    return "\n".join(parts)


@functools.cache
def _big_base(kb: int) -> str:
    parts, size, index = [], 0, 0
    while size < kb * 1024:
        parts.append(content(10_000 + index, 1))
        size += len(parts[-1])
        index += 1
    return "\n".join(parts)


def big_page(kb: int, version: int) -> bytes:
    """A page of about `kb` KB whose version `version` differs from the others all through."""
    body = re.sub(r"Section (\d+)0<", rf"Section \g<1>0 (revision {version})<", _big_base(kb))
    body = re.sub(r"model-(\d+)-1<", rf"model-\g<1>-1 v{version}<", body)
    return SHELL.format(index=kb, nonce=uuid.uuid4().hex, content=body).encode()


SHELL = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Doc {index}</title>
<meta name="csrf-token" content="{nonce}"><meta name="request-id" content="{nonce}">
<link rel="stylesheet" href="/static/site.css"><script nonce="{nonce}">window.__STATE__={{"id":"{nonce}"}}</script>
<script src="/static/app.js" defer></script></head><body>
<header><nav><a href="/">Home</a> <a href="/research">Research</a> <a href="/policies">Policies</a></nav></header>
<main><article>{content}</article></main>
<footer><p>Copyright 2026</p><script>track("{nonce}")</script></footer></body></html>"""


class Pages:
    def __init__(self, count: int) -> None:
        self.count = count
        self.versions = [1] * count
        self.cache: dict[int, tuple[str, str]] = {}
        self.changes = 0
        self.served = 0
        self.big_versions = 0

    def page(self, index: int) -> tuple[str, str]:
        """(content HTML, etag) for the page's current version."""
        if index not in self.cache:
            body = content(index, self.versions[index])
            etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
            self.cache[index] = (body, etag)
        return self.cache[index]

    def change(self, percent: float) -> list[int]:
        self.changes += 1
        rng = random.Random(self.changes)
        chosen = sorted(rng.sample(range(self.count), int(self.count * percent / 100)))
        for index in chosen:
            self.versions[index] += 1
            self.cache.pop(index, None)
        return chosen


async def handle(pages: Pages, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {
                k.lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            if int(headers.get("content-length", "0")):
                await reader.readexactly(int(headers["content-length"]))
            status, extra, body = route(pages, method, target, headers)
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def route(
    pages: Pages, method: str, target: str, headers: dict[str, str]
) -> tuple[str, str, bytes]:
    path, _, query = target.partition("?")
    if method == "POST" and path == "/_change":
        percent = float(query.partition("=")[2] or 10)
        chosen = pages.change(percent)
        return (
            "200 OK",
            "Content-Type: text/plain\r\n",
            "".join(f"/p/{i}\n" for i in chosen).encode(),
        )
    if path == "/_stats":
        return "200 OK", "Content-Type: text/plain\r\n", str(pages.served).encode()
    pages.served += 1
    if path.startswith("/big/"):
        pages.big_versions += 1
        html = big_page(int(path[5:]), pages.big_versions)
        return "200 OK", "Content-Type: text/html; charset=utf-8\r\n", html
    if not path.startswith("/p/"):
        return "404 Not Found", "", b"not found"
    index = int(path[3:])
    body, etag = pages.page(index)
    if headers.get("if-none-match") == etag:
        return "304 Not Modified", f"ETag: {etag}\r\n", b""
    html = SHELL.format(index=index, nonce=uuid.uuid4().hex, content=body).encode()
    return "200 OK", f"Content-Type: text/html; charset=utf-8\r\nETag: {etag}\r\n", html


async def serve(count: int, port: int) -> None:
    pages = Pages(count)
    server = await asyncio.start_server(lambda r, w: handle(pages, r, w), "127.0.0.1", port)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.pages, args.port))


if __name__ == "__main__":
    main()
