"""Which registry model an id a team uses names, and by which rule. Pure.

The rules, tried in this order, each named in what it returns:

- `exact`: the same id once written alike (case, a hosting prefix such as `openai/`, `models/`
  or `anthropic.`, Bedrock's `-v1:0` suffix, Vertex's `@20240229` written `-20240229`, Azure's
  model and version written `gpt-35-turbo:0613`, `gpt-35-turbo@0613` or `gpt-35-turbo-0613`).
- `display_name`: a display name ("Claude 3.5 Haiku", "GPT-4o mini") read as the id it spells.
- `snapshot_of`: the team pins a dated snapshot (`claude-3-5-haiku-20241022`) of a model the
  registry retires as a whole (`claude-3-5-haiku`): retiring a model retires its snapshots.
- `alias`: the team calls an alias or a `-latest` pointer, and the watchlist's `[aliases]` table
  says which snapshot it points at; only a retirement of *that* snapshot matches. An alias with no
  known target never matches a dated snapshot: `gpt-4o` is not `gpt-4o-2024-05-13` unless it
  points there.
- `latest_pointer`: `claude-3-5-haiku-latest` with no known target names the model itself, so a
  retirement of `claude-3-5-haiku` (the model, not one snapshot) matches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_HOSTING_PREFIX = re.compile(
    r"^(?:[a-z0-9_-]+/(?=[a-z])|(?:anthropic|meta|amazon|mistral|cohere|ai21|openai|google)\.)"
)
_BEDROCK_SUFFIX = re.compile(r"-v\d+(?::\d+)?$")
_VERSION_JOIN = re.compile(r"[@:](?=[0-9a-z]+$)")
# A date or date-like version at the end: -20241022, -2024-08-06, -0613, -002, -v2
_SNAPSHOT_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|\d{4}|\d{3}|preview-\d{2}-\d{2})$")
_LATEST = re.compile(r"-latest$")


def normalise(model: str) -> str:
    """One spelling for one id: lower case, no hosting prefix, versions joined with `-`."""
    text = model.strip().lower()
    while True:
        stripped = _HOSTING_PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    text = _BEDROCK_SUFFIX.sub("", text)
    text = _VERSION_JOIN.sub("-", text)
    return text


def from_display_name(name: str) -> str | None:
    """'Claude 3.5 Haiku' → 'claude-3-5-haiku'; None when `name` has no space (it is an id)."""
    if " " not in name.strip():
        return None
    words = re.findall(r"[a-z0-9]+", name.lower().replace(".", "-"))
    return "-".join(words) or None


def base_model(model: str) -> str | None:
    """The model a dated snapshot belongs to: 'claude-3-5-haiku-20241022' → 'claude-3-5-haiku'."""
    match = _SNAPSHOT_SUFFIX.search(model)
    return model[: match.start()] if match else None


@dataclass(frozen=True)
class Match:
    used: str  # the id as the team wrote it
    registry_model: str  # the id the registry knows
    rule: str  # exact, display_name, snapshot_of, alias, latest_pointer
    detail: str  # one line saying why, for the alert and `monitor exposure`


def match(used: str, registry_model: str, aliases: Mapping[str, str] = {}) -> Match | None:
    """Whether the id a team uses names `registry_model` (see the module docstring for rules)."""
    mine, theirs = normalise(used), normalise(registry_model)
    theirs_named = from_display_name(registry_model)
    if theirs_named is not None:
        theirs = theirs_named
    if mine == theirs:
        rule = "display_name" if theirs_named is not None else "exact"
        same = used == registry_model
        return Match(
            used, registry_model, rule, "the same id" if same else f"{used} is {registry_model}"
        )
    mine_named = from_display_name(used)
    if mine_named is not None and mine_named == theirs:
        return Match(used, registry_model, "display_name", f"{used} is {registry_model}")
    target = _alias_target(used, aliases)
    if target is not None:
        if normalise(target) == theirs:
            return Match(used, registry_model, "alias", f"{used} points at {target} ([aliases])")
        return None  # an alias with a known target names only that target
    if base_model(mine) == theirs:
        return Match(
            used, registry_model, "snapshot_of", f"{used} is a snapshot of {registry_model}"
        )
    if _LATEST.search(mine) and _LATEST.sub("", mine) == theirs:
        return Match(
            used, registry_model, "latest_pointer", f"{used} points at the latest {registry_model}"
        )
    return None


def _alias_target(used: str, aliases: Mapping[str, str]) -> str | None:
    key = normalise(used)
    for alias, target in aliases.items():
        if normalise(alias) == key:
            return target
    return None
