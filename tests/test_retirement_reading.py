"""How retirements are read from structure: numeric dates and their order, flagged dates, the
models a table row names (ids, versions, names no list knows) and id-shaped tokens in prose."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from monitor.classify import classify_change
from monitor.classify.dates import AMBIGUOUS, IMPLAUSIBLE, find_dates, numeric_order
from monitor.classify.names import cell_models, name_as_id, unknown_ids
from monitor.config import Watch
from monitor.diff import diff_texts
from monitor.models import model_key

AT = datetime(2026, 4, 27, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "iso", "flag"),
    [
        ("they will stop working on 09/30/2026.", "2026-09-30", None),
        ("Retirement: 30/09/2026", "2026-09-30", None),
        ("04/05/2027", "2027-04-05", AMBIGUOUS),
        ("2525/06/06", "2525-06-06", IMPLAUSIBLE),
        ("June 6, 2525", "2525-06-06", IMPLAUSIBLE),
        ("2025/11/30", "2025-11-30", None),
    ],
)
def test_numeric_and_mistyped_dates_are_read_and_flagged(
    text: str, iso: str, flag: str | None
) -> None:
    (hit,) = find_dates(text)
    assert (hit.iso, hit.flag) == (iso, flag)


def test_a_date_without_its_year_takes_the_dated_headings_year() -> None:
    from monitor.classify.dates import YEAR_FROM_CONTEXT, yearless_date

    found = yearless_date("It will be removed on August 14.", "2025-07-14")
    assert found is not None and (found.iso, found.flag) == ("2025-08-14", YEAR_FROM_CONTEXT)
    later = yearless_date("It shuts down on Jan. 5th, after the holidays.", "2025-12-01")
    assert later is not None and later.iso == "2026-01-05"  # before the heading: the next year
    assert yearless_date("It shuts down on August 14, 2026.", "2025-07-14") is None


def test_a_month_without_a_day_is_its_first_day_and_says_so() -> None:
    from monitor.classify.dates import MONTH_ONLY, month_year_date

    found = month_year_date("It will be retired in March 2026; use omni-moderation-latest.")
    assert found is not None and (found.iso, found.flag, found.text) == (
        "2026-03-01",
        MONTH_ONLY,
        "March 2026",
    )
    assert month_year_date("It will be retired soon.") is None


def test_a_cell_with_a_two_digit_year_is_read_as_this_century() -> None:
    from monitor.classify.dates import short_year_date

    hit = short_year_date(" 03/31/25 ")
    assert hit is not None and (hit.iso, hit.flag) == ("2025-03-31", None)
    ambiguous = short_year_date("12/03/24")
    assert ambiguous is not None and ambiguous.flag == AMBIGUOUS
    assert (ambiguous.iso, ambiguous.day_first) == ("2024-12-03", "2024-03-12")
    assert short_year_date("v1/2/25") is None and short_year_date("13/13/25") is None
    assert short_year_date("Shutdown on 03/31/25") is None  # only a cell that is the date


def test_a_crossed_out_date_is_no_longer_in_force() -> None:
    hits = find_dates("| m-1 | ~~2026-02-05~~ 2026-05-05 | ~~March 1, 2026~~ |")
    assert [hit.iso for hit in hits] == ["2026-05-05"]


def test_an_ambiguous_date_keeps_its_other_reading() -> None:
    (hit,) = find_dates("No earlier than 03/04/2027")
    assert hit.qualifier == "no earlier than" and hit.day_first == "2027-04-03"


def test_the_page_decides_the_order_of_its_numeric_dates() -> None:
    assert numeric_order("| a | 07/21/2026 | 10/15/2026 | 03/04/2027 |") == "month first"
    assert numeric_order("21/07/2026 and 15/10/2026, then 03/04/2027") == "day first"
    assert numeric_order("03/04/2027 only") is None
    assert find_dates("version 1.2/3/2026") == []


def test_a_row_names_its_model_by_its_id_column_first() -> None:
    row = {"model": "Mistral Large 24.11", "model_id": "`mistral-large-2411`"}
    assert cell_models(row, names=True) == ["mistral-large-2411"]
    assert cell_models({"model": "Codestral Mamba", "model_id": "open-codestral-mamba"},
                       names=True) == ["open-codestral-mamba"]  # fmt: skip
    assert cell_models({"model": "Claude 3.5 Sonnet v2"}, names=True) == ["claude-3-5-sonnet-v2"]


def test_a_name_no_list_knows_is_a_model_only_where_names_count() -> None:
    assert cell_models({"model": "Jamba 1.5 Large"}, names=True) == ["jamba-1.5-large"]
    assert cell_models({"model": "Jamba 1.5 Large"}, names=False) == []
    assert cell_models({"model": "nimbus-large-v1"}, names=False) == ["nimbus-large-v1"]
    assert name_as_id("Sable Video") == "sable-video"
    assert name_as_id("A sentence that is much too long to be a name") is None
    assert name_as_id(":heavy_check_mark:") is None


def test_id_shaped_tokens_of_any_family() -> None:
    text = "We are deprecating text-moderation-007, quill-lite-2 and utf-8 on v1.2; see x-api-3."
    assert unknown_ids(text) == ["text-moderation-007", "quill-lite-2"]
    assert unknown_ids("on 2026-09-30 at docs.example.com/model-2") == []


def test_the_registry_keeps_a_version_the_id_does_not_carry() -> None:
    assert model_key({"model": "gpt-35-turbo", "version": "0613"}) == "gpt-35-turbo-0613"
    assert model_key({"model": "mistral-large-2411", "version": "24.11"}) == "mistral-large-2411"
    assert model_key({"model": "gpt-4o"}) == "gpt-4o"


@pytest.mark.parametrize(
    "body",
    ["We are deprecating " + "a1-" * 30000 + "/", "| m | " + "04/05/" * 20000 + " |"],
    ids=["id-shaped", "numeric-dates"],
)
def test_pathological_retirement_lines_stay_fast(body: str) -> None:
    """One enormous line read as a retirement sentence or a table row must not backtrack."""
    watch = Watch.model_validate({"id": "w", "url": "https://example.com/", "kind": "lifecycle"})
    before, after = f"# T\n{body}\n", f"# T\n{body} x\n"
    start = time.perf_counter()
    result = classify_change(diff_texts(before, after), before, after, watch, at=AT)
    assert result.labels and time.perf_counter() - start < 20


def test_a_launch_is_dated_by_the_entry_that_launches_the_model() -> None:
    """A newer entry where a feature 'is available on' the model does not launch it: the launch
    takes the date and surface of the entry that says the model itself was launched."""
    old = "# Release notes\n\n### May 1, 2026\n- We've raised rate limits.\n"
    new = (
        "# Release notes\n\n### July 15, 2026\n"
        "- Mid-conversation system messages are available on Claude Fable 5, on the Claude API "
        "and Claude in Amazon Bedrock.\n\n"
        "### June 9, 2026\n"
        "- We've launched **Claude Fable 5** (`claude-fable-5`), alongside **Claude Mythos 5** "
        "(`claude-mythos-5`).\n\n"
        "### May 1, 2026\n- We've raised rate limits.\n"
    )
    watch = Watch(id="notes", url="https://example.com/notes", kind="index")
    result = classify_change(diff_texts(old, new), old, new, watch, at=AT)
    launches = {f["model"]: f for f in result.facts if f["kind"] == "launch"}
    assert set(launches) == {"claude-fable-5", "claude-mythos-5"}
    assert {(f["released"], f["surface"]) for f in launches.values()} == {("2026-06-09", "api")}


def test_a_launch_sentence_that_calls_an_unknown_name_a_model_launches_it() -> None:
    """No family is known for the name: the sentence itself says it is a model, by apposition
    between its subject and 'is now available'. A product that is not called a model is not."""
    old = "# Release notes\n\n## May 1, 2026\n\nFeature\n\nWe've raised rate limits.\n"
    entry = (
        "# Release notes\n\n## June 9, 2026\n\nFeature\n\n**Quillon released**\n\n"
        "{sentence}\n\n## May 1, 2026\n\nFeature\n\nWe've raised rate limits.\n"
    )
    watch = Watch(id="notes", url="https://example.com/notes", kind="index")

    def launched(sentence: str) -> list[str]:
        new = entry.format(sentence=sentence)
        result = classify_change(diff_texts(old, new), old, new, watch, at=AT)
        return [str(f["model"]) for f in result.facts if f["kind"] == "launch"]

    assert launched(
        "Quillon, a protein-folding foundation model, is now available for deployment."
    ) == ["quillon"]
    assert (
        launched("Agent Gateway, the networking component of the platform, is now available.") == []
    )
    assert launched("Quillon is now available for deployment.") == []


def test_a_stray_comma_after_the_month_is_read_and_flagged() -> None:
    from monitor.classify.dates import STRAY_COMMA

    [hit] = find_dates("| `zeta-4` | 0613 | April, 30, 2025 | |")
    assert hit is not None and (hit.iso, hit.flag, hit.text) == (
        "2025-04-30",
        STRAY_COMMA,
        "April, 30, 2025",
    )
    assert find_dates("In March, 2025 we moved.") == []
    assert find_dates("April 30, 2025")[0].flag is None


MODEL_TABLE = """# Model retirements

## Current models

| Model | Version | Retirement date |
| ---- | ---- | ---- |
| `zeta-4`<br>`zeta-4-32k` | 0613 | {x} |
| `zeta-4o` | preview-1 | {y} |
| `orca-2` | 1 | January 27, 2027 |

## Deprecated models

| Model | Deprecation date | Retirement date |
| --- | --- | --- |
{deprecated}"""


def _retirements(before: str, after: str) -> dict[tuple[str, str | None], tuple[str, str]]:
    watch = Watch(id="t", url="https://example.com/t", kind="lifecycle")
    result = classify_change(diff_texts(before, after), before, after, watch, at=AT)
    return {
        (f["model"], f.get("version")): (f["kind"], f.get("shutdown_date") or f.get("to"))
        for f in result.facts
        if f["kind"] in ("retirement", "retirement_change")
    }


def test_a_cell_s_dates_are_read_by_the_words_before_them() -> None:
    before = MODEL_TABLE.format(
        x="No earlier than July 13, 2026",
        y="To be upgraded to `zeta-4o` version: `2026-04-09`, starting no sooner than May 1, 2026",
        deprecated="| old-model | | June 1, 2026 |",
    )
    after = MODEL_TABLE.format(
        x="**Deprecation:** October 1, 2026 <br> **Retirement:** June 6, 2027",
        y="To be upgraded to `zeta-4o` version: `2026-04-09`, starting no sooner than May 1, 2026"
        " <br>Retirement date: May 15, 2026",
        deprecated="| old-model | | June 1, 2026 |",
    )
    found = _retirements(before, after)
    # a floor made a date, read by its label, not the deprecation date before it
    assert found[("zeta-4", "0613")] == ("retirement", "2027-06-06")
    assert found[("zeta-4-32k", "0613")] == ("retirement", "2027-06-06")
    # the version's date-shaped value is not the shutdown
    assert found[("zeta-4o", "preview-1")] == ("retirement", "2026-05-15")


def test_a_row_moved_under_the_deprecated_heading_is_a_deprecation_with_its_version() -> None:
    rows = dict(x="No earlier than July 13, 2026", y="No earlier than May 1, 2026")
    before = MODEL_TABLE.format(**rows, deprecated="| old-model | | June 1, 2026 |")
    after = MODEL_TABLE.format(
        **rows, deprecated="| `orca-2` - 1 | | January 27, 2027 |\n| old-model | | June 1, 2026 |"
    ).replace("| `orca-2` | 1 | January 27, 2027 |\n", "")
    found = _retirements(before, after)
    # one model, whether written orca-2 with version 1 or orca-2-1: the registry keys it orca-2-1
    keyed = {model_key({"model": model, "version": v}): read for (model, v), read in found.items()}
    assert keyed == {"orca-2-1": ("retirement", "2027-01-27")}


def test_a_model_split_out_of_a_two_model_row_with_a_later_date_is_postponed() -> None:
    rows = dict(y="No earlier than May 1, 2026", deprecated="| old-model | | June 1, 2026 |")
    before = MODEL_TABLE.format(x="February 13, 2026", **rows)
    after = MODEL_TABLE.format(x="February 13, 2026", **rows).replace(
        "| `zeta-4`<br>`zeta-4-32k` | 0613 | February 13, 2026 |",
        "| `zeta-4` | 0613 | February 13, 2026 |\n| `zeta-4-32k` | 0613 | April, 30, 2026 |",
    )
    assert _retirements(before, after) == {
        ("zeta-4-32k", "0613"): ("retirement_change", "2026-04-30")
    }


@pytest.mark.parametrize(
    ("status", "iso"),
    [
        ("Closing down: 2026-02-17", "2026-02-17"),
        ("Winding down: 30 September 2026", "2026-09-30"),
        ("Retiring 2026-02-01", "2026-02-01"),
        ("GA", None),
        ("Public preview (2026-03-01)", None),
        ("Available since 2026-01-05", None),
        ("Rolling out from 2026-07-15", None),
        ("Released 2026-01-05", None),
    ],
)
def test_a_dated_status_naming_no_served_state_is_the_rows_shutdown(
    status: str, iso: str | None
) -> None:
    from monitor.classify.row_cells import row_shutdown

    found = row_shutdown({"model": "nimbus-vision-3", "status": status})
    assert (found.iso if found else None) == iso


def test_the_first_version_seeds_each_row_of_two_that_read_as_one_model() -> None:
    from pathlib import Path

    from monitor.classify import baseline_facts

    page = Path(__file__).parent / "fixtures/classify/external/github-copilot-retirement-history"
    text = (page / "001_2025-10-28_1472523.txt").read_text(encoding="utf-8")
    watch = Watch(id="copilot-retirements", url="https://docs.example.com/models", kind="lifecycle")
    seeded = {f["model"]: f["shutdown_date"] for f in baseline_facts(text, watch, at=AT)}
    assert seeded["claude-3-7-sonnet"] == seeded["claude-3-7-sonnet-thinking"] == "2025-10-23"
    assert len(seeded) == 9  # every row of the table, none folded into another


def test_an_ids_snapshot_date_and_a_model_named_as_a_starting_point_retire_nothing() -> None:
    """A help page's policy paragraph added: "models made available since `acme-large-2026-01-15`
    retire one year after …" names a model only as the point a rule counts from, and the date
    inside its id is its snapshot, not a shutdown; a sentence that retires it does."""
    before = "# Tuned models\n\nTuned models follow their base model.\n"
    policy = (
        "For tuned models made available since `acme-large-2026-01-15`, serving retirement "
        "occurs one year after training retirement.\n"
    )
    watch = Watch(id="help", url="https://example.com/help", kind="lifecycle")
    after = before + "\n" + policy
    result = classify_change(diff_texts(before, after), before, after, watch, at=AT)
    assert [f for f in result.facts if f["kind"] == "retirement"] == []
    told = after + "\n`acme-large-2026-01-15` will be retired on 2026-09-30.\n"
    result = classify_change(diff_texts(before, told), before, told, watch, at=AT)
    dates = [
        (f["model"], f.get("shutdown_date")) for f in result.facts if f["kind"] == "retirement"
    ]
    assert dates == [("acme-large-2026-01-15", "2026-09-30")]


def test_a_display_name_goes_on_through_words_joined_by_hyphens_in_prose() -> None:
    """A changelog's sentence names a model as its product page writes it, words joined by
    hyphens ("GPT-5.1-Codex-Max"): the model is that whole name, not the family's first part;
    a lower-case word after a hyphen ("GPT-5-based") is no part of it."""
    before = "# Changelog\n\nNothing yet.\n"
    after = (
        before + "\nGPT-5.1-Codex-Max will be retired on June 1, 2026. GPT-5-based tools stay.\n"
    )
    watch = Watch(id="changelog", url="https://example.com/changelog", kind="lifecycle")
    result = classify_change(diff_texts(before, after), before, after, watch, at=AT)
    dates = [
        (f["model"], f.get("shutdown_date")) for f in result.facts if f["kind"] == "retirement"
    ]
    assert dates == [("gpt-5.1-codex-max", "2026-06-01")]
