"""What a retirement sentence retires: the thing its retirement verb is said of.

A sentence may name models and still retire something else: "We're retiring the 1M token context
window beta for Claude Sonnet 4.5 on April 30" retires a beta feature of those models, "manual
thinking (`budget_tokens`) is deprecated" a parameter, "X is no longer supported as a model
backend for CodeMender" one role of X. The verb's subject ("X is deprecated", "X will retire")
or, when the subject is the provider ("we are retiring X"), its object is what retires; a
phrase naming no model there ("the 1M token context window beta") makes the sentence a
retirement of that thing, and the models after "for" or "on" (of an object) or "for" or "of"
(of a subject: "Fine-tuning for the X models is being retired") are whose it was. A noun
("the retirement of X", "deprecation announcement") is read as before: it says nothing of its
subject, so it never excludes a model."""

from __future__ import annotations

import re

from monitor import patterns as p
from monitor.classify.names import provider_of
from monitor.classify.text import normalise

# the auxiliaries between a subject and its retirement verb: "will be", "is now", "are being"
_CHAIN = re.compile(
    r"(?:\b(?:will|shall|would|is|are|was|were|be|been|being|has|have|had|now|to|going|plans?"
    r"|planning|soon|officially|also|then|not)\b\s*|(?<=\w)'(?:re|ve|ll|s)\s*)+$",
    re.I,
)
_PROVIDER_SUBJECT = re.compile(r"(?:^|\W)(?:we|i|our team)\W*$", re.I)
_NOUN_FORM = re.compile(
    r"^(?:retirement|deprecation|discontinuation|shutdown|sunset|removal|end|requests?\b)", re.I
)
# where the object of an active verb ends: a preposition that says for whom, when or where
_OBJECT_END = re.compile(
    r"\s(?:for|on|in|from|by|to|across|at|with|after|before|starting|effective|until|as of"
    r"|and|which|that|so)\b|[,;:!?]|\.(?:\s|$)",
    re.I,
)
# words that stand for models, or for a model's whole availability ("support for X")
_MODEL_NOUNS = re.compile(
    r"\b(?:models?|versions?|snapshots?|checkpoints?|variants?|aliases?|endpoints?|support"
    r"|access|availability|it|its|them|they|these|those|this|following|all)\b",
    re.I,
)
# where a subject's head ends: the models after "for" or "of" are whose the thing is
_WHOSE = re.compile(r"\s(?:for|of)\s", re.I)
_ROLE = re.compile(r"\s+as an?\s", re.I)  # "no longer supported as a model backend for …"
_ASIDE = re.compile(r"`[^`]*`|\([^()]*\)|\{[^{}]*\}")
_FILLER = frozenset(("the", "a", "an", "our", "your", "their", "its", "of"))
Hit = tuple[str, int, int]  # a model the sentence names: id, start, end


def _names_a_thing(text: str, start: int, end: int, hits: list[Hit]) -> bool:
    """text[start:end] has words of its own, names none of the sentence's models outside an
    aside (an id of no known family in brackets after a name is that thing's id), and does not stand for models."""
    outside = _ASIDE.sub(lambda m: " " * len(m.group(0)), text[start:end])
    for model, h_start, h_end in hits:
        inside = start <= h_start and h_end <= end
        if inside and (outside[h_start - start : h_end - start].strip() or provider_of(model)):
            return False  # a known family's id in brackets is the model the name stands for
    if _MODEL_NOUNS.search(outside):
        return False
    return any(w.lower() not in _FILLER for w in re.findall(r"[A-Za-z][\w'-]*", outside))


def _of_a_thing(text: str, start: int, match: re.Match[str], hits: list[Hit]) -> bool:
    """The retirement word `match` (in the clause starting at `start`) is said of something
    that is not a model."""
    if _NOUN_FORM.match(match.group(0)):
        return False
    if _ROLE.match(text, match.end()):
        return True
    before = text[start : match.start()]
    chain = _CHAIN.search(before)
    subject_end = start + (chain.start() if chain else len(before))
    if text[start:subject_end].strip() and not _PROVIDER_SUBJECT.search(text[start:subject_end]):
        whose = _WHOSE.search(text, start, subject_end)  # "Fine-tuning for the X models"
        head_end = whose.start() if whose and text[start : whose.start()].strip() else subject_end
        return _names_a_thing(text, start, head_end, hits)
    found = _OBJECT_END.search(text, match.end())
    return _names_a_thing(text, match.end(), found.start() if found else len(text), hits)


def retires_a_model(sentence: str, hits: list[Hit]) -> bool:
    """Whether one of the sentence's retirement words is said of a model (one of `hits`, found
    in the normalised sentence, or a word that stands for models), not only of a feature, a
    parameter or a role of them."""
    text = normalise(sentence)
    start = 0
    for clause in re.split(r"(;\s+)", text):
        if not clause.startswith(";"):
            for match in p.RETIRE_WORDS.finditer(text, start, start + len(clause)):
                if not _of_a_thing(text, start, match, hits):
                    return True
        start += len(clause)
    return False
