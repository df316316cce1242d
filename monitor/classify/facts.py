"""Building facts: lifecycle states, surfaces, replacements, and the fact dicts themselves, with
dates as ISO strings and empty fields left out. Shared by the lifecycle rules."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from monitor import patterns as p
from monitor.classify.context import Context
from monitor.classify.dates import (
    AMBIGUOUS,
    DateHit,
    find_dates,
    month_year_date,
    numeric_order,
    short_year_date,
)
from monitor.classify.names import (
    ModelHit,
    find_models,
    linked_text,
    name_as_id,
    provider_of,
    unknown_ids,
)
from monitor.classify.text import core

# a conjunction a scraper glued to the id before it ("veo-3.1-generate-previewor the GA models"):
# an id's last segment (a number, preview, latest, exp) then "or"/"and" before a space
_GLUED_JOIN = re.compile(r"(\w-(?:[\w.]+-)*?(?:\d[\w.]*|preview|latest|exp))(or|and)(?=\s|$)", re.I)
_EMPTY = re.compile(r"^\W*(?:tbd|tba|n/?a|none|unknown|-+|—|–)?\W*$", re.I)
_PLATFORMS = {
    "openai": ("openai", "api"),
    "anthropic": ("anthropic", "api"),
    "gemini": ("google", "api"),
    "google": ("google", "api"),
    "vertex ai": (None, "vertex"),
    "vertex": (None, "vertex"),
    "bedrock": (None, "bedrock"),
    "aws bedrock": (None, "bedrock"),
    "azure": (None, "azure"),
    "azure openai": ("openai", "azure"),
}
_HOST_SURFACES = {
    "aws.amazon.com": "bedrock",
    "cloud.google.com": "vertex",
    "azure.com": "azure",
    "microsoft.com": "azure",
    "chatgpt.com": "chatgpt",
}


@lru_cache(maxsize=4096)  # a table's status cells repeat a few values
def state(value: str | None) -> str | None:
    """ "Deprecated", "🟡 legacy", "Retired (all regions)" → deprecated, legacy, retired."""
    if not value:
        return None
    text = core(value).lower().strip(" .*")
    if text in p.LIFECYCLE_STATES:
        return p.LIFECYCLE_STATES[text]
    for word, name in sorted(p.LIFECYCLE_STATES.items(), key=lambda item: -len(item[0])):
        if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text):
            return name
    return None


def blank(value: str | None) -> bool:
    return value is None or bool(_EMPTY.match(core(value)))


def date_of(value: str | None) -> DateHit | None:
    if blank(value):
        return None
    found = find_dates(value or "")
    if found:
        return found[0]
    return (
        short_year_date(core(value or "")) or month_year_date(value or "")
        if len((value or "").split()) <= 4
        else None
    )


@lru_cache(maxsize=4096)  # a table's replacement cells repeat a few models
def replacement(value: str | None) -> str | None:
    """The replacement a cell or phrase names: model ids joined with " or ", else its text."""
    if blank(value):
        return None
    text = _GLUED_JOIN.sub(r"\1 \2", value or "")
    ids = list(dict.fromkeys(_whole_name(hit, text) for hit in find_models(text)))
    if ids:
        return " or ".join(ids)
    # no family known: the ids the cell writes ("[Mistral-large-2411](…)"), else its one name
    plain = linked_text(text)
    ids = unknown_ids(plain.lower()) or [name for name in [name_as_id(plain)] if name]
    if ids:
        return " or ".join(dict.fromkeys(ids))
    text = core(value or "")
    return text[:80] or None


_NAME_GOES_ON = re.compile(r"(?:(?:[ \t]+|-)[A-Z0-9][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)*)+")
_NAME_PARTS = re.compile(r"[\s-]+")


def _whole_name(hit: ModelHit, text: str) -> str:
    """A display name read up to where it ends, not only as far as its family is known:
    "Llama 4 Maverick 17B Instruct" is llama-4-maverick-17b-instruct, not llama-4, and a word
    joined by a hyphen is the name's too ("GPT-5.1-Codex" is gpt-5.1-codex, not gpt-5.1)."""
    more = _NAME_GOES_ON.match(text, hit.end) if hit.prose else None
    if more is None:
        return hit.id
    return "-".join([hit.id, *(part.lower() for part in _NAME_PARTS.split(more.group(0)) if part)])


def surface_in(text: str) -> str | None:
    """The surface a sentence names, the consumer app first (a ChatGPT notice also says API)."""
    for name, pattern in p.SURFACES.items():
        if pattern.search(text):
            return name
    return None


def platform(value: str | None) -> tuple[str | None, str | None]:
    """A feed's provider field → (maker, surface): "Bedrock" → (None, bedrock)."""
    if not value:
        return None, None
    return _PLATFORMS.get(core(value).lower(), (core(value).lower() or None, "api"))


def default_surface(ctx: Context) -> str:
    if "default_surface" not in ctx.memo:  # every fact asks
        host = (urlsplit(ctx.watch.url).hostname or "").lower()
        ctx.memo["default_surface"] = next(
            (
                name
                for suffix, name in _HOST_SURFACES.items()
                if host == suffix or host.endswith("." + suffix)
            ),
            "api",
        )
    return ctx.memo["default_surface"]  # type: ignore[no-any-return]


def fact(kind: str, **fields: Any) -> dict[str, Any]:
    """A fact dict with empty fields dropped and keys in a stable order."""
    out: dict[str, Any] = {"kind": kind}
    for key, value in fields.items():
        if value not in (None, "", (), []):
            out[key] = value
    return out


def resolve(ctx: Context, hit: DateHit) -> DateHit:
    """An ambiguous numeric date read the way the page's other numeric dates are written."""
    if hit.flag != AMBIGUOUS:
        return hit
    if "date_order" not in ctx.memo:
        ctx.memo["date_order"] = numeric_order(ctx.new_text) or numeric_order(ctx.old_text)
    order = ctx.memo["date_order"]
    if order == "month first":
        return replace(hit, flag=None, day_first=None)
    if order == "day first" and hit.day_first:
        return replace(hit, iso=hit.day_first, flag=None, day_first=None)
    return hit


def retirement(
    ctx: Context,
    model: str,
    event: str,
    *,
    shutdown: DateHit | None = None,
    announced: str | None = None,
    replacement_of: str | None = None,
    surface: str | None = None,
    provider: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    shutdown = resolve(ctx, shutdown) if shutdown else None
    return fact(
        "retirement",
        model=model,
        event=event,
        provider=provider or provider_of(model) or ctx.watch.provider,
        surface=surface or default_surface(ctx),
        announced=announced,
        shutdown_date=shutdown.iso if shutdown else None,
        qualifier=shutdown.qualifier if shutdown else None,
        region=shutdown.region if shutdown else None,
        date_flag=shutdown.flag if shutdown else None,
        date_as_written=shutdown.text if shutdown and shutdown.flag else None,
        replacement=replacement_of,
        **extra,
    )


def replacement_change(
    ctx: Context, model: str, before: str | None, after: str, **where: Any
) -> dict[str, Any]:
    """A retiring model's named replacement changed; keyed as its retirement is (provider,
    surface, version), so the registry updates the same row."""
    return _keyed(ctx, "replacement_changed", model, **{"from": before}, to=after, **where)


def retirement_change(
    ctx: Context, model: str, event: str, before: str, after: str | None, **where: Any
) -> dict[str, Any]:
    """A retirement date moved later or withdrawn; keyed as the retirement is, so the registry
    moves the date of the row that retirement made."""
    return _keyed(
        ctx, "retirement_change", model, event=event, **{"from": before}, to=after, **where
    )


def _keyed(ctx: Context, kind: str, model: str, **fields: Any) -> dict[str, Any]:
    return fact(
        kind,
        model=model,
        provider=fields.pop("provider", None) or provider_of(model) or ctx.watch.provider,
        surface=fields.pop("surface", None) or default_surface(ctx),
        **fields,
    )


def launch(ctx: Context, model: str, **extra: Any) -> dict[str, Any]:
    return _keyed(ctx, "launch", model, **extra)


@lru_cache(maxsize=4096)  # every line of a section asks for its headings' date
def section_date(trail: tuple[str, ...]) -> str | None:
    """The date of the nearest dated heading above a line (release notes are dated that way)."""
    for heading in reversed(trail):
        found = find_dates(heading)
        if found:
            return found[0].iso
    return None
