"""`monitor validate --fetch`: fetch each watch twice a second apart and report what would make
it alert for nothing (text that differs between the two fetches), selectors that match nothing,
and pages that need a browser. Nothing is recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from monitor import extract
from monitor.config import Config, Watch
from monitor.diff import diff_texts
from monitor.errors import ExtractError
from monitor.models import FetchResult, ProblemKind


def _extract(watch: Watch, result: FetchResult) -> str:
    return extract.extract_text(
        result.body, charset=result.charset, base_url=result.final_url, **watch.extract_rules()
    )


def _noise_lines(first: str, second: str, limit: int = 5) -> list[str]:
    from monitor.classify.volatile import changed_shapes

    diff = diff_texts(first, second)
    volatile = set(changed_shapes(diff).values())
    lines = []
    for hunk in diff.hunks:
        for old, new in zip(hunk.removed, hunk.added, strict=False):
            learnt = (
                "\n      (only numbers, times or ids: `check` learns this line as volatile)"
                if new.strip() in volatile
                else ""
            )
            lines.append(f"    - {old[:100]}\n    + {new[:100]}{learnt}")
        for extra in hunk.removed[len(hunk.added) :] + hunk.added[len(hunk.removed) :]:
            lines.append(f"    ~ {extra[:100]}")
    return lines[:limit]


async def _one(fetcher: object, watch: Watch, pause: float) -> tuple[list[str], bool]:
    from monitor.fetch import Fetcher

    assert isinstance(fetcher, Fetcher)
    first = await fetcher.fetch(watch.url)
    if first.problem is not None:
        hint = ""
        if (
            first.problem.kind in (ProblemKind.BLOCKED, ProblemKind.EMPTY)
            and watch.fetcher == "http"
        ):
            hint = '; the page may need a browser: set fetcher = "auto" or "browser"'
        return [f"{watch.id}: FAIL fetch: {first.problem.message}{hint}"], False
    shell = extract.looks_like_js_shell(first.body, first.charset)
    needs = 'needs a browser (set fetcher = "browser" or "auto")' if shell else "HTTP suffices"
    try:
        text1 = _extract(watch, first)
    except ExtractError as exc:
        return [f"{watch.id}: FAIL extract: {exc}; {needs}"], False
    await asyncio.sleep(pause)
    second = await fetcher.fetch(watch.url)
    if second.problem is not None:
        return [f"{watch.id}: FAIL second fetch: {second.problem.message}"], False
    try:
        text2 = _extract(watch, second)
    except ExtractError as exc:
        return [f"{watch.id}: FAIL second extract: {exc}"], False
    size = len(text1.encode("utf-8"))
    if text1 == text2:
        return [f"{watch.id}: ok: {size} bytes of text, stable across two fetches; {needs}"], True
    lines = [
        f"{watch.id}: NOISE: the text differs between two fetches {pause:g}s apart; "
        "add 'ignore' selectors or 'ignore_text' patterns for:",
        *_noise_lines(text1, text2),
    ]
    return lines, False


async def fetch_twice(
    config: Config, watches: Sequence[Watch], *, pause: float = 1.0
) -> tuple[list[str], bool]:
    from monitor.fetch import Fetcher, FetchSettings

    async with Fetcher(FetchSettings.from_defaults(config.defaults)) as fetcher:
        results = await asyncio.gather(*(_one(fetcher, w, pause) for w in watches))
    lines = [line for found, _ok in results for line in found]
    return lines, all(ok for _lines, ok in results)
