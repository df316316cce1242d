"""Severity from the labels and facts, overridable per watch, and an explainable 0–1 significance
score: a weighted sum of named factors, each factor kept so a reader sees why."""

from __future__ import annotations

from datetime import date, datetime

from monitor import patterns as p
from monitor.classify.context import Context
from monitor.config import Watch
from monitor.models import SEVERITIES, Finding, Severity, TextDiff

CRITICAL_WITHIN_DAYS = 90
BASE: dict[str, Severity] = {
    "model_retirement": "major",
    "version_bump": "major",
    "policy_text": "minor",
    "section_added": "minor",
    "section_removed": "minor",
    "model_launch": "minor",
    "entry_removed": "minor",
    "date_change": "minor",
    "new_entry": "info",
    "renamed": "info",
    "cosmetic": "info",
    "revert": "info",
    "rule_change": "info",
    "fetch_problem": "minor",
    "page_gone": "major",
    "page_restored": "info",
}
# Factor → weight; the score is the sum of weight × factor value (each 0–1).
WEIGHTS = {"share_changed": 0.3, "key_terms": 0.2, "links_changed": 0.1, "facts": 0.4}


def _worse(a: Severity, b: Severity) -> Severity:
    return a if SEVERITIES.index(a) >= SEVERITIES.index(b) else b


def _soon(findings: list[Finding], today: date) -> bool:
    for finding in findings:
        for fact in finding.facts:
            if fact.get("kind") != "retirement" or not fact.get("shutdown_date"):
                continue
            try:
                days = (date.fromisoformat(fact["shutdown_date"]) - today).days
            except ValueError:
                continue
            if 0 <= days <= CRITICAL_WITHIN_DAYS:
                return True
    return False


def label_severity(label: str, findings: list[Finding], watch: Watch, at: datetime) -> Severity:
    if label in watch.severity:
        return watch.severity[label]
    mine = [f for f in findings if f.label == label]
    if label == "model_retirement" and _soon(mine, at.date()):
        return "critical"
    if label == "version_bump":
        markers = {fact.get("marker") for f in mine for fact in f.facts}
        if not markers & {"version", "effective"}:
            # a bare "Last updated" date: a reader checks it, the policy's own version did not move
            return "minor" if watch.kind == "policy" else "info"
    if label in ("policy_text", "section_added", "section_removed") and watch.kind == "policy":
        return "major"
    return BASE.get(label, "minor")


def severity(
    labels: tuple[str, ...], findings: list[Finding], watch: Watch, at: datetime
) -> Severity:
    result: Severity = "info"
    for label in labels:
        result = _worse(label_severity(label, findings, watch, at), result)
    return result


def score(
    diff: TextDiff, ctx: Context, labels: tuple[str, ...], findings: list[Finding]
) -> tuple[float, dict[str, float]]:
    """(score, factor contributions); the contributions add up to the score."""
    total = max(1, len(ctx.old_text) + len(ctx.new_text))
    changed_chars = diff.stats.chars_added + diff.stats.chars_removed
    if not changed_chars:
        changed_chars = sum(len(line.text) for line in (*ctx.added, *ctx.removed)) + sum(
            len(pair.new.text) for pair in ctx.changed
        )
    share = min(1.0, 4 * changed_chars / total)
    changed_text = " ".join(
        [line.core for line in (*ctx.added, *ctx.removed)] + [pair.new.core for pair in ctx.changed]
    )
    terms = min(1.0, len(p.KEY_TERMS.findall(changed_text)) / 5)
    units = len(ctx.added) + len(ctx.removed) + len(ctx.changed) + len(ctx.reformatted)
    with_links = sum(
        1
        for text in [line.text for line in (*ctx.added, *ctx.removed)]
        + [pair.new.text for pair in (*ctx.changed, *ctx.reformatted)]
        if "](" in text or "http" in text
    )
    links = with_links / units if units else 0.0
    kinds = {fact.get("kind") for finding in findings for fact in finding.facts}
    weight_of_facts = (
        1.0 if kinds & {"retirement", "version"} else 0.5 if kinds - {"cosmetic"} else 0.0
    )
    values = {
        "share_changed": share,
        "key_terms": terms,
        "links_changed": links,
        "facts": weight_of_facts,
    }
    if labels == ("cosmetic",):
        values = {name: value * 0.2 for name, value in values.items()}
    factors = {name: round(WEIGHTS[name] * value, 3) for name, value in values.items()}
    return round(min(1.0, sum(factors.values())), 3), factors
