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
