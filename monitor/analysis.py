"""The CPU stage of a check: extract → diff → classify one fetched page, in a worker process.

`analyse_page` is what `pipeline.Checker` runs off the event loop (see `monitor.workers`). It
gets the page's bytes once and sends back only hashes, sizes, the classification and the diff's
JSON: the texts stay in the worker, which writes the bodies it decides to keep (raw snapshot and
text, written and synced) before it answers, so the rows the loop writes next always name bodies
that exist. Apart from those body files (and reading the previous version's text) it is pure:
same job in, same analysis out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from monitor import extract
from monitor.config import Watch
from monitor.diff import diff_texts, diff_to_json
from monitor.errors import ExtractError
from monitor.models import Classification, Finding, TextDiff
from monitor.snapshots import Bodies, sha256_hex

Outcome = Literal["first", "changed", "revert", "unchanged", "noise", "extract_failed"]


@dataclass(frozen=True)
class PageJob:
    """Everything the CPU stage needs about one fetched page, sent to a worker in one piece."""

    watch: Watch
    body: bytes
    raw_sha256: str
    charset: str | None
    final_url: str
    fetched_at: datetime
    bodies: Bodies
    latest_text_sha256: str | None  # None: the watch has no version yet
    earlier_versions: tuple[tuple[int, str], ...] = ()  # (seq, text sha256) before the latest
    content_type: str | None = None
    link: str | None = None  # for a followed document: the link it was found at
    volatile_shapes: frozenset[str] = frozenset()  # the watch's lines learnt as volatile
    previous_shapes: frozenset[str] = frozenset()  # lines seen changing at the previous check


@dataclass(frozen=True)
class PageAnalysis:
    """What the worker found; `diff_json` and the counts only when there is a change."""

    outcome: Outcome
    text_sha256: str = ""
    text_size: int = 0
    classification: Classification | None = None
    diff_json: dict[str, Any] | None = None
    lines_added: int = 0
    lines_removed: int = 0
    sections: tuple[str, ...] = ()
    error: str | None = None
    changed_shapes: dict[str, str] | None = None  # lines changed only in numbers, times, ids
    baseline_facts: tuple[dict[str, Any], ...] = ()  # what a first version already lists


def page_text(
    watch: Watch,
    body: bytes,
    charset: str | None,
    url: str,
    content_type: str | None = None,
    link: str | None = None,
) -> str:
    """A fetched body's text by the watch's rules; a followed document's under the line naming
    the link it was found at. Raises ExtractError."""
    text = extract.extract_text(
        body, charset=charset, base_url=url, content_type=content_type,
        **watch.extract_rules(),
    )  # fmt: skip
    return text if watch.follow is None else extract.linked_text(link or url, text)


def analyse_page(job: PageJob) -> PageAnalysis:
    watch = job.watch
    try:
        text = page_text(watch, job.body, job.charset, job.final_url, job.content_type, job.link)
    except ExtractError as exc:
        return PageAnalysis("extract_failed", error=str(exc))
    data = text.encode("utf-8")
    text_sha = sha256_hex(data)
    if text_sha == job.latest_text_sha256:
        return PageAnalysis("unchanged", text_sha, len(data))
    if job.latest_text_sha256 is None:
        _keep(job, data, text_sha)
        baseline = _baseline_facts(watch, text, job.fetched_at)
        return PageAnalysis("first", text_sha, len(data), baseline_facts=baseline)
    from monitor.classify import volatile

    old_text = job.bodies.get_text(job.latest_text_sha256)
    diff = diff_texts(old_text, text)
    changed = volatile.changed_shapes(diff)
    classification = revert_of(job.earlier_versions, text_sha, diff)
    if classification is None:
        from monitor.classify import classify_change  # its patterns cost start-up time

        seen_old, seen_new, seen_diff = old_text, text, diff
        shapes = job.volatile_shapes | (job.previous_shapes & changed.keys())
        if shapes & changed.keys():  # mask the lines learnt as volatile before reading
            seen_old, seen_new = volatile.mask(old_text, shapes), volatile.mask(text, shapes)
            seen_diff = diff_texts(seen_old, seen_new)
        classification = classify_change(
            seen_diff, seen_old, seen_new, watch, at=job.fetched_at,
            earlier_lines=lambda: _earlier_lines(job),
        )  # fmt: skip
    if not classification.labels:
        return PageAnalysis("noise", text_sha, len(data), changed_shapes=changed)
    _keep(job, data, text_sha)
    return PageAnalysis(
        "revert" if "revert" in classification.labels else "changed",
        text_sha,
        len(data),
        classification,
        diff_to_json(diff),
        diff.stats.lines_added,
        diff.stats.lines_removed,
        diff.sections,
        changed_shapes=changed,
    )


def _earlier_lines(job: PageJob) -> frozenset[str]:
    """Every line of the versions before the latest (those the revert window keeps)."""
    lines: set[str] = set()
    for _seq, sha in job.earlier_versions:
        lines.update(line.strip() for line in job.bodies.get_text(sha).split("\n"))
    return frozenset(lines)


def _baseline_facts(watch: Watch, text: str, at: datetime) -> tuple[dict[str, Any], ...]:
    """The lifecycle facts a watch's first version already states (its deprecation table,
    its retirement notices): the version read as a change from an empty page by the same rules
    that read every later change. Policy pages list no models and are not read."""
    if watch.kind == "policy":
        return ()
    from monitor.classify import baseline_facts

    return baseline_facts(text, watch, at=at)


def revert_of(
    earlier: tuple[tuple[int, str], ...], text_sha: str, diff: TextDiff | None = None
) -> Classification | None:
    """A revert when the text is that of one of the versions before the latest, unless the
    document's own version marker went back (3.1 → 3.0): a document that really went back is
    a change to alert, not a flap."""
    if not earlier:
        return None
    if diff is not None:
        from monitor.classify.versions import marker_changes

        if marker_changes(diff):
            return None
    for seq, sha in earlier:
        if sha == text_sha:
            reason = f"text returned to version {seq} (the page flaps between variants)"
            finding = Finding("revert.earlier_version", "revert", reason, new=str(seq))
            return Classification(("revert",), "info", f"revert to version {seq}", (finding,))
    return None


def _keep(job: PageJob, text: bytes, text_sha: str) -> None:
    job.bodies.put(job.body, job.raw_sha256)
    job.bodies.put(text, text_sha)
