"""`monitor validate --fetch`: fetch each watch twice a second apart and report what would make
it alert for nothing (text that differs between the two fetches), selectors that match nothing,
and pages that need a browser. Nothing is recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from monitor import extract
from monitor.config import Config, Watch
from monitor.diff import diff_texts
from monitor.errors import ExtractError
from monitor.models import FetchProblem, FetchResult, ProblemKind

if TYPE_CHECKING:
    from monitor.fetch import Fetcher


def _extract(watch: Watch, result: FetchResult) -> extract.Extracted:
    return extract.extract_document(
        result.body,
        charset=result.charset,
        base_url=result.final_url,
        content_type=result.content_type,
        **watch.extract_rules(),
    )


async def _fetch(fetcher: Fetcher, watch: Watch) -> FetchResult:
    """The watch's page, or with `follow` the document the page links to."""
    page = await fetcher.fetch(watch.url)
    if watch.follow is None or page.problem is not None:
        return page
    try:
        link = extract.follow_link(page.body, page.charset, page.final_url, watch.follow)
    except ExtractError as exc:
        return replace(page, problem=FetchProblem(ProblemKind.NO_LINK, str(exc)))
    return await fetcher.fetch(link)


def _noise_lines(first: str, second: str, limit: int = 5) -> list[str]:
    diff = diff_texts(first, second)
    lines = []
    for hunk in diff.hunks:
        for old, new in zip(hunk.removed, hunk.added, strict=False):
            lines.append(f"    - {old[:100]}\n    + {new[:100]}")
        for extra in hunk.removed[len(hunk.added) :] + hunk.added[len(hunk.removed) :]:
            lines.append(f"    ~ {extra[:100]}")
    return lines[:limit]


async def _one(fetcher: object, watch: Watch, pause: float) -> tuple[list[str], bool]:
    from monitor.fetch import Fetcher

    assert isinstance(fetcher, Fetcher)
    first = await _fetch(fetcher, watch)
    if first.problem is not None:
        hint = ""
        if (
            first.problem.kind in (ProblemKind.BLOCKED, ProblemKind.EMPTY)
            and watch.fetcher == "http"
        ):
            hint = '; the page may need a browser: set fetcher = "auto" or "browser"'
        return [f"{watch.id}: FAIL fetch: {first.problem.message}{hint}"], False
    try:
        extracted = _extract(watch, first)
    except ExtractError as exc:
        chosen, _how = extract.choose_format(first.body, first.content_type, watch.format)
        needs = _needs(watch, first) if chosen == "html" else f" (read as {chosen})"
        return [f"{watch.id}: FAIL extract: {exc}{needs}"], False
    text1 = extracted.text
    needs = _needs(watch, first) if extracted.format == "html" else ""
    seen = f"read as {extracted.format} ({extracted.seen})"
    if watch.follow is not None:
        seen = f"followed to {first.requested_url}, {seen}"
    await asyncio.sleep(pause)
    second = await _fetch(fetcher, watch)
    if second.problem is not None:
        return [f"{watch.id}: FAIL second fetch: {second.problem.message}"], False
    try:
        text2 = _extract(watch, second).text
    except ExtractError as exc:
        return [f"{watch.id}: FAIL second extract: {exc}"], False
    size = len(text1.encode("utf-8"))
    if text1 == text2:
        return [
            f"{watch.id}: ok: {size} bytes of text, stable across two fetches; {seen}{needs}"
        ], True
    lines = [
        f"{watch.id}: {seen}",
        f"{watch.id}: NOISE: the text differs between two fetches {pause:g}s apart; "
        "add 'ignore' selectors or 'ignore_text' patterns for:",
        *_noise_lines(text1, text2),
    ]
    return lines, False


def _needs(watch: Watch, result: FetchResult) -> str:
    if extract.looks_like_js_shell(result.body, result.charset):
        return '; needs a browser (set fetcher = "browser" or "auto")'
    return "; HTTP suffices"


async def fetch_twice(
    config: Config, watches: Sequence[Watch], *, pause: float = 1.0
) -> tuple[list[str], bool]:
    from monitor.fetch import Fetcher, FetchSettings

    async with Fetcher(FetchSettings.from_defaults(config.defaults)) as fetcher:
        results = await asyncio.gather(*(_one(fetcher, w, pause) for w in watches))
    lines = [line for found, _ok in results for line in found]
    return lines, all(ok for _lines, ok in results)
