"""check(watch): fetch → extract → diff → classify → store, in that order, for one watch.

Pure stages in the middle, I/O at the edges. Operational failures (fetch, extract) become the
check's recorded outcome and the run goes on; store failures stop the run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor import extract
from monitor.config import Config, Watch
from monitor.diff import diff_texts, diff_to_json
from monitor.errors import ExtractError
from monitor.models import Classification, FetchResult, Finding, TextDiff
from monitor.routing import channels_for
from monitor.snapshots import open_bodies, sha256_hex
from monitor.store import record
from monitor.store import state as stored
from monitor.store.db import open_engine

if TYPE_CHECKING:
    import sqlalchemy as sa

    from monitor.browser import BrowserFetcher
    from monitor.fetch import Fetcher


@dataclass(frozen=True)
class CheckReport:
    """What one check did, for the CLI's summary and the daemon's log line."""

    watch_id: str
    outcome: str  # first, unchanged, not_modified, changed, noise, revert, failed
    duration_ms: int
    change_id: int | None = None
    version_id: int | None = None
    labels: tuple[str, ...] = ()
    severity: str | None = None
    summary: str = ""
    error: str | None = None
    rule_change_id: int | None = None

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


class Checker:
    """Holds what every check of a run shares: config, database, bodies, one HTTP client and,
    when a watch needs one, one browser."""

    def __init__(
        self,
        config: Config,
        *,
        fetcher: Fetcher,
        engine: sa.Engine | None = None,
        batch_unchanged: bool = False,
    ):
        self.config = config
        self.engine = engine if engine is not None else open_engine(config.database_url)
        self.bodies = open_bodies(config.snapshots)
        self.fetcher = fetcher
        self._browser: BrowserFetcher | None = None
        self._browser_lock = asyncio.Lock()
        self._states: dict[str, stored.WatchState] = {}
        self._batch = batch_unchanged
        self._quiet: list[record.Unchanged] = []

    def preload(self, watches: Sequence[Watch]) -> None:
        """Read every watch's state in one go, for a pass over many watches."""
        self._states = stored.load_states(self.engine, [w.id for w in watches])

    def flush(self) -> None:
        """Write the unchanged checks waiting in the batch."""
        items, self._quiet = self._quiet, []
        record.record_unchanged_many(self.engine, items)

    async def close(self) -> None:
        self.flush()
        if self._browser is not None:
            await self._browser.__aexit__(None, None, None)
            self._browser = None

    async def browser(self) -> BrowserFetcher:
        async with self._browser_lock:
            if self._browser is None:
                from monitor.browser import BrowserFetcher

                defaults = self.config.defaults
                browser = BrowserFetcher(
                    pages=defaults.browser_pages,
                    timeout=defaults.timeout,
                    user_agent=defaults.user_agent,
                    max_body=defaults.max_body,
                )
                self._browser = await browser.__aenter__()
            return self._browser

    async def check(self, watch: Watch) -> CheckReport:
        started = time.perf_counter()
        rules = extract.rules_sha256(watch.select, watch.ignore, watch.ignore_text, watch.kind)
        state = self._states.pop(watch.id, None) or stored.load_state(self.engine, watch.id)
        rule_change_id = None
        if state.latest is not None and rules not in (
            state.latest.rules_sha256,
            state.rules_sha256,
        ):
            rule_change_id = self._apply_rule_change(watch, state.latest, rules)
            state = stored.load_state(self.engine, watch.id)
        result, needs_browser = await self._fetch(watch, state)
        report = await self._record(watch, state, result, rules, needs_browser)
        elapsed = int((time.perf_counter() - started) * 1000)
        return replace(report, duration_ms=elapsed, rule_change_id=rule_change_id)

    async def _fetch(
        self, watch: Watch, state: stored.WatchState
    ) -> tuple[FetchResult, bool | None]:
        if watch.fetcher == "http":
            result = await self.fetcher.fetch(
                watch.url, etag=state.etag, last_modified=state.last_modified
            )
            return result, None
        browser = await self.browser()
        if watch.fetcher == "browser":
            return await browser.fetch(watch.url, wait_for=watch.wait_for), None
        from monitor.browser import fetch_auto

        return await fetch_auto(
            self.fetcher,
            browser,
            watch.url,
            wait_for=watch.wait_for,
            etag=state.etag,
            last_modified=state.last_modified,
            needs_browser=state.needs_browser,
        )

    async def _record(
        self,
        watch: Watch,
        state: stored.WatchState,
        result: FetchResult,
        rules: str,
        needs_browser: bool | None,
    ) -> CheckReport:
        if result.problem is not None:
            return self._failure(watch, result, result.problem.kind.value, result.problem.message)
        restored = self._restored_event(watch, state)
        if result.not_modified:
            return self._unchanged(
                watch, result, "not_modified", None, rules, needs_browser, restored
            )
        raw_sha = sha256_hex(result.body)
        latest = state.latest
        if (
            latest is not None
            and raw_sha == state.last_raw_sha256
            and rules == state.last_rules_sha256
        ):
            return self._unchanged(
                watch, result, "unchanged", raw_sha, rules, needs_browser, restored
            )
        try:
            text = self._extract(watch, result.body, result.charset, result.final_url)
        except ExtractError as exc:
            return self._failure(watch, result, "extract", str(exc))
        text_sha = sha256_hex(text.encode("utf-8"))
        if latest is not None and text_sha == latest.text_sha256:
            return self._unchanged(
                watch, result, "unchanged", raw_sha, rules, needs_browser, restored
            )
        for _attempt in range(3):
            try:
                return await self._new_version(
                    watch, state, result, text, text_sha, raw_sha, rules, needs_browser
                )
            except record.StaleLatest:
                # another process recorded a version meanwhile: diff against that one instead
                state = stored.load_state(self.engine, watch.id)
                if state.latest is not None and state.latest.text_sha256 == text_sha:
                    return self._unchanged(
                        watch, result, "unchanged", raw_sha, rules, needs_browser, None
                    )
        raise record.StaleLatest(watch.id)

    def _extract(self, watch: Watch, body: bytes, charset: str | None, url: str) -> str:
        return extract.extract_text(body, charset=charset, base_url=url, **watch.extract_rules())

    async def _new_version(
        self,
        watch: Watch,
        state: stored.WatchState,
        result: FetchResult,
        text: str,
        text_sha: str,
        raw_sha: str,
        rules: str,
        needs_browser: bool | None,
    ) -> CheckReport:
        latest = state.latest
        change = None
        if latest is not None:
            old_text = self.bodies.get_text(latest.text_sha256)
            diff = diff_texts(old_text, text)
            from monitor.classify import classify_change  # its patterns cost start-up time

            classification = self._revert(watch, latest, text_sha) or classify_change(
                diff, old_text, text, watch, at=result.fetched_at
            )
            if not classification.labels:
                return self._unchanged(watch, result, "noise", raw_sha, rules, needs_browser, None)
            change = _new_change(
                diff, classification, channels_for(self.config, watch, classification)
            )
        # bodies land (written and synced, off the event loop) before the rows that name them
        await asyncio.to_thread(self._put_bodies, result.body, raw_sha, text, text_sha)
        version_id, change_id = record.record_version(
            self.engine,
            watch.id,
            watch.url,
            result,
            raw_sha256=raw_sha,
            text_sha256=text_sha,
            text_size=len(text.encode("utf-8")),
            rules_sha256=rules,
            expected_latest=latest,
            change=change,
            needs_browser=needs_browser,
            provider=watch.provider,
        )
        if change is None:
            return CheckReport(watch.id, "first", result.duration_ms, version_id=version_id)
        c = change.classification
        outcome = "revert" if "revert" in c.labels else "changed"
        return CheckReport(
            watch.id,
            outcome,
            result.duration_ms,
            change_id,
            version_id,
            c.labels,
            c.severity,
            c.summary,
        )

    def _put_bodies(self, raw: bytes, raw_sha: str, text: str, text_sha: str) -> None:
        self.bodies.put(raw, raw_sha)
        self.bodies.put(text.encode("utf-8"), text_sha)

    def _revert(
        self, watch: Watch, latest: stored.LatestVersion, text_sha: str
    ) -> Classification | None:
        window = self.config.defaults.revert_window
        if window == 0:
            return None
        for seq, sha in stored.recent_text_hashes(self.engine, watch.id, window + 1)[1:]:
            if sha == text_sha:
                reason = f"text returned to version {seq} (the page flaps between variants)"
                finding = Finding("revert.earlier_version", "revert", reason, new=str(seq))
                return Classification(("revert",), "info", f"revert to version {seq}", (finding,))
        return None

    def _apply_rule_change(
        self, watch: Watch, latest: stored.LatestVersion, rules: str
    ) -> int | None:
        """The watch's rules changed since its latest version: re-extract that version's
        snapshot with the new rules and record the result as a rule change, never alerted."""
        from monitor.store.queries import version

        found = version(self.engine, latest.id)
        if found is None:
            return None
        snapshot = found[1]
        try:
            text = self._extract(
                watch, self.bodies.get(latest.snapshot_sha256), snapshot.charset, snapshot.final_url
            )
        except ExtractError:
            return None  # the fetch that follows records the extract problem for the user
        text_sha = sha256_hex(text.encode("utf-8"))
        if text_sha == latest.text_sha256:
            record.record_rules_agree(self.engine, watch.id, rules)
            return None
        old_text = self.bodies.get_text(latest.text_sha256)
        diff = diff_texts(old_text, text)
        reason = "the watch's select/ignore rules changed; the latest snapshot was re-extracted"
        finding = Finding(
            "rule_change.rules_edited", "rule_change", reason, old=latest.rules_sha256, new=rules
        )
        classification = Classification(
            ("rule_change",),
            "info",
            "rule change: re-extracted with the new select/ignore rules",
            (finding,),
        )
        self.bodies.put(text.encode("utf-8"), text_sha)
        try:
            return record.record_rule_change(
                self.engine,
                watch.id,
                watch.url,
                at=datetime.now(UTC),
                text_sha256=text_sha,
                text_size=len(text.encode("utf-8")),
                rules_sha256=rules,
                expected_latest=latest,
                change=_new_change(diff, classification, ()),
            )
        except record.StaleLatest:
            return None

    def _unchanged(
        self,
        watch: Watch,
        result: FetchResult,
        outcome: str,
        raw_sha: str | None,
        rules: str,
        needs_browser: bool | None,
        restored: Classification | None,
    ) -> CheckReport:
        if self._batch and restored is None and outcome != "first":
            self._quiet.append(
                record.Unchanged(watch.id, result, outcome, raw_sha, rules, needs_browser)
            )
            if len(self._quiet) >= 500:
                self.flush()
            return CheckReport(watch.id, outcome, result.duration_ms)
        event = None
        if restored is not None:
            event = (restored, channels_for(self.config, watch, restored))
        change_id = record.record_unchanged(
            self.engine,
            watch.id,
            watch.url,
            result,
            outcome=outcome,
            raw_sha256=raw_sha,
            rules_sha256=rules,
            needs_browser=needs_browser,
            event=event,
        )
        if restored is not None:
            return CheckReport(
                watch.id, outcome, result.duration_ms, change_id, None,
                restored.labels, restored.severity, restored.summary,
            )  # fmt: skip
        return CheckReport(watch.id, outcome, result.duration_ms)

    def _restored_event(self, watch: Watch, state: stored.WatchState) -> Classification | None:
        if state.gone:
            return classify_event("page_restored", watch, f"{watch.url} answers again")
        if state.failure_alerted:
            message = f"{watch.url} works again after {state.failures_in_row} failed checks"
            return classify_event("page_restored", watch, message)
        return None

    def _failure(self, watch: Watch, result: FetchResult, kind: str, message: str) -> CheckReport:
        threshold = self.config.failures_before_alert(watch)
        events: list[Classification] = []

        def event_for(
            failures: int, alerted: bool, gone: bool, has_versions: bool
        ) -> tuple[Classification, tuple[str, ...]] | None:
            if result.status in (404, 410) and has_versions and not gone:
                event = classify_event("page_gone", watch, f"{watch.url} answers {result.status}")
            elif failures >= threshold and not alerted:
                text = f"{failures} failed checks in a row; last: {message}"
                event = classify_event("fetch_problem", watch, text)
            else:
                return None
            events.append(event)
            return event, channels_for(self.config, watch, event)

        _failures, change_id = record.record_failure(
            self.engine,
            watch.id,
            watch.url,
            result,
            error_kind=kind,
            error=message,
            event_for=event_for,
        )
        if events:
            e = events[0]
            return CheckReport(
                watch.id, "failed", result.duration_ms, change_id, None, e.labels, e.severity,
                e.summary, error=message,
            )  # fmt: skip
        return CheckReport(watch.id, "failed", result.duration_ms, error=message)


def classify_event(kind: str, watch: Watch, message: str) -> Classification:
    from monitor.classify import classify_event as classify

    return classify(kind, watch, message)


def _new_change(
    diff: TextDiff, classification: Classification, channels: tuple[str, ...]
) -> record.NewChange:
    return record.NewChange(
        classification=classification,
        diff_json=diff_to_json(diff),
        lines_added=diff.stats.lines_added,
        lines_removed=diff.stats.lines_removed,
        sections=diff.sections,
        channels=channels,
    )


async def check_watches(
    config: Config,
    watches: Sequence[Watch],
    *,
    on_done: Callable[[CheckReport], Any] | None = None,
) -> list[CheckReport]:
    """One pass over `watches`, concurrently within the fetch limits. Reports in watch order."""
    from monitor.fetch import Fetcher, FetchSettings

    async with Fetcher(FetchSettings.from_defaults(config.defaults)) as fetcher:
        checker = Checker(config, fetcher=fetcher, batch_unchanged=True)
        checker.preload(watches)
        try:

            async def one(watch: Watch) -> CheckReport:
                report = await checker.check(watch)
                if on_done is not None:
                    on_done(report)
                return report

            return list(await asyncio.gather(*(one(w) for w in watches)))
        finally:
            await checker.close()
