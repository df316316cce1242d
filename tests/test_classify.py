"""The classifier's cases, its quality gate, and the parts a case cannot pin down alone.

Every case under tests/fixtures/classify is one self-describing file (or folder): its labels must
come out exactly, every fact it lists must be found (a retirement by model id and shutdown date),
every label must carry findings, and every quoted sentence must be a substring of the stored
text. The gate then scores all cases together against the floors pinned in baseline.json.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.classify import RULES, classify_change, classify_event
from monitor.classify.dates import find_dates
from monitor.classify.names import find_models, same_model
from monitor.classify.records import parse_records
from monitor.config import Watch
from monitor.diff import diff_texts
from monitor.evaluate import (
    Outcome,
    Report,
    case_paths,
    corpus_sha256,
    evaluate,
    fact_matches,
    load_case,
    regressions,
)
from monitor.evaluate import run_case as run
from monitor.models import DiffStats, TextDiff

CASES = Path(__file__).parent / "fixtures" / "classify"
BASELINE = json.loads((CASES / "baseline.json").read_text())
AT = datetime(2026, 4, 27, 18, 2, tzinfo=UTC)


def as_read(text: str) -> str:
    """The text a finding quotes from: a feed stored as raw XML is quoted as its records read
    (entities decoded, markup dropped), as the extracted feed would be stored."""
    records = parse_records(text)
    if records is None:
        return text
    fields = [
        value for same in records.records.values() for item in same for value in item.values()
    ]
    return "\n".join([text, *fields])


def watch(kind: str = "policy", **more: object) -> Watch:
    return Watch.model_validate({"id": "w", "url": "https://example.com/p", "kind": kind, **more})


@pytest.fixture(scope="module")
def report() -> Report:
    return evaluate(CASES)


@pytest.fixture(scope="module")
def outcomes(report: Report) -> dict[str, Outcome]:
    return {outcome.case.name: outcome for outcome in report.outcomes}


@pytest.mark.parametrize("name", [path.name.removesuffix(".json") for path in case_paths(CASES)])
def test_case(name: str, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[name]
    case = outcome.case
    assert outcome.error is None, outcome.error
    if case.known_miss:
        assert not outcome.ok, "this case now passes: remove its known_miss"
        pytest.xfail(case.known_miss)
    assert case.description and case.source, "a case says what it is and where it came from"
    assert sorted(outcome.labels) == sorted(case.labels), case.description
    assert not outcome.missing_facts, f"facts not found: {outcome.missing_facts}"
    result = outcome.classification
    assert result is not None
    if not case.labels:
        assert result.findings == () and result.summary.startswith("noise")
        return
    for label in result.labels:
        assert any(f.label == label for f in result.findings), f"{label} carries no finding"
    for finding in result.findings:
        assert finding.rule and finding.reason
        if finding.rule.startswith("policy."):
            after, before = as_read(case.after), as_read(case.before)
            assert finding.fragment in after or finding.fragment in before
            assert finding.new is None or finding.new in after or finding.label != "policy_text"
            assert finding.old is None or finding.old in before or finding.label != "policy_text"
    assert 0.0 <= result.score <= 1.0
    assert result.score == pytest.approx(sum(result.score_factors.values()), abs=0.002)
    assert result.summary and "\n" not in result.summary


def test_every_retirement_in_the_cases_is_found_with_its_id_and_date(
    outcomes: dict[str, Outcome],
) -> None:
    expected = [
        (name, fact)
        for name, outcome in outcomes.items()
        for fact in outcome.case.facts
        if fact["kind"] == "retirement" and not outcome.case.known_miss
    ]
    assert len(expected) >= 50
    for name, fact in expected:
        result = outcomes[name].classification
        assert result is not None
        identity = {key: fact[key] for key in ("model", "version") if key in fact}
        assert any(
            f["kind"] == "retirement"
            and fact_matches(identity, f)
            and f.get("shutdown_date") == fact.get("shutdown_date")
            for f in result.facts
        ), (name, fact)


def test_gate_precision_and_recall_per_label_stay_above_the_pinned_floors(report: Report) -> None:
    assert not report.errors
    assert corpus_sha256(CASES) == BASELINE["corpus_sha256"], (
        "the cases changed: review the change, then re-pin with "
        "`monitor eval tests/fixtures/classify --pin`"
    )
    assert regressions(report, BASELINE) == []
    labels = report.per_label()
    assert labels["noise"]["fp"] == 0 and labels["noise"]["fn"] == 0
    assert labels["model_retirement"]["recall"] == 1.0


def test_the_gate_notices_a_rule_that_stops_firing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(RULES, "versions.marker")
    problems = regressions(evaluate(CASES), BASELINE)
    assert any(line.startswith("version_bump: recall") for line in problems)


@pytest.mark.parametrize(
    ("text", "iso", "qualifier"),
    [
        ("retire on June 13, 2024.", "2024-06-13", None),
        ("Shutdown 2024-06-13", "2024-06-13", None),
        ("shut down on 13 June 2024", "2024-06-13", None),
        ("removal on Jun 13, 2024", "2024-06-13", None),
        ("On March 24th, 2026, we notified", "2026-03-24", None),
        ("2026年4月27日をもって提供を終了します", "2026-04-27", None),
        ("Not sooner than October 22, 2026", "2026-10-22", "not sooner than"),
        ("No sooner than 2026-10-22", "2026-10-22", "not sooner than"),
        ("2026-07-14 (tentative)", "2026-07-14", "tentative"),
        ("August 1, 2026 (all regions)", "2026-08-01", "(all regions)"),
        ("May 19, 2027 or later", "2027-05-19", "no earlier than"),
        ("2026-11-17, or after", "2026-11-17", "no earlier than"),
        ("Fri, 27 Mar 2026 04:35:46 GMT", "2026-03-27", None),
    ],
)
def test_dates_in_the_forms_pages_write_them(text: str, iso: str, qualifier: str | None) -> None:
    (hit,) = find_dates(text)
    assert (hit.iso, hit.qualifier) == (iso, qualifier)
    assert text[hit.start : hit.end] == hit.text


def test_impossible_dates_are_not_dates() -> None:
    assert find_dates("February 30, 2026 and 2026-13-01") == []


NAMES = [
    ("GPT-4o and GPT‑4.1 mini", "gpt-4o gpt-4.1-mini"),
    ("Claude 3 Opus, Claude Haiku 3.5, Claude Opus 4.5",
     "claude-3-opus claude-3-5-haiku claude-opus-4-5"),
    ("the Claude Opus 3 model (`claude-3-opus-20240229`)", "claude-3-opus-20240229"),
    ("gpt-4-0314, text-davinci-003, o1-preview, claude-2.1",
     "gpt-4-0314 text-davinci-003 o1-preview claude-2.1"),
    ("gemini-1.5-pro-002 and Gemini 3.6 Flash and 3.5 Flash-Lite",
     "gemini-1.5-pro-002 gemini-3.6-flash gemini-3.5-flash-lite"),
    ("Llama 3.3 70B Instruct, Grok 4.6, OpenAI o4-mini", "llama-3.3-70b-instruct grok-4.6 o4-mini"),
    ("Grok 4.1 family (including `xai/grok-4.1-fast-reasoning`)", "xai/grok-4.1-fast-reasoning"),
    ("claude-code, gemini-cli and the context-1m-2025-08-07 header", ""),
    ("ChatGPT での GPT-4o および GPT-4.1 の提供を終了", "gpt-4o gpt-4.1"),
    ("Claude Sonnet 4 (deprecated), Opus 4 (deprecated), and prior releases",
     "claude-sonnet-4 claude-opus-4"),
    ("Claude Opus 4.6 and Sonnet 4.6 support", "claude-opus-4-6 claude-sonnet-4-6"),
    ("Claude Mythos Preview is available as a gated research preview", "claude-mythos-preview"),
    ("the ant CLI, a command-line client, and command-r", "command-r"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "ids"), NAMES)
def test_model_names_normalise_to_provider_ids(text: str, ids: str) -> None:
    assert [hit.id for hit in find_models(text)] == ids.split()


def test_same_model_allows_date_and_version_suffixes_only() -> None:
    assert same_model("claude-3-opus", "claude-3-opus-20240229")
    assert same_model("claude-3-haiku", "claude-3-haiku@20240307")
    assert not same_model("gpt-4o", "gpt-4o-mini")


RETIRE = """# Retiring GPT-4o in ChatGPT
On {date}, we will retire GPT-4o from ChatGPT.
"""


@pytest.mark.parametrize(
    ("date", "severity"), [("June 12, 2026", "critical"), ("June 12, 2027", "major")]
)
def test_a_retirement_within_90_days_is_critical(date: str, severity: str) -> None:
    before, after = "# GPT-4o in ChatGPT\n", RETIRE.format(date=date)
    result = classify_change(diff_texts(before, after), before, after, watch("lifecycle"), at=AT)
    assert result.labels == ("model_retirement",) and result.severity == severity


def test_per_watch_severity_overrides_and_cosmetic_is_info() -> None:
    before = "# Policy\nWe will review this policy once a year.\n"
    after = "# Policy\nWe will review this policy once a year .\n"
    cosmetic = classify_change(diff_texts(before, after), before, after, watch(), at=AT)
    assert cosmetic.labels == ("cosmetic",) and cosmetic.severity == "info"
    loud = watch(severity={"cosmetic": "minor"})
    assert (
        classify_change(diff_texts(before, after), before, after, loud, at=AT).severity == "minor"
    )
    reworded = after.replace("once a year .", "twice a year.")
    policy = classify_change(diff_texts(before, reworded), before, reworded, watch(), at=AT)
    assert policy.labels == ("policy_text",) and policy.severity == "major"
    assert policy.findings[0].fragment == "We will review this policy twice a year."
    assert policy.findings[0].old == "We will review this policy once a year."


def test_classification_is_deterministic_and_works_without_hunks() -> None:
    case = load_case(CASES / "rsp-version-3-0-to-3-1.json")
    first = run(case).classification
    assert first == run(case).classification
    bare = TextDiff(hunks=(), stats=DiffStats(0, 0, 0, 0, 0), sections=())
    again = classify_change(bare, case.before, case.after, case.watch, at=case.at)
    assert again.labels == first.labels and again.facts == first.facts


def test_identical_texts_are_noise() -> None:
    empty = TextDiff(hunks=(), stats=DiffStats(0, 0, 0, 0, 0), sections=())
    assert classify_change(empty, "# A\n", "# A\n", watch(), at=AT).labels == ()


def test_events_carry_their_label_a_finding_and_the_watch_override() -> None:
    event = classify_event("page_gone", watch(), "https://example.com/p answers 404")
    assert event.labels == ("page_gone",) and event.severity == "major"
    assert event.findings[0].label == "page_gone"
    quiet = classify_event("fetch_problem", watch(severity={"fetch_problem": "info"}), "timeout")
    assert quiet.severity == "info"


def test_a_case_that_cannot_be_read_says_why(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"watch": {"kind": "policy"}}')
    with pytest.raises(ValueError, match="bad.json: not a valid case"):
        load_case(tmp_path / "bad.json")


@pytest.mark.parametrize(
    "body",
    ["[" * 50000 + "](" * 20000, "a-" * 50000, "GPT-" * 30000, "June 13, 2024 " * 8000],
    ids=["brackets", "dashes", "names", "dates"],
)
def test_pathological_lines_stay_fast(body: str) -> None:
    """A page of one enormous line must not make any rule backtrack or align for minutes."""
    before, after = f"# T\n{body}\n", f"# T\n{body} x\n"
    start = time.perf_counter()
    result = classify_change(diff_texts(before, after), before, after, watch(), at=AT)
    assert result.labels and time.perf_counter() - start < 20


def test_removed_rows_still_named_by_another_row_are_not_entries_removed() -> None:
    """Past the first removed rows (looked up one by one) the rest are looked up in an index of
    the new page's rows: both say a model another row still lists is not removed."""
    header = ["| Model | Status | Shutdown |", "| --- | --- | --- |"]
    rows = [f"| Sable Video {n} | deprecated | 2027-01-{n % 28 + 1:02d} |" for n in range(60)]
    offered = ["## Offered", "", "| Model | Region |", "| --- | --- |", "| Sable-Video 5 | eu |",
               "| Sable-Video 30 | us |"]  # fmt: skip
    old = "\n".join(["# Models", "", *offered, "", "## Retiring", "", *header, *rows])
    new = "\n".join(["# Models", "", *offered, "", "## Retiring", "", *header, *rows[40:]])
    watch = Watch(id="w", url="https://example.com/", kind="lifecycle")
    result = classify_change(diff_texts(old, new), old, new, watch, at=AT)
    removed = {fact["item"] for fact in result.facts if fact["kind"] == "entry_removed"}
    assert removed == {f"sable-video-{n}" for n in range(40) if n not in (5, 30)}


def test_the_row_index_answers_as_reading_every_row_would() -> None:
    """Over every case's tables: whether a row of the new text names a model, asked of the
    rows holding the model's words, is what reading every row's models says."""
    from monitor.classify.context import build_context
    from monitor.classify.names import cell_models
    from monitor.classify.still_listed import _RowIndex
    from monitor.classify.tables import named, tables_of

    tricky = "\n".join([
        "## Names", "", "| Model | Shutdown |", "| --- | --- |", "| Claude 2 | TBD |",
        "| **Sable** Video 7 | 2026-01-01 |", "| gpt\\-4o | 2026-01-01 |",
        "| veo-3.0-fast-generate-previewveo-3.0-generate-preview | 2026-01-01 |",
        "| Llama 3.1 70B Instruct | 2026-01-01 |", "", "## gpt-4o-mini", "",
        "| Version | Lifecycle status | Retirement date |", "| --- | --- | --- |",
        "| 2024-07-18 | Retiring | 2026-03-31 |",
    ])  # fmt: skip
    lifecycle = Watch(id="w", url="https://example.com/", kind="lifecycle")
    pairs = [(case.before, case.after, case.watch) for case in map(load_case, case_paths(CASES))]
    asked = 0
    for before, after, watch in [*pairs, ("", tricky, lifecycle), (tricky, "", lifecycle)]:
        if "|" not in before + after:
            continue
        diff = diff_texts(before, after)
        ctx = build_context(diff, before, after, watch, at=AT)
        rows = [(table, row) for table in tables_of(ctx, "new") for row in table.rows]
        every = {model for found in rows for model in cell_models(named(*found), names=True)}
        old = build_context(diff, after, before, watch, at=AT)
        old_rows = [(table, row) for table in tables_of(old, "new") for row in table.rows]
        models = {model for found in old_rows for model in cell_models(named(*found), names=True)}
        for model in sorted(models | every | {m + "-2" for m in every}):
            index = _RowIndex(ctx, tables_of(ctx, "new"))
            answer = index.lists(model)
            assert answer is None or answer == (model in every), model
            asked += answer is not None
    assert asked > 10000, asked


def test_removed_ids_past_the_searches_budget_are_read_from_every_id_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past `_SWEEPS` removed rows, an id still written in the new text is found among every id
    the text holds, read once, instead of a search of the whole text per row: the same rows
    come out removed either way."""
    from monitor.classify import still_listed

    header = ["| Model | Status | Shutdown |", "| --- | --- | --- |"]
    rows = [f"| quill-{n}-x{n % 7} | deprecated | 2027-01-{n % 28 + 1:02d} |" for n in range(260)]
    kept = "The ids `quill-3-x3`, quill-250-x5 and (quill-251-x6) still answer requests."
    old = "\n".join(["# Models", "", "## Retiring", "", *header, *rows])
    new = "\n".join(["# Models", "", kept, "", "## Retiring", "", *header, *rows[255:]])
    watch = Watch(id="w", url="https://example.com/", kind="lifecycle")

    def removed() -> set[str]:
        result = classify_change(diff_texts(old, new), old, new, watch, at=AT)
        return {fact["item"] for fact in result.facts if fact["kind"] == "entry_removed"}

    by_budget = removed()
    monkeypatch.setattr(still_listed, "_SWEEPS", 10**9)  # a search of the whole text per row
    assert by_budget == removed()
    assert by_budget == {f"quill-{n}-x{n % 7}" for n in range(255) if n not in (3, 250, 251)}
