"""Run labelled classifier cases and score the rules: precision and recall per label.

A case is a directory holding `case.json` and the two texts it names, or one `<name>.json` file
with the texts inline (`before_text`, `after_text`). `case.json` says what the case is, where it
came from, the watch it stands for (kind, provider, url), when the change was seen (`at`), and
the expected labels and facts:

    {"description": "…", "source": "…", "watch": {"kind": "policy", "provider": "anthropic"},
     "at": "2026-04-02T09:00:00Z", "before": "before.txt", "after": "after.txt",
     "expected": {"labels": ["version_bump"], "facts": [{"kind": "version", "to": "3.1"}]}}

Every key of an expected fact must equal the same key of one fact the rules produced. An empty
label list means the pair is noise and must not be recorded as a change.

A case may say `"known_miss": "why"`: the rules do not meet it yet, it is still scored, and the
tests insist it keeps missing until the marker is removed. A case's page is its watch id: `by_page` scores each page alone, and `rule_support` says which
pages' cases each rule (a finding's rule name) earns its true positives on, so a rule that only
one page supports shows up, and `leave_one_page_out` scores each page counting only the labels
that rules supported by other pages' cases found there.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.config import Watch
from monitor.models import Classification, model_key

CASE_FILE = "case.json"


@dataclass(frozen=True)
class Case:
    name: str
    description: str
    source: str
    watch: Watch
    at: datetime
    before: str
    after: str
    labels: tuple[str, ...]
    facts: tuple[dict[str, Any], ...]
    known_miss: str | None = None  # why the rules do not meet this case yet

    @property
    def page(self) -> str:
        return self.watch.id


@dataclass
class Outcome:
    case: Case
    labels: tuple[str, ...] = ()
    classification: Classification | None = None
    error: str | None = None
    missing_facts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def labels_ok(self) -> bool:
        return self.error is None and set(self.labels) == set(self.case.labels)

    @property
    def ok(self) -> bool:
        return self.labels_ok and not self.missing_facts


@dataclass
class Report:
    outcomes: list[Outcome]
    seconds: float

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error is not None]

    def per_label(self) -> dict[str, dict[str, float]]:
        """label → tp, fp, fn, precision, recall over every case that ran."""
        counts: dict[str, Counter[str]] = {}
        for outcome in self.outcomes:
            if outcome.error is not None:
                continue
            got, want = set(outcome.labels), set(outcome.case.labels)
            for label in got | want:
                tally = counts.setdefault(label, Counter())
                tally[
                    "tp" if label in got and label in want else "fp" if label in got else "fn"
                ] += 1
        out = {}
        for label in sorted(counts):
            c = counts[label]
            tp, fp, fn = c["tp"], c["fp"], c["fn"]
            out[label] = {
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
                "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0,
            }
        noise = [o for o in self.outcomes if not o.case.labels and o.error is None]
        out["noise"] = {
            "tp": sum(1 for o in noise if not o.labels),
            "fp": sum(1 for o in self.outcomes if o.case.labels and not o.labels and not o.error),
            "fn": sum(1 for o in noise if o.labels),
        }
        n = out["noise"]
        out["noise"]["precision"] = (
            round(n["tp"] / (n["tp"] + n["fp"]), 4) if n["tp"] + n["fp"] else 1.0
        )
        out["noise"]["recall"] = (
            round(n["tp"] / (n["tp"] + n["fn"]), 4) if n["tp"] + n["fn"] else 1.0
        )
        return out

    def facts_found(self, kind: str) -> tuple[int, int]:
        """(expected facts of `kind` found, expected facts of `kind`) over every case."""
        expected = [(o, f) for o in self.outcomes for f in o.case.facts if f["kind"] == kind]
        missing = sum(1 for o, f in expected if f in o.missing_facts or o.error is not None)
        return len(expected) - missing, len(expected)

    def retirements_found(self) -> tuple[int, int]:
        """(expected retirements the rules found with the same model and shutdown date, expected
        retirements): the headline figure, blind to a fact's other fields."""
        found = total = 0
        for outcome in self.outcomes:
            got = outcome.classification.facts if outcome.classification else ()
            for fact in outcome.case.facts:
                if fact["kind"] != "retirement":
                    continue
                total += 1
                found += any(
                    other["kind"] == "retirement"
                    and _same_model(other, fact)
                    and other.get("shutdown_date") == fact.get("shutdown_date")
                    for other in got
                )
        return found, total

    def headline(self) -> dict[str, Any]:
        """Retirements found with the right model and date, and the precision of the
        model_retirement label: the figures a reader of retirement alerts cares about."""
        found, total = self.retirements_found()
        label = self.per_label().get("model_retirement", {"tp": 0, "fp": 0, "precision": 1.0})
        return {
            "retirements_found": found,
            "retirements_expected": total,
            "retirement_recall": round(found / total, 4) if total else 1.0,
            "model_retirement_precision": label["precision"],
            "model_retirement_labelled": label["tp"] + label["fp"],
            "model_retirement_right": label["tp"],
        }

    def pages(self) -> dict[str, Report]:
        """One report per page (watch id), in name order."""
        grouped: dict[str, list[Outcome]] = {}
        for outcome in self.outcomes:
            grouped.setdefault(outcome.case.page, []).append(outcome)
        return {page: Report(grouped[page], 0.0) for page in sorted(grouped)}

    def rule_support(self) -> dict[str, Counter[str]]:
        """Rule name → page → how many of that page's cases the rule gave a right label."""
        support: dict[str, Counter[str]] = {}
        for outcome in self.outcomes:
            if outcome.classification is None:
                continue
            want = set(outcome.case.labels)
            for rule in {f.rule for f in outcome.classification.findings if f.label in want}:
                support.setdefault(rule, Counter())[outcome.case.page] += 1
        return dict(sorted(support.items()))

    def leave_one_page_out(self) -> dict[str, dict[str, int]]:
        """Per page: right labels, and how many of them a rule supported by at least one other
        page's cases also gave (the labels that stand with this page's cases set aside)."""
        support = self.rule_support()
        out: dict[str, dict[str, int]] = {}
        for page, report in self.pages().items():
            right = held = 0
            for outcome in report.outcomes:
                if outcome.classification is None:
                    continue
                for label in set(outcome.labels) & set(outcome.case.labels):
                    right += 1
                    held += any(
                        f.label == label and set(support.get(f.rule, {})) - {page}
                        for f in outcome.classification.findings
                    )
            out[page] = {"cases": len(report.outcomes), "right_labels": right, "held_out": held}
        return out

    def to_json(self) -> dict[str, Any]:
        retire_found, retire_total = self.facts_found("retirement")
        return {
            "cases": len(self.outcomes),
            "headline": self.headline(),
            "errors": [{"case": o.case.name, "error": o.error} for o in self.errors],
            "labels": self.per_label(),
            "retirement_facts": {"found": retire_found, "expected": retire_total},
            "mismatches": [
                {
                    "case": o.case.name,
                    "expected": sorted(o.case.labels),
                    "got": list(o.labels),
                    "missing_facts": o.missing_facts,
                }
                for o in self.outcomes
                if not o.ok and o.error is None
            ],
            "seconds": round(self.seconds, 3),
        }


def _read(folder: Path, data: dict[str, Any], key: str) -> str:
    if f"{key}_text" in data:
        return str(data[f"{key}_text"])
    return (folder / str(data[key])).read_bytes().decode("utf-8")


def load_case(path: Path) -> Case:
    """A case from a directory (with case.json) or a single .json file. Raises ValueError."""
    file = path / CASE_FILE if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        watch_data = {"id": "case", "url": "https://example.com/", **data.get("watch", {})}
        watch_data["id"] = str(watch_data["id"]).lower()
        expected = data["expected"]
        return Case(
            name=path.name if path.is_dir() else path.stem,
            description=str(data.get("description", "")),
            source=str(data.get("source", "")),
            watch=Watch.model_validate(watch_data),
            at=datetime.fromisoformat(str(data["at"]).replace("Z", "+00:00")),
            before=_read(file.parent, data, "before"),
            after=_read(file.parent, data, "after"),
            labels=tuple(expected["labels"]),
            facts=tuple(expected.get("facts", ())),
            known_miss=data.get("known_miss"),
        )
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a valid case: {exc}") from exc


def case_paths(folder: Path) -> list[Path]:
    """Every case under `folder`, in name order."""
    paths = [p for p in folder.iterdir() if (p / CASE_FILE).is_file()]
    paths += [
        p
        for p in folder.iterdir()
        if p.suffix == ".json" and p.is_file() and p.name != "baseline.json"
    ]
    return sorted(paths, key=lambda p: p.name)


def _same_model(one: dict[str, Any], other: dict[str, Any]) -> bool:
    if one.get("model") == other.get("model"):
        return True
    return "model" in one and "model" in other and model_key(one) == model_key(other)


def fact_matches(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    """Every field the label gives, read alike; a model's identity compared as the registry keys
    it, so `gpt-35-turbo` with version `0613` is the same model as `gpt-35-turbo-0613`."""
    identity: tuple[str, ...] = ("model",)
    if "model" in expected and actual.get("model") != expected["model"]:
        if "model" not in actual or model_key(expected) != model_key(actual):
            return False
        identity = ("model", "version")  # the version is in the id the other side writes
    return all(actual.get(key) == value for key, value in expected.items() if key not in identity)


def run_case(case: Case) -> Outcome:
    from monitor.classify import classify_change
    from monitor.diff import diff_texts

    try:
        diff = diff_texts(case.before, case.after)
        result = classify_change(diff, case.before, case.after, case.watch, at=case.at)
    except Exception as exc:  # noqa: BLE001 - a broken rule is reported per case, the run goes on
        return Outcome(case, error=f"{type(exc).__name__}: {exc}")
    facts = result.facts
    missing = [f for f in case.facts if not any(fact_matches(f, a) for a in facts)]
    return Outcome(case, result.labels, result, missing_facts=missing)


def evaluate(folder: Path) -> Report:
    """Run every case in `folder`. A case that cannot be read counts as an error."""
    start = time.perf_counter()
    outcomes = []
    for path in case_paths(folder):
        try:
            case = load_case(path)
        except ValueError as exc:
            placeholder = Case(path.name, "", "", Watch(id="case", url="https://example.com/"),
                               datetime.now().astimezone(), "", "", (), ())  # fmt: skip
            outcomes.append(Outcome(placeholder, error=str(exc)))
            continue
        outcomes.append(run_case(case))
    return Report(outcomes, time.perf_counter() - start)


def corpus_sha256(folder: Path) -> str:
    """One hash over every case file, so an edited case is noticed by the baseline."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "baseline.json"):
        if path.suffix == ".py":
            continue
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def regressions(report: Report, baseline: dict[str, Any], epsilon: float = 0.0005) -> list[str]:
    """One line per label whose precision or recall fell below its pinned floor."""
    problems = []
    labels = report.per_label()
    for label, floors in baseline.get("floors", {}).items():
        measured = labels.get(label, {"precision": 1.0, "recall": 0.0})
        for metric in ("precision", "recall"):
            if measured[metric] + epsilon < floors[metric]:
                problems.append(
                    f"{label}: {metric} {measured[metric]:.3f} below the pinned floor "
                    f"{floors[metric]:.3f}"
                )
    found, total = report.facts_found("retirement")
    floor = baseline.get("retirement_facts_found", 0)
    if found < floor:
        problems.append(f"retirement facts: {found}/{total} found, below the pinned {floor}")
    return problems


def format_report(report: Report) -> str:
    """Precision and recall per label, then every case that did not come out as expected."""
    lines = [f"{'label':<18} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}"]
    for label, m in report.per_label().items():
        lines.append(
            f"{label:<18} {m['precision']:>9.3f} {m['recall']:>7.3f} "
            f"{m['tp']:>4} {m['fp']:>4} {m['fn']:>4}"
        )
    found, total = report.facts_found("retirement")
    lines.append(f"retirement facts found: {found}/{total}")
    lines.append(format_headline(report))
    lines.append(f"{len(report.outcomes)} cases in {report.seconds:.2f}s")
    for outcome in report.outcomes:
        if outcome.error is not None:
            lines.append(f"ERROR {outcome.case.name}: {outcome.error}")
        elif not outcome.ok:
            got, want = ", ".join(outcome.labels) or "-", ", ".join(outcome.case.labels) or "-"
            known = " (known)" if outcome.case.known_miss else ""
            lines.append(f"MISS{known}  {outcome.case.name}: got {got}; expected {want}")
            lines += [f"      missing fact {json.dumps(f)}" for f in outcome.missing_facts]
    return "\n".join(lines)


def format_headline(report: Report) -> str:
    h = report.headline()
    return (
        f"retirements (model + shutdown date): {h['retirements_found']}/"
        f"{h['retirements_expected']} ({100 * h['retirement_recall']:.1f}%); model_retirement "
        f"precision {h['model_retirement_right']}/{h['model_retirement_labelled']} "
        f"({100 * h['model_retirement_precision']:.1f}%)"
    )


def format_pages(report: Report) -> str:
    """Per page: cases right, the headline figures, each label's precision and recall that is
    not perfect; then the rules and the pages that support them, and leave-one-page-out."""
    lines = []
    held = report.leave_one_page_out()
    for page, part in report.pages().items():
        right = sum(1 for o in part.outcomes if o.ok)
        lines.append(f"{page}: {right}/{len(part.outcomes)} cases right; {format_headline(part)}")
        for label, m in part.per_label().items():
            if m["fp"] or m["fn"]:
                lines.append(
                    f"  {label:<18} precision {m['precision']:.3f} recall {m['recall']:.3f} "
                    f"(tp {m['tp']}, fp {m['fp']}, fn {m['fn']})"
                )
        h = held[page]
        lines.append(
            f"  leave this page out: {h['held_out']}/{h['right_labels']} right labels still "
            "given by a rule other pages' cases support"
        )
    lines.append("rules and the pages whose cases they give right labels:")
    for rule, pages in report.rule_support().items():
        flag = "  ONE PAGE ONLY" if len(pages) == 1 else ""
        listed = ", ".join(f"{page} {n}" for page, n in sorted(pages.items()))
        lines.append(f"  {rule}: {len(pages)} pages ({listed}){flag}")
    return "\n".join(lines)


def write_baseline(folder: Path, report: Report, *, allow_regression: bool = False) -> Path:
    """Pin `report` as `folder`/baseline.json, atomically."""
    path = folder / "baseline.json"
    data = pin(report, folder, allow_regression=allow_regression)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def pin(report: Report, folder: Path, *, allow_regression: bool = False) -> dict[str, Any]:
    """The baseline for `report`. Refuses to lower a floor unless `allow_regression`."""
    path = folder / "baseline.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    if old and not allow_regression and regressions(report, old):
        raise ValueError("refusing to lower a floor: " + "; ".join(regressions(report, old)))
    floors = {
        label: {"precision": m["precision"], "recall": m["recall"]}
        for label, m in report.per_label().items()
    }
    return {
        "corpus_sha256": corpus_sha256(folder),
        "cases": len(report.outcomes),
        "floors": floors,
        "retirement_facts_found": report.facts_found("retirement")[0],
    }
