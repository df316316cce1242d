"""PDF bytes → lines with their font size and height on the page. The only module that imports
pypdf; pdftext.py turns the lines into the version's text.

pypdf rather than pdfminer.six: on a generated 100-page policy it reads the text with font sizes
about five times faster (bench/pdf_bench.py), within the same memory, and both are permissively
licensed. Its reading order is the content stream's, which is the reading order of documents
written by word processors and typesetters.

Bad input ends in ExtractError, in bounded time and memory: a body cut short (no ``%%EOF`` near
its end), a damaged file, an encrypted file that needs a password, more pages than MAX_PAGES,
streams that inflate past pypdf's own limits, or a reading that outlasts MAX_SECONDS.
"""

from __future__ import annotations

import io
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from monitor.errors import ExtractError

MAX_PAGES = 2000
MAX_SECONDS = 20.0
MAX_CHARS = 5_000_000
_EOF_WINDOW = 1024  # readers accept %%EOF anywhere in the last kilobyte
logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged file is our one-line error


@dataclass(frozen=True)
class PdfLine:
    """One line of text as pypdf reads it, with the largest font size on it and its height."""

    text: str
    size: float
    y: float


@dataclass(frozen=True)
class PdfPages:
    pages: tuple[tuple[PdfLine, ...], ...]
    outline: tuple[tuple[int, str], ...]  # (depth, title) of the document's bookmarks
    encrypted: bool


class _TooSlow(Exception):
    pass


class _LineCollector:
    """Gathers pypdf's text fragments into lines; stops the reading past the deadline."""

    def __init__(self, deadline: float) -> None:
        self.lines: list[PdfLine] = []
        self.chars = 0
        self._parts: list[str] = []
        self._size = 0.0
        self._y: float | None = None
        self._deadline = deadline

    def visit(
        self, text: str, cm: list[float], tm: list[float], font: Any, font_size: float
    ) -> None:
        if not text:
            return
        if time.monotonic() > self._deadline or self.chars > MAX_CHARS:
            raise _TooSlow
        pieces = text.split("\n")
        for index, piece in enumerate(pieces):
            if index:
                self.end_line()
            if piece.strip():
                scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
                self._size = max(self._size, round(font_size * scale, 1))
                if self._y is None:
                    self._y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            self._parts.append(piece)
            self.chars += len(piece)

    def end_line(self) -> None:
        text = " ".join("".join(self._parts).split())
        if text:
            self.lines.append(PdfLine(text, self._size, round(self._y or 0.0, 1)))
        self._parts, self._size, self._y = [], 0.0, None


def read_pdf(body: bytes, url: str) -> PdfPages:
    """Every page's lines, top to bottom in reading order. Raises ExtractError naming the
    problem for truncated, damaged, encrypted or oversized documents."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, LimitReachedError, PyPdfError

    if b"%%EOF" not in body[-_EOF_WINDOW:]:
        raise ExtractError(
            f"truncated PDF at {url}: {len(body)} bytes and no %%EOF at the end "
            "(the download was cut short, or max_body is too small)"
        )
    deadline = time.monotonic() + MAX_SECONDS
    try:
        reader = PdfReader(io.BytesIO(body), strict=False)
        encrypted = reader.is_encrypted
        if encrypted and not reader.decrypt(""):
            raise ExtractError(
                f"encrypted PDF at {url}: it needs a password to open; "
                "monitor reads only documents anyone can open"
            )
        count = len(reader.pages)
        if count > MAX_PAGES:
            raise ExtractError(
                f"PDF at {url} has {count} pages, more than {MAX_PAGES}; "
                "not read (a damaged or hostile file?)"
            )
        collector = _LineCollector(deadline)
        pages = []
        for page in reader.pages:
            page.extract_text(visitor_text=collector.visit)
            collector.end_line()
            pages.append(tuple(collector.lines))
            collector.lines = []
        outline = tuple(_outline(reader.outline, 0, reader, deadline))
    except _TooSlow:
        raise ExtractError(
            f"PDF at {url} is too large to read: more than {MAX_SECONDS:g} s "
            f"or {MAX_CHARS} characters of text"
        ) from None
    except LimitReachedError as exc:
        raise ExtractError(
            f"PDF at {url} is too large to read safely: {str(exc).split(chr(10))[0][:200]}"
        ) from None
    except DependencyError as exc:
        raise ExtractError(f"encrypted PDF at {url} cannot be opened: {exc}") from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        # pypdf signals a damaged file with many exception types
        problem = str(exc).split("\n")[0][:200] or type(exc).__name__
        raise ExtractError(f"damaged PDF at {url}: {problem}") from None
    return PdfPages(tuple(pages), outline, encrypted)


def _outline(items: Any, depth: int, reader: Any, deadline: float) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for item in items:
        if time.monotonic() > deadline or len(found) > MAX_PAGES * 10:
            raise _TooSlow
        if isinstance(item, list):
            found += _outline(item, depth + 1, reader, deadline)
        else:
            title = " ".join(str(getattr(item, "title", "") or "").split())
            if title:
                found.append((depth, title))
    return found
