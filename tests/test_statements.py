"""What a retirement sentence retires: a model, or a feature, parameter or role of one."""

from __future__ import annotations

import pytest

from monitor.classify.lifecycle import model_hits
from monitor.classify.statements import retires_a_model


@pytest.mark.parametrize(
    "sentence",
    [
        "Gemini 2.0 Flash and 2.0 Flash-Lite are discontinued and are no longer available.",
        "We are deprecating gpt-4o, gpt-4 and gpt-3.5; they will stop working on 09/30/2026.",
        "Claude Opus 3 will be retired on January 5, 2026.",
        "Claude Sonnet 3.5 (`claude-3-5-sonnet-20240620`) is deprecated.",
        "We will discontinue support for gpt-3.5-turbo-0301 on June 13, 2024.",
        "The following models will be retired:",
        "This model was retired April 20, 2026.",
        "Access to these models will be shut down on the dates below.",
        "Notified developers using Claude Haiku 3 of its upcoming retirement on the Claude API.",
        # a family no recogniser knows, found by its id's shape
        "quill-lite-2 will be shut down on June 1, 2026.",
        "We are retiring quill-lite-2 on June 1, 2026.",
        # the subject's head stands for models: what follows "of" or "for" is whose they are
        "Support for gpt-3.5-turbo-0301 will be discontinued on June 13, 2024.",
        "All versions of gpt-4-0613 will be retired on June 6, 2025.",
        # a noun, like "retirement": a field's label, not a thing that retires
        "Discontinuation date: March 31, 2027",
        "Discontinuation date: Not before May 19, 2027",
    ],
)
def test_a_model_retires(sentence: str) -> None:
    assert retires_a_model(sentence, model_hits(sentence))


@pytest.mark.parametrize(
    "sentence",
    [
        # the object of the provider's verb is a feature; the models are whose it was
        "We're retiring the 1M token context window beta for Claude Sonnet 4.5 and Claude "
        "Sonnet 4 on **April 30, 2026**.",
        "We've retired the 1M token context window beta (`context-1m-2025-08-07`) for Claude "
        "Sonnet 4.5 and Claude Sonnet 4.",
        # the subject of a passive verb is a parameter, in a clause of its own
        'Opus 4.6 recommends adaptive thinking; manual thinking (`type: "enabled"` with '
        "`budget_tokens`) is deprecated.",
        # the model loses one role, not its existence
        "Gemini 3 Flash (`gemini-3-flash-preview`) is no longer supported as a model backend "
        "for CodeMender.",
        # the subject's head is a capability; the models after "for" or "of" are whose it is
        "Fine-tuning for the `gpt-4o-mini` and `command-r` models is being retired.",
        "Fine-tuning of gpt-4o-mini will be deprecated on June 1, 2026.",
    ],
)
def test_something_else_retires(sentence: str) -> None:
    assert not retires_a_model(sentence, model_hits(sentence))
