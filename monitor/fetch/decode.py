"""Content-Encoding decoded in bounded steps, so a tiny compressed body that inflates to a
gigabyte is stopped at `max_body` without ever holding more than one step of output.

httpx decodes each network chunk in one call, whatever it inflates to; here every decoder gives
at most STEP bytes at a time and the caller counts them. Encodings: identity, gzip, deflate
(zlib-wrapped or raw), br, and stacks of them ("gzip, br")."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol

import brotli
import httpx

STEP = 65_536  # decoded output produced at a time (brotli may give one window, up to ~96 KB)
ACCEPT_ENCODING = "gzip, deflate, br"


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...
    def end(self) -> Iterator[bytes]: ...


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), STEP):
            yield data[start : start + STEP]

    def end(self) -> Iterator[bytes]:
        return iter(())


class _Zlib:
    """gzip (wbits 31) or deflate (wbits None), which servers send zlib-wrapped or raw: the
    first two bytes tell which."""

    def __init__(self, wbits: int | None) -> None:
        self._inflate = zlib.decompressobj(wbits) if wbits is not None else None
        self._head = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._inflate is None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        try:
            while data and not self._inflate.eof:
                out = self._inflate.decompress(data, STEP)
                data = self._inflate.unconsumed_tail
                if out:
                    yield out
        except zlib.error as exc:
            raise httpx.DecodingError(f"bad compressed body: {exc}") from None

    def end(self) -> Iterator[bytes]:
        if self._inflate is None:
            if self._head:
                raise httpx.DecodingError("bad compressed body: truncated")
            return
        try:
            out = self._inflate.flush()
        except zlib.error as exc:
            raise httpx.DecodingError(f"bad compressed body: {exc}") from None
        for start in range(0, len(out), STEP):
            yield out[start : start + STEP]


class _Brotli:
    def __init__(self) -> None:
        self._inflate = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._inflate.process(data, output_buffer_limit=STEP)
            # a full step may leave more output behind: take it, with empty input, before more
            while out:
                yield out
                if len(out) < STEP and self._inflate.can_accept_more_data():
                    return
                out = self._inflate.process(b"", output_buffer_limit=STEP)
        except brotli.error as exc:
            raise httpx.DecodingError(f"bad brotli body: {exc}") from None

    def end(self) -> Iterator[bytes]:
        return self.feed(b"")


def _one(name: str) -> _Decoder:
    if name in ("", "identity"):
        return _Identity()
    if name in ("gzip", "x-gzip"):
        return _Zlib(zlib.MAX_WBITS | 16)
    if name == "deflate":
        return _Zlib(None)
    if name == "br":
        return _Brotli()
    raise httpx.DecodingError(f"unsupported Content-Encoding {name!r}")


class BoundedDecoder:
    """Decodes a Content-Encoding header's stack of encodings (applied in order, so undone in
    reverse), giving at most STEP bytes at a time. Raises httpx.DecodingError on a bad body."""

    def __init__(self, content_encoding: str | None) -> None:
        names = [n.strip().lower() for n in (content_encoding or "").split(",") if n.strip()]
        self._stack = [_one(name) for name in reversed(names)] or [_Identity()]

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, self._stack[0].feed(data))

    def end(self) -> Iterator[bytes]:
        """What is left once the last raw chunk was fed."""
        for level, decoder in enumerate(self._stack):
            yield from self._through(level, decoder.end())

    def _through(self, level: int, pieces: Iterator[bytes]) -> Iterator[bytes]:
        if level + 1 == len(self._stack):
            yield from pieces
            return
        for piece in pieces:
            yield from self._through(level + 1, self._stack[level + 1].feed(piece))
