"""Domain values that cross stages. Plain frozen dataclasses: no I/O, no tables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal


class ProblemKind(StrEnum):
    """Why a fetch gave no usable page."""

    TIMEOUT = "timeout"
    DNS = "dns"
    REFUSED = "refused"
    CONNECTION = "connection"
    HTTP_STATUS = "http_status"
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    BLOCKED = "blocked"  # bot wall, captcha, "enable JavaScript", Akamai "Access Denied"
    EMPTY = "empty"  # empty body, or an error page served with 200
    BROWSER = "browser"  # the browser fetcher failed (crash, launch failure)
    NO_LINK = "no_link"  # the watch's follow selector found no link to the document


@dataclass(frozen=True)
class FetchProblem:
    kind: ProblemKind
    message: str
    transient: bool = False


@dataclass(frozen=True)
class FetchResult:
    """What one fetch of a watch gave: a page, a 304, or a typed problem. Never raised."""

    requested_url: str
    final_url: str
    fetched_at: datetime
    duration_ms: int
    status: int | None = None
    body: bytes = b""
    charset: str | None = None  # from the Content-Type header, if any
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    not_modified: bool = False  # a 304 answered our conditional request
    problem: FetchProblem | None = None
    fetcher: str = "http"  # "http" or "browser"
    attempts: int = 1
    headers: tuple[tuple[str, str], ...] = ()  # the response's, as received (for WARC export)

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Segment:
    """One run of a word-level diff: equal, insert or delete."""

    op: Literal["equal", "insert", "delete"]
    text: str


@dataclass(frozen=True)
class Hunk:
    """A run of changed lines, with the section heading it belongs to."""

    section: str | None  # nearest heading above the hunk in the new text, e.g. "## Pricing"
    old_start: int  # 1-based line numbers
    new_start: int
    removed: tuple[str, ...]  # whole old lines
    added: tuple[str, ...]  # whole new lines
    segments: tuple[Segment, ...]  # word-level diff of removed → added


@dataclass(frozen=True)
class DiffStats:
    lines_added: int
    lines_removed: int
    lines_changed: int  # paired removed/added lines counted once
    chars_added: int
    chars_removed: int


@dataclass(frozen=True)
class TextDiff:
    hunks: tuple[Hunk, ...]
    stats: DiffStats
    sections: tuple[str, ...]  # headings touched, in document order, without repeats

    @property
    def empty(self) -> bool:
        return not self.hunks


Severity = Literal["critical", "major", "minor", "info"]
SEVERITIES: tuple[Severity, ...] = ("info", "minor", "major", "critical")


@dataclass(frozen=True)
class Finding:
    """One rule's evidence: the rule that fired, the fragment, the old and new value, facts."""

    rule: str
    label: str
    reason: str
    fragment: str = ""
    old: str | None = None
    new: str | None = None
    facts: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Classification:
    labels: tuple[str, ...]
    severity: Severity
    summary: str
    findings: tuple[Finding, ...] = ()
    score: float = 0.0
    score_factors: dict[str, float] = field(default_factory=dict)

    @property
    def facts(self) -> list[dict[str, Any]]:
        return [fact for finding in self.findings for fact in finding.facts]


# the facts the model lifecycle registry records (a model's launch, retirement, moved date, new
# replacement)
LIFECYCLE_KINDS = ("retirement", "retirement_change", "launch", "replacement_changed")


def lifecycle_facts(facts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The facts the registry records: of a lifecycle kind and naming a model."""
    return [fact for fact in facts if fact.get("kind") in LIFECYCLE_KINDS and fact.get("model")]


def model_key(fact: Mapping[str, Any]) -> str:
    """The registry's name for a fact's model: its id, with the row's version appended when the
    id does not carry it already (gpt-35-turbo + 0613 → gpt-35-turbo-0613)."""
    model, version = str(fact["model"]), str(fact.get("version") or "")
    digits = "".join(ch for ch in version if ch.isdigit())
    if not digits or digits in "".join(ch for ch in model if ch.isalnum()):
        return model
    return f"{model}-{version}"
