"""One human line per change, built from the facts:

Version 3.0 → 3.1, effective 2026-04-02; 3 sections changed
gpt-4o, gpt-4.1 retire from ChatGPT on 2026-05-29; API continues
+2 entries: "…", "…"
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from monitor.classify.dates import MONTH_ONLY
from monitor.models import Finding, TextDiff
from monitor.wording import shorten

MAX_LENGTH = 200
SURFACE_NAMES = {
    "chatgpt": "ChatGPT",
    "api": "the API",
    "azure": "Azure",
    "bedrock": "Bedrock",
    "vertex": "Vertex AI",
}


def _models(facts: list[dict[str, Any]], limit: int = 3) -> str:
    names = list(dict.fromkeys(str(fact["model"]) for fact in facts))
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _retirements(facts: list[dict[str, Any]]) -> list[str]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for fact in facts:
        key = (
            fact.get("event"),
            fact.get("surface"),
            fact.get("shutdown_date"),
            fact.get("previous"),
        )
        groups[key].append(fact)
    parts = []
    for (event, surface, shutdown, previous), group in groups.items():
        where = (
            f" from {SURFACE_NAMES.get(surface, surface)}" if surface and surface != "api" else ""
        )
        models = _models(group)
        if event == "retired":
            text = f"{models} retired{where}" + (f" on {shutdown}" if shutdown else "")
        elif event == "retirement_date_moved_earlier":
            text = f"{models} shutdown moved earlier {previous} → {shutdown}"
        elif shutdown:
            qualifier = group[0].get("qualifier")
            when = f"{qualifier} {shutdown}" if qualifier else f"on {shutdown}"
            if group[0].get("date_flag") == MONTH_ONLY:  # "in March 2026", not a made-up day
                when = f"in {group[0].get('date_as_written')}"
            verb = "retires" if len({f.get("model") for f in group}) == 1 else "retire"
            text = f"{models} {verb}{where} {when}"
        else:
            text = f"{models} deprecated{where}"
        replacement = group[0].get("replacement")
        if replacement and len(group) == 1:
            text += f" (replacement {replacement})"
        if any(fact.get("api_continues") for fact in group):
            text += "; API continues"
        parts.append(text)
    return parts


def _quoted(titles: list[str], limit: int = 2) -> str:
    shown = ", ".join(f'"{shorten(title, 50)}"' for title in titles[:limit])
    return shown + (f" and {len(titles) - limit} more" if len(titles) > limit else "")


def summarise(labels: tuple[str, ...], findings: list[Finding], diff: TextDiff) -> str:
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in findings:
        for fact in finding.facts:
            by_kind[str(fact.get("kind"))].append(fact)
    parts: list[str] = []
    for fact in by_kind["version"][:1]:
        if fact.get("marker") == "version":
            text = f"Version {fact['from']} → {fact['to']}"
        else:
            text = (
                f"{str(fact.get('marker', 'version')).capitalize()} {fact['from']} → {fact['to']}"
            )
        if fact.get("effective_date"):
            text += f", effective {fact['effective_date']}"
        if fact.get("rolled_back"):
            text += " (back to an earlier version)"
        parts.append(text)
    parts += _retirements(by_kind["retirement"])
    for fact in by_kind["retirement_change"][:2]:
        parts.append(
            f"{fact['model']} shutdown {fact.get('from')} → {fact.get('to') or 'withdrawn'}"
        )
    if by_kind["launch"]:
        parts.append(f"new model: {_models(by_kind['launch'])}")
    for kind, sign, field, noun in (
        ("new_entry", "+", "title", "entr"),
        ("entry_removed", "-", "item", "entr"),
    ):
        titles = [str(fact.get(field, "")) for fact in by_kind[kind]]
        if titles:
            plural = "y" if len(titles) == 1 else "ies"
            parts.append(f"{sign}{len(titles)} {noun}{plural}: {_quoted(titles)}")
    for fact in by_kind["replacement_changed"][:1]:
        parts.append(f"replacement for {fact['model']} now {fact['to']}")
    renamed = [f for f in findings if f.label == "renamed"]
    if renamed:
        parts.append(f"renamed {renamed[0].old!r} → {renamed[0].new!r}")
    sections = {f.label for f in findings} & {"section_added", "section_removed"}
    for label in sorted(sections):
        names = [f.fragment.lstrip("# ").strip() for f in findings if f.label == label]
        parts.append(f"{'+' if label == 'section_added' else '-'}section {_quoted(names)}")
    if (
        "policy_text" in labels
        and not by_kind["replacement_changed"]
        and not by_kind["retirement_change"]
    ):
        texts = [f for f in findings if f.label == "policy_text"]
        if all(f.rule == "policy.record_field" for f in texts):
            parts.append(f"{len(texts)} record field{'s' if len(texts) != 1 else ''} changed")
        else:
            where = {f.reason.partition("§ ")[2] for f in texts}
            count = len(where) or len(diff.sections) or 1
            parts.append(f"{count} section{'s' if count != 1 else ''} changed")
    if "date_change" in labels:
        moves = [f"{fact['from']} → {fact['to']}" for fact in by_kind["date"]]
        parts.append("dates changed: " + ", ".join(moves[:2]))
    if labels == ("cosmetic",):
        parts.append(next((f.reason for f in findings if f.label == "cosmetic"), "cosmetic only"))
    line = "; ".join(dict.fromkeys(parts)) or ", ".join(labels)  # identical parts said once
    return shorten(line, MAX_LENGTH)
