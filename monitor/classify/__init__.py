"""Rules that turn a diff into labels, a severity, a score, a summary and facts. Pure: no I/O.

`RULES` maps a rule's name to a pure function `(diff, context) -> Finding | list | None`; they run
in order, and `policy.remainder` last takes whatever no other rule explained. A change that only
moved volatile tokens is noise: no labels, and the pipeline records nothing. A change no rule
finds substantive is `cosmetic`: recorded, and alerted only if the watch asks for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Set
from datetime import datetime
from typing import Any

from monitor.classify import (
    cosmetic,
    entries,
    error_page,
    launches,
    lifecycle,
    lifecycle_rows,
    policy,
    record_prose,
    versions,
)
from monitor.classify.context import Context, build_context, seed_context
from monitor.classify.names import SUFFIX, same_model
from monitor.classify.records import record_of_line
from monitor.classify.row_cells import cells_fragment
from monitor.classify.severity import score, severity
from monitor.classify.summary import summarise
from monitor.config import Watch
from monitor.models import Classification, Finding, Severity, TextDiff

Rule = Callable[[TextDiff, Context], "Finding | list[Finding] | None"]

RULES: dict[str, Rule] = {
    "versions.marker": versions.rule_version,
    "lifecycle.rows": lifecycle_rows.rule_rows,
    "lifecycle.prose": lifecycle.rule_prose,
    "lifecycle.record_prose": record_prose.rule_record_prose,
    "launches.columns": launches.rule_columns,
    "launches.prose": launches.rule_launch,
    "entries.items": entries.rule_entries,
    "policy.remainder": policy.rule_remainder,
}
LABEL_ORDER = (
    "version_bump", "model_retirement", "model_launch", "new_entry", "entry_removed",
    "policy_text", "section_added", "section_removed", "renamed", "date_change", "cosmetic",
)  # fmt: skip
EVENT_SEVERITY: dict[str, Severity] = {
    "fetch_problem": "minor",
    "page_gone": "major",
    "page_restored": "info",
}
NOISE = Classification((), "info", "noise only: volatile tokens changed")
ERROR_PAGE = Classification(
    (), "info", "noise: the site's error message in the page's place, not a version"
)

__all__ = ["RULES", "baseline_facts", "classify_change", "classify_event", "run_rules"]


def run_rules(diff: TextDiff, ctx: Context) -> list[Finding]:
    """Every rule's findings, in rule order; a cosmetic finding when no rule found anything."""
    findings: list[Finding] = []
    for rule in RULES.values():
        result = rule(diff, ctx)
        if isinstance(result, Finding):
            findings.append(result)
        elif result:
            findings.extend(result)
    if not findings:
        findings.append(cosmetic.cosmetic_finding(ctx))
    return merge_facts(findings)


def _same_fact(a: dict[str, Any], b: dict[str, Any], other_rule: bool) -> bool:
    """Two facts about one model: the same id, or (told by two different rules, such as a
    prose name and a table's id) one id and the same id with a date suffix."""
    if a.get("kind") not in ("retirement", "retirement_change", "launch") or not a.get("model"):
        return False
    if any(a.get(k) != b.get(k) for k in ("kind", "surface", "event")):
        return False
    if a.get("version") and b.get("version") and a["version"] != b["version"]:
        return False
    if a["model"] == b.get("model"):
        return True
    dates = a.get("shutdown_date"), b.get("shutdown_date")
    if all(dates) and dates[0] != dates[1]:
        return False  # mistral-large on April 15 and mistral-large-2411 on January 30: two models
    return other_rule and same_model(a["model"], str(b["model"]))


def _names(fact: dict[str, Any]) -> list[str]:
    """The fact's model id and each shorter id it extends by a date or version suffix: the keys
    under which a twin can be found without comparing every pair of facts."""
    model = fact.get("model")
    if not model:
        return []
    text = str(model)
    return [text] + [text[: m.start()] for m in _SUFFIX_AT.finditer(text, 1)]


_SUFFIX_AT = re.compile(rf"(?={SUFFIX.pattern})")  # where `dated_at` holds


def merge_facts(findings: list[Finding]) -> list[Finding]:
    """One fact per model, kind, surface and event: a table row and the sentence above it tell
    of the same retirement. Their fields are merged into the first fact, which takes the longer
    (dated) id; a finding left without facts goes."""
    kept_facts: list[tuple[str, dict[str, Any]]] = []
    # an id and its undated forms → rule → indexes in kept_facts; a fact of the same rule is a
    # twin only under the same id: `by_model` holds those, so a table of many dated ids of one
    # model is not compared row with row
    by_name: dict[str, dict[str, list[int]]] = {}
    by_model: dict[str, list[int]] = {}
    out = []
    for finding in findings:
        kept = []
        for fact in finding.facts:
            names = _names(fact)
            near = _near(names, finding.rule, by_name, by_model)
            twin = _twin(near, kept_facts, fact, finding.rule) if near else None
            if twin is None:
                merged = dict(fact)
                for name in names:  # `merged` names the model `fact` does
                    by_name.setdefault(name, {}).setdefault(finding.rule, []).append(
                        len(kept_facts)
                    )
                if names:
                    by_model.setdefault(names[0], []).append(len(kept_facts))
                kept_facts.append((finding.rule, merged))
                kept.append(merged)
                continue
            if len(str(fact["model"])) > len(str(twin["model"])):
                twin["model"] = fact["model"]
                index = next(i for i in near if kept_facts[i][1] is twin)
                rule = kept_facts[index][0]
                for name in _names(twin):
                    if index not in by_name.setdefault(name, {}).setdefault(rule, []):
                        by_name[name][rule].append(index)
                by_model.setdefault(str(twin["model"]), []).append(index)
            for name, value in fact.items():
                twin.setdefault(name, value)
        if kept or not finding.facts:
            out.append(_with_facts(finding, tuple(kept)))
    return out


def _near(
    names: list[str],
    rule: str,
    by_name: dict[str, dict[str, list[int]]],
    by_model: dict[str, list[int]],
) -> list[int]:
    """The indexes, in order, of the kept facts that may be a twin of a fact named `names` told
    by `rule`: those of another rule under any of the names, and any under the same id. Most
    facts of a seeded table have none, and are looked up without building a set."""
    found: set[int] | None = None
    for name in names:
        rules = by_name.get(name)
        if rules:
            for other, indexes in rules.items():
                if other != rule:
                    found = set(indexes) if found is None else found.union(indexes)
    same = by_model.get(names[0]) if names else None
    if found is None:
        return sorted(set(same)) if same else []
    return sorted(found.union(same) if same else found)


def _twin(
    near: list[int], kept_facts: list[tuple[str, dict[str, Any]]], fact: dict[str, Any], rule: str
) -> dict[str, Any] | None:
    """The first of the kept facts at `near` that tells of the same model as `fact`."""
    # the same id first: a dated id's fact is no twin when its own is there
    near.sort(key=lambda i: kept_facts[i][1].get("model") != fact.get("model"))
    return next(
        (
            kept_facts[i][1]
            for i in near
            if _same_fact(kept_facts[i][1], fact, kept_facts[i][0] != rule)
        ),
        None,
    )


def _with_facts(finding: Finding, facts: tuple[dict[str, Any], ...]) -> Finding:
    """`replace(finding, facts=facts)` without the dataclass machinery (a table's rows are a
    finding each)."""
    made = object.__new__(Finding)
    made.__dict__.update(finding.__dict__, facts=facts)
    return made


ROW_RULES = ("lifecycle.row_added", "lifecycle.row_launch")


def restored_rows(findings: list[Finding], earlier_lines: Callable[[], Set[str]]) -> list[Finding]:
    """A lifecycle row added back exactly as an earlier version listed it (a page or a scraper
    dropped it for a while) announces nothing: it is an entry restored, not a retirement or a
    launch, and the registry already has it. `earlier_lines` is read only when a row was added."""
    if not any(finding.rule in ROW_RULES for finding in findings):
        return findings
    seen = earlier_lines()
    records: set[str] | None = None  # the earlier versions' records, read only if needed
    out = []
    for finding in findings:
        listed = finding.fragment.strip() in seen
        if finding.rule in ROW_RULES and not listed:
            if records is None:
                records = {cells_fragment(c) for line in seen if (c := record_of_line(line))}
            listed = finding.fragment in records
        if finding.rule in ROW_RULES and listed:
            model = next((str(f["model"]) for f in finding.facts if f.get("model")), "")
            out.append(
                Finding(
                    "entries.row_restored",
                    "new_entry",
                    f"{model or 'a row'} is listed again as an earlier version listed it",
                    fragment=finding.fragment,
                    facts=({"kind": "new_entry", "title": model, "restored": True},),
                )
            )
        else:
            out.append(finding)
    return out


def classify_change(
    diff: TextDiff,
    old_text: str,
    new_text: str,
    watch: Watch,
    *,
    at: datetime,
    earlier_lines: Callable[[], Set[str]] | None = None,
) -> Classification:
    """Labels for a content change. No labels at all means noise: not recorded as a change.
    `earlier_lines`: the lines of the versions before the previous one, for telling a row that
    comes back from one that is new."""
    if error_page.error_message(new_text):
        return ERROR_PAGE
    if back := error_page.error_message(old_text):
        return _back_from_error_page(back)
    ctx = build_context(diff, old_text, new_text, watch, at=at)
    if cosmetic.is_noise(ctx) or ctx.empty:
        return NOISE
    findings = run_rules(diff, ctx)
    if earlier_lines is not None:
        findings = restored_rows(findings, earlier_lines)
    present = {finding.label for finding in findings}
    labels = tuple(label for label in LABEL_ORDER if label in present)
    labels += tuple(sorted(present - set(labels)))
    findings.sort(key=lambda finding: labels.index(finding.label))
    value, factors = score(diff, ctx, labels, findings)
    return Classification(
        labels=labels,
        severity=severity(labels, findings, watch, at),
        summary=summarise(labels, findings, diff),
        findings=tuple(findings),
        score=value,
        score_factors=factors,
    )


LIFECYCLE_RULES = ("lifecycle.rows", "lifecycle.prose", "launches.columns", "launches.prose")


def baseline_facts(text: str, watch: Watch, *, at: datetime) -> tuple[dict[str, Any], ...]:
    """The lifecycle facts a first version already states (its deprecation tables, its
    retirement notices): the text read by the lifecycle rules as a change from an empty page."""
    from monitor.diff import diff_texts

    diff = diff_texts("", text)
    ctx = seed_context(text, watch, at=at)
    _records_as_added(ctx, text)
    findings: list[Finding] = []
    for name in LIFECYCLE_RULES:
        result = RULES[name](diff, ctx)
        if isinstance(result, Finding):
            findings.append(result)
        elif result:
            findings.extend(result)
    kinds = ("retirement", "retirement_change", "launch")
    facts = [fact for finding in merge_facts(findings) for fact in finding.facts]
    return tuple(fact for fact in facts if fact.get("kind") in kinds)


def _records_as_added(ctx: Context, text: str) -> None:
    """A feed (JSON records, RSS or Atom items) read from an empty page: every record is an
    added one, as record_changes would say against an empty feed (which does not parse)."""
    from monitor.classify.records import by_role, parse_records
    from monitor.classify.table_diff import RowChange

    feed = parse_records(text)
    if feed is None:
        return
    added = []
    for same_identity in feed.records.values():
        for fields in same_identity:
            cells = by_role(fields)
            notice = "shutdown" in cells and "status" not in cells
            added.append(RowChange("added", None, cells, deprecation_table=notice))
    ctx.memo["records"] = (added, frozenset(), feed.lines)


def _back_from_error_page(message: str) -> Classification:
    """The page again after a version that was only the site's error message: recorded, so the
    watch holds the page once more, never alerted (the page did not change)."""
    reason = f'the page is back after its error message ("{message}")'
    finding = Finding("error_page.back", "revert", reason, fragment=message)
    return Classification(("revert",), "info", reason, (finding,))


def classify_event(kind: str, watch: Watch, message: str) -> Classification:
    """A fetch_problem, page_gone or page_restored event: one label, one finding."""
    severity_of = watch.severity.get(kind, EVENT_SEVERITY[kind])
    finding = Finding(f"event.{kind}", kind, message, fragment=message)
    return Classification((kind,), severity_of, f"{kind.replace('_', ' ')}: {message}", (finding,))
