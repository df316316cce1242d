"""Rules that turn a diff into labels, a severity, a summary and facts. Pure: no I/O."""

from __future__ import annotations

import re
from datetime import datetime

from monitor.config import Watch
from monitor.models import Classification, Finding, Severity, TextDiff

EVENT_SEVERITY: dict[str, Severity] = {
    "fetch_problem": "minor",
    "page_gone": "major",
    "page_restored": "info",
}


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def classify_change(
    diff: TextDiff, old_text: str, new_text: str, watch: Watch, *, at: datetime
) -> Classification:
    """Labels for a content change. No labels at all means noise: not recorded as a change."""
    removed = "\n".join(line for hunk in diff.hunks for line in hunk.removed)
    added = "\n".join(line for hunk in diff.hunks for line in hunk.added)
    if _squash(removed) == _squash(added):
        finding = Finding("cosmetic.punctuation", "cosmetic", "only whitespace, case or punctuation")
        return _finish((finding,), watch, diff)
    finding = Finding("policy_text.wording", "policy_text", "wording changed", fragment=added[:200])
    return _finish((finding,), watch, diff)


def classify_event(kind: str, watch: Watch, message: str) -> Classification:
    severity = watch.severity.get(kind, EVENT_SEVERITY[kind])
    finding = Finding(f"event.{kind}", kind, message)
    return Classification((kind,), severity, f"{kind.replace('_', ' ')}: {message}", (finding,))


def _finish(findings: tuple[Finding, ...], watch: Watch, diff: TextDiff) -> Classification:
    labels = tuple(dict.fromkeys(f.label for f in findings))
    severity: Severity = "info" if labels == ("cosmetic",) else "minor"
    for label in labels:
        severity = watch.severity.get(label, severity)
    stats = diff.stats
    where = f" in {', '.join(diff.sections[:3])}" if diff.sections else ""
    summary = f"{', '.join(labels)}: +{stats.lines_added} -{stats.lines_removed} lines{where}"
    return Classification(labels, severity, summary, findings)
