"""check(watch): fetch → extract → diff → classify → store, in that order, for one watch.

Pure stages in the middle, I/O at the edges. Operational failures (fetch, extract) become the
check's recorded outcome and the run goes on; store failures stop the run."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor import extract
from monitor.analysis import PageAnalysis, PageJob, analyse_page, page_text
from monitor.config import Config, Watch
from monitor.diff import diff_texts, diff_to_json
from monitor.errors import ExtractError, StoreError
from monitor.models import (
    Classification,
    FetchProblem,
    FetchResult,
    Finding,
    ProblemKind,
    TextDiff,
)
from monitor.quiet import QuietChecks
from monitor.routing import channels_for
from monitor.snapshots import open_bodies, sha256_hex
from monitor.store import record
from monitor.store import state as stored
from monitor.store.db import open_engine
from monitor.workers import CpuPool, WorkerCrashed

if TYPE_CHECKING:
    import sqlalchemy as sa

    from monitor.browser import BrowserFetcher
    from monitor.fetch import Fetcher

_log = logging.getLogger("monitor.pipeline")


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
        cpu: CpuPool | None = None,
    ):
        self.config = config
        self.engine = engine if engine is not None else open_engine(config.database_url)
        self.bodies = open_bodies(config.snapshots)
        self.bodies.remove_stale_temporaries()  # left by a writer killed mid-write
        self.fetcher = fetcher
        self._browser: BrowserFetcher | None = None
        self._browser_lock = asyncio.Lock()
        self._states: dict[str, stored.WatchState] = {}
        self._batch = batch_unchanged
        self._quiet = QuietChecks()
        self._pages: dict[str, FetchResult] = {}  # the page a followed document was linked from
        self.cpu = cpu if cpu is not None else CpuPool(0)  # no pool given: inline, in a thread
        self._note_watchlist()

    def _note_watchlist(self) -> None:
        """The audit log records the watchlist in force."""
        from monitor.store.audit_log import record_watchlist

        try:
            data = self.config.path.read_bytes()
        except OSError:
            return  # a watchlist built in memory: nothing on disk to keep
        count = len(self.config.watches)
        record_watchlist(self.engine, data, self.config.path.name, count, _now())

    def preload(self, watches: Sequence[Watch]) -> None:
        """Read every watch's state in one go, for a pass over many watches."""
        self._states = stored.load_states(self.engine, [w.id for w in watches])

    def bodies_expected(self, watches: Sequence[Watch]) -> int:
        """How many of the preloaded watches will likely answer with a whole page to analyse
        (no version yet, or nothing to make the request conditional), not a 304."""
        count = 0
        for watch in watches:
            state = self._states.get(watch.id)
            if state is None or state.latest is None or not (state.etag or state.last_modified):
                count += 1
        return count

    def flush(self) -> None:
        """Write the unchanged checks waiting in the batch."""
        record.record_unchanged_many(self.engine, self._quiet.take())

    def quiet_age(self) -> float:
        """Seconds the oldest unchanged check waiting in the batch has waited."""
        return self._quiet.age()

    def share_quiet(self, other: Checker) -> None:
        """Batch into `other`'s waiting checks (a reloaded watchlist's checker and the one it
        replaces: a watch's next check must see its waiting check, whichever checker made it)."""
        self._quiet = other._quiet

    def _settle(self, watch_id: str) -> None:
        """Write the batch before anything else is written for a watch with a check waiting in
        it, so the watch's stored state never goes back to the older check's."""
        if self._quiet.waiting(watch_id):
            self.flush()

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
        """Check one watch. An unexpected exception becomes this watch's failed check, with
        one line of error; only store failures (data integrity at risk) are raised."""
        started = time.perf_counter()
        try:
            return await self._check(watch, started)
        except StoreError:
            raise
        except Exception as exc:
            if type(exc).__module__.startswith("sqlalchemy"):
                raise
            _log.debug("check of %s raised", watch.id, exc_info=True)
            return self._crashed(watch, exc, started)

    def _crashed(self, watch: Watch, exc: Exception, started: float) -> CheckReport:
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        message = f"unexpected {type(exc).__name__} while checking" + (
            f": {detail}" if detail else ""
        )
        elapsed = int((time.perf_counter() - started) * 1000)
        result = FetchResult(watch.url, watch.url, datetime.now(UTC), elapsed)
        return replace(self._failure(watch, result, "error", message), duration_ms=elapsed)

    async def _check(self, watch: Watch, started: float) -> CheckReport:
        rules = watch.rules_sha256()
        state = self._states.pop(watch.id, None) or stored.load_state(self.engine, watch.id)
        state = self._quiet.state_after(watch.id, state)
        rule_change_id = None
        if state.latest is not None and rules not in (
            state.latest.rules_sha256,
            state.rules_sha256,
        ):
            self._settle(watch.id)
            rule_change_id = self._apply_rule_change(watch, state.latest, rules)
            state = stored.load_state(self.engine, watch.id)
        result, needs_browser = await self._fetch(watch, state)
        report = await self._record(watch, state, result, rules, needs_browser)
        self._pages.pop(watch.id, None)
        elapsed = int((time.perf_counter() - started) * 1000)
        return replace(report, duration_ms=elapsed, rule_change_id=rule_change_id)

    async def _fetch(
        self, watch: Watch, state: stored.WatchState
    ) -> tuple[FetchResult, bool | None]:
        if watch.follow is not None:
            return await self._follow(watch, await self.fetcher.fetch(watch.url)), None
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

    async def _follow(self, watch: Watch, page: FetchResult) -> FetchResult:
        """The document the page links to by the watch's follow selector, fetched in turn: the
        version is the document's text under a line naming the link, so a new link target is a
        change too. The page's bytes are kept beside the document's when a version is recorded."""
        if page.problem is not None or watch.follow is None:
            return page
        try:
            link = extract.follow_link(page.body, page.charset, page.final_url, watch.follow)
        except ExtractError as exc:
            return replace(page, problem=FetchProblem(ProblemKind.NO_LINK, str(exc)))
        self._pages[watch.id] = page
        return await self.fetcher.fetch(link)

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
            and watch.follow is None  # the same document behind a new link is a change
            and raw_sha == state.last_raw_sha256
            and rules == state.last_rules_sha256
        ):
            return self._unchanged(
                watch, result, "unchanged", raw_sha, rules, needs_browser, restored
            )
        for _attempt in range(3):
            try:
                analysis = await self._analyse(watch, state, result, raw_sha)
            except WorkerCrashed as exc:
                return self._failure(watch, result, "worker", str(exc))
            except MemoryError:
                message = "out of memory while analysing the page; the next check tries again"
                return self._failure(watch, result, "worker", message)
            if analysis.outcome == "extract_failed":
                return self._failure(watch, result, "extract", analysis.error or "no text")
            if analysis.outcome in ("unchanged", "noise"):
                event = restored if analysis.outcome == "unchanged" else None
                return self._unchanged(
                    watch, result, analysis.outcome, raw_sha, rules, needs_browser, event
                )
            try:
                return await self._new_version(
                    watch, state, result, analysis, raw_sha, rules, needs_browser
                )
            except record.StaleLatest:
                # another process recorded a version meanwhile: diff against that one instead
                state = stored.load_state(self.engine, watch.id)
                restored = None
        raise record.StaleLatest(watch.id)

    async def _analyse(
        self, watch: Watch, state: stored.WatchState, result: FetchResult, raw_sha: str
    ) -> PageAnalysis:
        """Extract, diff and classify off the event loop (see monitor.workers)."""
        latest = state.latest
        window = self.config.defaults.revert_window
        earlier: tuple[tuple[int, str], ...] = ()
        if latest is not None and window:
            earlier = tuple(stored.recent_text_hashes(self.engine, watch.id, window + 1)[1:])
        job = PageJob(
            watch,
            result.body,
            raw_sha,
            result.charset,
            result.final_url,
            result.fetched_at,
            self.bodies,
            latest.text_sha256 if latest is not None else None,
            earlier,
            result.content_type,
            result.requested_url,
            *self._learnt_lines(watch, latest),
        )
        analysis = await self.cpu.run(analyse_page, job, size=len(result.body))
        if analysis.changed_shapes and analysis.outcome not in ("changed", "revert"):
            # a new version learns them in its own transaction (record_version)
            from monitor.store import volatile as learnt_lines

            learnt_lines.learn(self.engine, watch.id, analysis.changed_shapes, at=result.fetched_at)
        return analysis

    def _learnt_lines(
        self, watch: Watch, latest: stored.LatestVersion | None
    ) -> tuple[frozenset[str], frozenset[str]]:
        """The watch's lines learnt as volatile, and those seen changing at the previous check:
        the worker masks them before classifying (a line that changes only in numbers, times or
        ids at two checks in a row is per-request noise)."""
        if latest is None:
            return frozenset(), frozenset()
        from monitor.store import volatile as learnt_lines

        learnt = learnt_lines.load(self.engine, watch.id)
        return frozenset(learnt.volatile), frozenset(learnt.previous)

    async def _new_version(
        self,
        watch: Watch,
        state: stored.WatchState,
        result: FetchResult,
        analysis: PageAnalysis,
        raw_sha: str,
        rules: str,
        needs_browser: bool | None,
    ) -> CheckReport:
        """Record the version the worker analysed; its bodies are already written."""
        latest = state.latest
        change = None
        c = analysis.classification
        baseline = analysis.baseline_facts
        if latest is not None and c is not None and analysis.diff_json is not None:
            if self.config.inventory:
                from monitor.inventory.exposure import expose

                c = expose(c, self.config.inventory, self.config.aliases)
            change = record.NewChange(
                classification=c,
                diff_json=analysis.diff_json,
                lines_added=analysis.lines_added,
                lines_removed=analysis.lines_removed,
                sections=analysis.sections,
                channels=channels_for(self.config, watch, c),
            )
        page = self._pages.get(watch.id)
        page_sha = sha256_hex(page.body) if page is not None else ""
        if page is not None:
            await asyncio.to_thread(self.bodies.put, page.body, page_sha)
        self._settle(watch.id)
        version_id, change_id = record.record_version(
            self.engine,
            watch.id,
            watch.url,
            result,
            raw_sha256=raw_sha,
            text_sha256=analysis.text_sha256,
            text_size=analysis.text_size,
            rules_sha256=rules,
            expected_latest=latest,
            change=change,
            needs_browser=needs_browser,
            provider=watch.provider,
            page=(page, page_sha) if page is not None else None,
            baseline_facts=baseline,
            changed_shapes=analysis.changed_shapes,
        )
        if change is None or c is None:
            return CheckReport(watch.id, "first", result.duration_ms, version_id=version_id)
        return CheckReport(
            watch.id,
            analysis.outcome,
            result.duration_ms,
            change_id,
            version_id,
            c.labels,
            c.severity,
            c.summary,
        )

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
            text = page_text(
                watch, self.bodies.get(latest.snapshot_sha256), snapshot.charset,
                snapshot.final_url, snapshot.content_type,
                extract.link_of(self.bodies.get_text(latest.text_sha256)),
            )  # fmt: skip
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
            self._quiet.add(
                record.Unchanged(watch.id, result, outcome, raw_sha, rules, needs_browser)
            )
            if len(self._quiet) >= 500:
                self.flush()
            return CheckReport(watch.id, outcome, result.duration_ms)
        self._settle(watch.id)
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

        self._settle(watch.id)
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


def _now() -> datetime:
    return datetime.now(UTC)


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

    cpu = CpuPool(config.defaults.workers)
    async with Fetcher(FetchSettings.from_defaults(config.defaults)) as fetcher:
        checker = Checker(config, fetcher=fetcher, batch_unchanged=True, cpu=cpu)
        checker.preload(watches)
        if checker.bodies_expected(watches) > cpu.workers:
            cpu.warm()  # the workers start while the first pages are fetched
        try:
            # checks started at once: a few times the fetch limit, as the daemon's gates, so
            # pages fetched faster than the workers analyse them do not pile up in memory
            started = asyncio.Semaphore(config.defaults.concurrency * 4)

            async def one(watch: Watch) -> CheckReport:
                async with started:
                    report = await checker.check(watch)
                if on_done is not None:
                    on_done(report)
                return report

            return list(await asyncio.gather(*(one(w) for w in watches)))
        finally:
            try:
                await checker.close()
            finally:
                await cpu.close()
