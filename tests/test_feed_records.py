"""How the items of a deprecations feed are read as records: what names a model, which date is
a shutdown, and whose words an item's prose speaks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from monitor.classify import classify_change
from monitor.classify.facts import replacement
from monitor.classify.lifecycle import shutdown_of
from monitor.classify.names import cell_models
from monitor.config import Watch
from monitor.diff import diff_texts

AT = datetime(2026, 7, 1, tzinfo=UTC)
WATCH = Watch.model_validate(
    {"id": "feed", "url": "https://example.com/rss.xml", "kind": "lifecycle"}
)


def item(provider: str, model: str, fields: str, prose: str, guid: str) -> str:
    return (
        f"<item><title>{provider}: {model}</title><link>https://example.com/lifecycle</link>"
        f"<description>Provider: {provider}\nModel ID: {model}\n{fields}\n\n{prose}</description>"
        f"<pubDate>Wed, 01 Jul 2026 06:35:28 GMT</pubDate>"
        f'<guid isPermaLink="false">{guid}</guid></item>'
    )


def feed(*items: str) -> str:
    return (
        '<?xml version="1.0" ?>\n<rss version="2.0"><channel><title>Deprecations</title>\n'
        + "\n".join(items)
        + "\n</channel></rss>\n"
    )


def retirements(before: str, after: str) -> list[tuple[Any, Any]]:
    result = classify_change(diff_texts(before, after), before, after, WATCH, at=AT)
    return sorted(
        ((fact.get("model"), fact.get("shutdown_date")) for fact in result.facts
         if fact.get("kind") == "retirement"),
        key=str,
    )  # fmt: skip


KEPT = item("Azure", "gpt-4o", "Shutdown Date: 2026-10-01", "Azure OpenAI", "azure-gpt-4o")


def test_an_item_whose_model_is_a_date_and_regions_names_no_model() -> None:
    assert cell_models({"model": "January 30, 2026 (us-gov-east-1 Regions)"}, names=True) == []
    schedule = item(
        "AWS Bedrock",
        "January 30, 2026 (us-gov-east-1 and us-gov-west-1 Regions)",
        "Shutdown Date: 2026-04-30",
        "Model January 30, 2026 (us-gov-east-1 and us-gov-west-1 Regions). entered legacy "
        "status on 2026-04-30.",
        "bedrock-january-30",
    )
    llama = item(
        "AWS Bedrock",
        "Llama 3.2 1B Instruct",
        "Shutdown Date: 2026-07-07",
        "Model Llama 3.2 1B Instruct. entered legacy status on 2026-01-07. and will reach "
        "end-of-life on 2026-07-07.",
        "bedrock-llama",
    )
    assert retirements(feed(KEPT), feed(KEPT, schedule, llama)) == [
        ("llama-3.2-1b-instruct", "2026-07-07")
    ]


def test_entering_legacy_status_is_not_the_shutdown() -> None:
    shutdown, deprecated = shutdown_of(
        "(Claude 3.5 Sonnet). entered legacy status on 2026-01-30. and will reach end-of-life "
        "on 2026-07-30."
    )
    assert (shutdown and shutdown.iso, deprecated) == ("2026-07-30", "2026-01-30")


def test_an_items_display_name_of_its_own_model_is_not_another_model() -> None:
    bedrock = item(
        "AWS Bedrock",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "Deprecation Date: 2026-01-30\nShutdown Date: 2026-07-30",
        "Model ID anthropic.claude-3-5-sonnet-20240620-v1:0. (Claude 3.5 Sonnet). entered "
        "legacy status on 2026-01-30. and will reach end-of-life on 2026-07-30.",
        "bedrock-sonnet",
    )
    assert retirements(feed(KEPT), feed(KEPT, bedrock)) == [
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", "2026-07-30")
    ]


def test_an_item_that_announces_a_release_is_a_launch_whatever_its_date_field() -> None:
    released = item(
        "Google",
        "gemini-robotics-er-1.6-preview",
        "Deprecation Date: 2026-04-14",
        "Released gemini-robotics-er-1.6-preview , our updated robotics model.",
        "google-robotics",
    )
    retiring = item(
        "Google",
        "gemini-robotics-er-1.5-preview",
        "Deprecation Date: 2026-04-14",
        "Deprecation announcement: The gemini-robotics-er-1.5-preview model will be shut down "
        "on April 30, 2026 at 9AM PST.",
        "google-robotics-old",
    )
    before, after = feed(KEPT), feed(KEPT, released, retiring)
    result = classify_change(diff_texts(before, after), before, after, WATCH, at=AT)
    assert [x["model"] for x in result.facts if x["kind"] == "launch"] == [
        "gemini-robotics-er-1.6-preview"
    ]
    assert retirements(before, after) == [("gemini-robotics-er-1.5-preview", "2026-04-30")]


def test_the_model_an_item_names_only_as_the_successor_is_not_retiring() -> None:
    note = (
        "Several older models will be retired on May 15 at 12:00 PM PT, including "
        "`grok-4-1-fast` and `grok-4`. Requests to deprecated text model slugs will redirect to "
        "`grok-4.3` and will be charged at the standard `grok-4.3` pricing."
    )
    successor = item("xAI", "grok-4.3", "Deprecation Date: 2026-05-14", note, "xai-grok-4.3")
    retiring = item("xAI", "grok-4-1-fast", "Deprecation Date: 2026-05-14", note, "xai-grok-4-1")
    found = retirements(feed(KEPT), feed(KEPT, successor, retiring))
    assert "grok-4.3" not in {model for model, _ in found}
    assert ("grok-4-1-fast", "2026-05-15") in found


def test_a_table_row_written_as_sentences_gives_its_fields() -> None:
    def gemini(replacement: str) -> str:
        return item(
            "Google",
            "gemini-2.5-flash",
            "Deprecation Date: 2026-10-16\nShutdown Date: 2026-10-16",
            "Gemini deprecations table: Gemini 2.5 Flash models. Release date: 2025-06-17. "
            f"Shutdown date: 2026-10-16. Recommended replacement: {replacement}.",
            "google-gemini-2.5-flash",
        )

    before, after = (
        feed(KEPT, gemini("gemini-3-flash-preview")),
        feed(KEPT, gemini("gemini-3.5-flash")),
    )
    result = classify_change(diff_texts(before, after), before, after, WATCH, at=AT)
    assert [
        (x["model"], x.get("from"), x["to"])
        for x in result.facts
        if x["kind"] == "replacement_changed"
    ] == [("gemini-2.5-flash", "gemini-3-flash-preview", "gemini-3.5-flash")]


def test_a_replacement_display_name_is_read_to_its_end() -> None:
    assert replacement("Llama 4 Maverick 17B Instruct, Llama 4 Scout 17B Instruct.") == (
        "llama-4-maverick-17b-instruct or llama-4-scout-17b-instruct"
    )
    assert replacement("Claude Sonnet 4.5 instead") == "claude-sonnet-4-5"
    assert replacement("gemini-3.5-flash") == "gemini-3.5-flash"


def _titled(title: str, fields: str) -> str:
    return (
        f"<item><title>Google: {title}</title><link>https://example.com/changelog</link>"
        "<description>Provider: Google\nModel ID: imagen-4.0-generate-preview-06-06\n"
        f"{fields}Announcement Date: 2026-01-15\n\nInsufficient information provided in the "
        "deprecation notice.</description><pubDate>Fri, 16 Jan 2026 03:24:29 GMT</pubDate>"
        '<guid isPermaLink="false">google-imagen-4</guid></item>'
    )


def test_a_feed_re_exported_with_ids_for_titles_and_a_field_dropped_reads_the_same() -> None:
    """The export writes the model id as the title instead of its display name or a placeholder
    and drops the 'Model:' field (left empty where the scraper had no name): the same record."""
    before = feed(
        KEPT,
        _titled("&lt;UNKNOWN&gt;", "Model: &lt;UNKNOWN&gt;\n"),
        item("Google", "gemini-2.5-flash", "Model: Gemini 2.5 Flash\nShutdown Date: 2026-10-16",
             "Released gemini-2.5-flash.", "google-gemini-2.5-flash"),
    )  # fmt: skip
    after = feed(
        KEPT,
        _titled("imagen-4.0-generate-preview-06-06", ""),
        item("Google", "gemini-2.5-flash", "Shutdown Date: 2026-10-16",
             "Released gemini-2.5-flash.", "google-gemini-2.5-flash"),
    )  # fmt: skip
    before = before.replace(
        "<title>Google: gemini-2.5-flash</title>", "<title>Google: Gemini 2.5 Flash</title>"
    )
    result = classify_change(diff_texts(before, after), before, after, WATCH, at=AT)
    assert "model_retirement" not in result.labels and "policy_text" not in result.labels
    renamed = after.replace(
        "<title>Google: gemini-2.5-flash</title>", "<title>Google: Gemini 3 Flash</title>"
    )
    result = classify_change(diff_texts(before, renamed), before, renamed, WATCH, at=AT)
    assert "policy_text" in result.labels  # a title naming another model is a change


def test_an_item_re_keyed_with_a_version_qualifier_is_the_same_item() -> None:
    """'amazon.nova-premier-v1' published again as 'amazon.nova-premier-v1:0' with the same
    dates: the item re-keyed, neither removed nor a new retirement; with another date it is."""
    fields = "Deprecation Date: 2026-03-13\nShutdown Date: 2026-09-14"
    before = feed(KEPT, item("AWS Bedrock", "amazon.nova-premier-v1", fields, "Nova", "n-v1"))
    after = feed(KEPT, item("AWS Bedrock", "amazon.nova-premier-v1:0", fields, "Nova", "n-v10"))
    result = classify_change(diff_texts(before, after), before, after, WATCH, at=AT)
    assert "entry_removed" not in result.labels and retirements(before, after) == []
    moved = after.replace("Shutdown Date: 2026-09-14", "Shutdown Date: 2026-12-14")
    assert retirements(before, moved) == [("amazon.nova-premier-v1:0", "2026-12-14")]


def test_a_deprecation_date_filled_into_a_listed_item_is_no_announcement() -> None:
    """A feed re-exported with a 'Deprecation Date' field on items already listed (with or
    without their Shutdown Date): the feed's bookkeeping, not deprecations announced."""
    dated = item("OpenAI", "dall-e-2", "Shutdown Date: 2026-05-12", "DALL·E", "o-dall-e-2")
    bare = item("Google", "veo-3.0-generate-preview", "", "Notice", "g-veo-3")
    before = feed(KEPT, dated, bare)
    after = feed(
        KEPT,
        dated.replace("Shutdown Date:", "Deprecation Date: 2025-11-14\nShutdown Date:"),
        bare.replace("Model ID: veo-3.0-generate-preview\n", "Model ID: veo-3.0-generate-preview\n"
                     "Deprecation Date: 2025-11-11"),
    )  # fmt: skip
    result = classify_change(diff_texts(before, after), before, after, WATCH, at=AT)
    assert "model_retirement" not in result.labels, result.labels


def record(
    provider: str, name: str, shutdown: str, status: str, replacement: str = ""
) -> dict[str, str]:
    return {"provider": provider, "model_name": name, "model_id": "", "deprecated_date": "",
            "shutdown_date": shutdown, "replacement": replacement, "status": status}  # fmt: skip


def test_a_providers_block_published_again_launches_nothing() -> None:
    """Active records added beside already-retired records of the same provider are that
    provider's list coming back, not launches nor retirements; an active record a listed record
    newly names as its replacement is new, and its date is the date it retires."""
    import json

    stays = record("Acme", "acme-large-1", "2026-06-15", "deprecated", "acme-large-2")
    gains = record("Acme", "acme-small-3", "", "active")
    other = record("Other", "other-1", "2026-09-01", "deprecated")
    block = [record("Acme", "acme-mid-2", "2027-01-10", "active"),
             record("Acme", "acme-old-1", "2026-02-19", "retired", "acme-mid-2")]  # fmt: skip
    before = json.dumps([other, stays, gains], indent=2)
    after = json.dumps(
        [other, {**stays, "replacement": "acme-large-3"},
         {**gains, "shutdown_date": "2027-02-17"}, *block,
         record("Acme", "acme-large-3", "2027-04-16", "active")],
        indent=2,
    )  # fmt: skip
    watch = Watch.model_validate({"id": "records", "url": "https://example.com/d.json"})
    result = classify_change(diff_texts(before, after), before, after, watch, at=AT)
    launched = sorted(fact["model"] for fact in result.facts if fact.get("kind") == "launch")
    assert launched == ["acme-large-3"]
    assert retirements(before, after) == [
        ("acme-large-3", "2027-04-16"),
        ("acme-old-1", "2026-02-19"),
    ]


def test_an_item_re_keyed_from_its_name_to_its_id_is_the_same_item() -> None:
    """An item keyed by its display name ('Claude 3.5 Sonnet v1') published again keyed by its
    id, its words naming the old key and every date the same: the item renamed, not a new
    retirement; with another date, or words that do not name the old key, it is."""
    old = item("AWS Bedrock", "Acme Large v1", "Shutdown Date: 2026-03-01", "Legacy.", "b-name")
    words = "Model ID acme.large-20240620-v1:0. (Acme Large v1). will reach end-of-life."
    new = item("AWS Bedrock", "acme.large-20240620-v1:0", "Shutdown Date: 2026-03-01", words,
               "b-id")  # fmt: skip
    before, after = feed(KEPT, old), feed(KEPT, new)
    result = classify_change(diff_texts(before, after), before, after, WATCH, at=AT)
    assert "model_retirement" not in result.labels and retirements(before, after) == []
    assert "entry_removed" not in result.labels
    moved = after.replace("Shutdown Date: 2026-03-01", "Shutdown Date: 2026-06-01")
    assert ("acme.large-20240620-v1:0", "2026-06-01") in retirements(before, moved)
    other = after.replace("(Acme Large v1)", "(Acme Large v2)")
    assert ("acme.large-20240620-v1:0", "2026-03-01") in retirements(before, other)


def test_a_notice_re_published_later_keeps_its_year_and_tells_no_known_date() -> None:
    """An item re-published months later whose words list models under yearless dates
    ("December 2nd: a b"): the dates take the year of its deprecation date, not of its
    publication; a model the old feed already gave that date in its own item is not news."""
    listed = item("Google", "gemini-9.0-pro-exp", "Deprecation Date: 2025-11-04\nShutdown Date: "
                  "2025-12-02", "Notice.", "g-pro")  # fmt: skip
    notice = item(
        "Google", "gemini-9.0-flash-exp", "Deprecation Date: 2025-11-04", "Notice.", "g-f"
    )
    told = notice.replace(
        "Notice.", "The following models will be shut down: November 18th: gemini-9.0-lite-exp "
        "December 2nd: gemini-9.0-pro-exp gemini-9.0-flash-exp"
    ).replace("Wed, 01 Jul 2026", "Fri, 01 May 2026")  # fmt: skip
    before, after = feed(KEPT, listed, notice), feed(KEPT, listed, told)
    assert retirements(before, after) == [
        ("gemini-9.0-flash-exp", "2025-12-02"), ("gemini-9.0-lite-exp", "2025-11-18")
    ]  # fmt: skip


def test_a_family_named_beside_the_ids_it_covers_is_no_model_of_its_own() -> None:
    """A new item's words name a family in prose and the ids they retire ("preview versions of
    Llama 3 fine-tuned for tool use, `llama3-groq-8b-…`"): the ids retire, the family does not."""
    words = (
        "On January 6th, 2025, we deprecated our preview versions of Llama 3 fine-tuned for tool "
        "use, `llama3-groq-8b-8192-tool-use-preview` and `llama3-groq-70b-8192-tool-use-preview`."
    )
    added = item("Groq", "llama3-groq-8b-8192-tool-use-preview", "Shutdown Date: 2025-01-06",
                 words, "groq-8b")  # fmt: skip
    models = {model for model, _ in retirements(feed(KEPT), feed(KEPT, added))}
    assert "llama3-groq-8b-8192-tool-use-preview" in models and "llama-3" not in models


def test_a_model_and_its_dated_successor_told_twice_stay_two_models() -> None:
    """Two records (a model and its '-0905' successor, each with its own dates) that their
    words also tell: each rule's fact joins its own model's, not the other's."""
    from monitor.classify import merge_facts
    from monitor.models import Finding

    def told(rule: str, model: str, day: str) -> Finding:
        fact = {"kind": "retirement", "model": model, "event": "deprecation_announced",
                "shutdown_date": day}  # fmt: skip
        return Finding(rule, "model_retirement", model, model, None, day, (fact,))

    merged = merge_facts([
        told("rows", "kimi-k2-instruct", "2025-10-10"),
        told("rows", "kimi-k2-instruct-0905", "2026-04-15"),
        told("words", "kimi-k2-instruct", "2025-09-10"),
        told("words", "kimi-k2-instruct-0905", "2026-03-23"),
    ])  # fmt: skip
    facts = sorted((x["model"], x["shutdown_date"]) for m in merged for x in m.facts)
    assert facts == [("kimi-k2-instruct", "2025-10-10"), ("kimi-k2-instruct-0905", "2026-04-15")]
