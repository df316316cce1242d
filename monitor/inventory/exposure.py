"""Exposure = the registry × the teams' inventory. Pure: config and facts or rows in, values out.

- `exposures`: which inventory models a change's lifecycle facts touch, with the rule that matched.
- `expose`: a classification with those exposures as findings, raised to `critical`.
- `team_report`: every inventory model with what the registry says of it (`monitor exposure`).
- `due_reminder`: which reminder (30, 7 or 1 days before a shutdown) is due today, if any.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Protocol

from monitor.config import InventoryEntry
from monitor.inventory.identity import Match, match
from monitor.models import Classification, Finding, model_key

TOUCHING_FACTS = ("retirement", "retirement_change", "replacement_changed")
REMINDER_DAYS = (30, 7, 1)


@dataclass(frozen=True)
class Exposure:
    team: str
    used: str  # the id the team uses
    registry_model: str
    rule: str
    detail: str
    used_in: tuple[str, ...]
    channels: tuple[str, ...]
    shutdown_date: str | None = None

    def fact(self) -> dict[str, Any]:
        return {
            "kind": "exposure",
            "team": self.team,
            "model": self.used,
            "matches": self.registry_model,
            "rule": self.rule,
            "shutdown_date": self.shutdown_date,
            "used_in": ", ".join(self.used_in) if self.used_in else None,
        }


def _fact_models(fact: Mapping[str, Any]) -> list[str]:
    return [model_key(fact)] if fact.get("model") else []


def _matches(
    inventory: Sequence[InventoryEntry], aliases: Mapping[str, str], registry_model: str
) -> Iterable[tuple[InventoryEntry, Match]]:
    for entry in inventory:
        for used in entry.models:
            found = match(used, registry_model, aliases)
            if found is not None:
                yield entry, found


def exposures(
    inventory: Sequence[InventoryEntry],
    aliases: Mapping[str, str],
    facts: Iterable[Mapping[str, Any]],
) -> list[Exposure]:
    """The inventory models that a change's retirement, moved date or replacement touches."""
    found: dict[tuple[str, str, str], Exposure] = {}
    for fact in facts:
        if fact.get("kind") not in TOUCHING_FACTS:
            continue
        shutdown = fact.get("shutdown_date") or fact.get("to")
        for registry_model in _fact_models(fact):
            for entry, hit in _matches(inventory, aliases, registry_model):
                key = (entry.team, hit.used, registry_model)
                earlier = found.get(key)
                found[key] = Exposure(
                    team=entry.team,
                    used=hit.used,
                    registry_model=registry_model,
                    rule=hit.rule,
                    detail=hit.detail,
                    used_in=tuple(entry.used_in.get(hit.used, ())),
                    channels=tuple(
                        dict.fromkeys((earlier.channels if earlier else ()) + entry.channels)
                    ),
                    shutdown_date=str(shutdown) if shutdown else None,
                )
    return sorted(found.values(), key=lambda e: (e.team, e.used, e.registry_model))


def expose(
    classification: Classification,
    inventory: Sequence[InventoryEntry],
    aliases: Mapping[str, str],
) -> Classification:
    """`classification` with one finding per inventory model it touches, severity `critical`;
    unchanged when it touches none."""
    touched = exposures(inventory, aliases, classification.facts)
    if not touched:
        return classification
    findings = tuple(
        Finding(
            rule=f"inventory.{e.rule}",
            label=_label_of(classification),
            reason=f"team {e.team} uses {e.used} ({e.detail})"
            + (f" in {', '.join(e.used_in)}" if e.used_in else ""),
            fragment=e.used,
            facts=(e.fact(),),
        )
        for e in touched
    )
    teams = ", ".join(dict.fromkeys(e.team for e in touched))
    return replace(
        classification,
        severity="critical",
        findings=classification.findings + findings,
        summary=f"{classification.summary} — affects {teams}",
    )


def _label_of(classification: Classification) -> str:
    for label in ("model_retirement", "date_change", "policy_text"):
        if label in classification.labels:
            return label
    return classification.labels[0] if classification.labels else "model_retirement"


def team_channels(
    inventory: Sequence[InventoryEntry], facts: Iterable[Mapping[str, Any]]
) -> tuple[str, ...]:
    """The channels of the teams named by a change's exposure facts."""
    teams = {str(f.get("team")) for f in facts if f.get("kind") == "exposure"}
    return tuple(
        dict.fromkeys(c for entry in inventory if entry.team in teams for c in entry.channels)
    )


class RegistryModel(Protocol):
    provider: str
    model: str
    surface: str
    status: str
    shutdown_on: date | None
    replacement: str | None
    source_change_id: int | None
    watch_id: str | None


@dataclass(frozen=True)
class TeamModel:
    """One inventory model and one registry row it matches (or none)."""

    team: str
    used: str
    used_in: tuple[str, ...]
    channels: tuple[str, ...]
    row: RegistryModel | None
    rule: str | None
    detail: str | None

    def days_left(self, today: date) -> int | None:
        if self.row is None or self.row.shutdown_on is None:
            return None
        return (self.row.shutdown_on - today).days

    def as_dict(self, today: date, status: str | None = None) -> dict[str, Any]:
        row = self.row
        return {
            "team": self.team,
            "model": self.used,
            "matches": row.model if row else None,
            "rule": self.rule,
            "provider": row.provider if row else None,
            "surface": row.surface if row else None,
            "status": (status or row.status) if row else "unknown",
            "shutdown": row.shutdown_on.isoformat() if row and row.shutdown_on else None,
            "days_left": self.days_left(today),
            "replacement": row.replacement if row else None,
            "source_change": row.source_change_id if row else None,
            "used_in": list(self.used_in),
        }


def team_report(
    inventory: Sequence[InventoryEntry],
    aliases: Mapping[str, str],
    rows: Sequence[RegistryModel],
    team: str | None = None,
) -> list[TeamModel]:
    """Every inventory model (of `team`, or all teams) with each registry row it matches; a model
    the registry does not know is listed once with no row."""
    report: list[TeamModel] = []
    for entry in inventory:
        if team is not None and entry.team != team:
            continue
        for used in entry.models:
            used_in = tuple(entry.used_in.get(used, ()))
            hits = [(row, match(used, row.model, aliases)) for row in rows]
            matched = [(row, hit) for row, hit in hits if hit is not None]
            if not matched:
                report.append(
                    TeamModel(entry.team, used, used_in, entry.channels, None, None, None)
                )
            for row, hit in matched:
                assert hit is not None
                report.append(
                    TeamModel(entry.team, used, used_in, entry.channels, row, hit.rule, hit.detail)
                )
    return report


def due_reminder(
    days_left: int, sent: Iterable[int], days: Sequence[int] = REMINDER_DAYS
) -> int | None:
    """The reminder due with `days_left` to go: the nearest threshold at or above it, unless it
    was sent. A model first seen 5 days out gets the 7-day reminder, never a stale 30-day one."""
    if days_left < 0:
        return None
    candidates = [d for d in days if days_left <= d]
    if not candidates:
        return None
    due = min(candidates)
    return None if due in set(sent) else due


def team_rows(
    inventory: Sequence[InventoryEntry],
    aliases: Mapping[str, str],
    rows: Sequence[RegistryModel],
    team: str | None = None,
) -> list[RegistryModel]:
    """The registry rows some inventory model (of `team`, or of any team) matches, in order."""
    matched = {id(item.row) for item in team_report(inventory, aliases, rows, team)}
    return [row for row in rows if id(row) in matched]


def exposure_items(
    inventory: Sequence[InventoryEntry],
    aliases: Mapping[str, str],
    rows: Sequence[RegistryModel],
    today: date,
    status_of: Callable[[Any, date], str],
    team: str | None = None,
) -> list[dict[str, Any]]:
    """What `monitor exposure --json` and `/api/exposure` print: soonest shutdown first."""
    items = [
        item.as_dict(today, status_of(item.row, today) if item.row is not None else None)
        for item in team_report(inventory, aliases, rows, team)
    ]
    return sorted(items, key=lambda i: (i["shutdown"] or "9999", i["team"], i["model"]))
