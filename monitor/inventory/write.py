"""`monitor inventory scan --write`: what a scan found, as an `[[inventory]]` table appended to
the watchlist for a person to review. Nothing already in the file is rewritten."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date

from monitor.inventory.scan import Use


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def grouped(uses: Iterable[Use]) -> dict[str, list[str]]:
    """model → ["path:line", …], models and places in first-seen order, each place once."""
    found: dict[str, list[str]] = {}
    for use in uses:
        places = found.setdefault(use.model, [])
        if use.where not in places:
            places.append(use.where)
    return found


def inventory_table(
    team: str, found: Mapping[str, list[str]], *, today: date, max_places: int = 20
) -> str:
    """The TOML text of one `[[inventory]]` table."""
    lines = [
        "",
        f"# Found by `monitor inventory scan` on {today.isoformat()}: review before relying on it.",
        "[[inventory]]",
        f"team = {_string(team)}",
        "models = [",
        *(f"    {_string(model)}," for model in found),
        "]",
        "",
        "[inventory.used_in]",
    ]
    for model, places in found.items():
        shown = ", ".join(_string(place) for place in places[:max_places])
        lines.append(f"{_string(model)} = [{shown}]")
    return "\n".join(lines) + "\n"
