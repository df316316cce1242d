"""The task queue for many machines: procrastinate over the PostgreSQL database monitor already
uses (the only module that imports procrastinate).

Tasks:
- `check(watch_id, due_at)`: one check of one watch. Deferred with the queueing lock
  `check:<watch>` (at most one waiting per watch) and the lock `watch:<watch>` (at most one
  running per watch, across every worker). `due_at` is when the dispatcher found the watch due.
  The worker checks only a watch the store says is due now: a job retried after its check was
  recorded (a worker killed after the commit) or a duplicate from a second dispatcher does
  nothing, so nothing is recorded twice; a job that waited while the watch fell due again
  checks it.
- `deliver()`: send the due alerts (the outbox already claims each delivery for one sender).

A job is retried when it raises or is cancelled at a worker's shutdown; a job left `doing` by a
worker that stopped heart-beating (killed, frozen, cut off) is put back by the dispatcher after
the stall timeout (`retry_stalled`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import procrastinate
import sqlalchemy as sa
from procrastinate import exceptions as queue_errors
from procrastinate.schema import SchemaManager

from monitor.errors import StoreError

QueueError = queue_errors.ProcrastinateException  # the database behind the queue failed

CHECK = "monitor:check"
DELIVER = "monitor:deliver"
STATE_KEY = "monitor"  # the worker's state, in each job's context

blueprint = procrastinate.Blueprint()
_ANY_FAILURE = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=2)


@blueprint.task(name="check", pass_context=True, retry=_ANY_FAILURE)
async def check_task(context: procrastinate.JobContext, watch_id: str, due_at: str | None) -> None:
    run: Callable[[str, datetime | None], Awaitable[None]] = context.additional_context[
        STATE_KEY
    ].check
    await run(watch_id, datetime.fromisoformat(due_at) if due_at else None)


@blueprint.task(name="deliver", pass_context=True, retry=_ANY_FAILURE)
async def deliver_task(context: procrastinate.JobContext) -> None:
    await context.additional_context[STATE_KEY].deliver()


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise StoreError(
            "the task queue needs PostgreSQL: set MONITOR_DATABASE_URL=postgresql+psycopg://… "
            f"(now {url.render_as_string(hide_password=True)})"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_app(database_url: str, *, pool_size: int) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(database_url), min_size=1, max_size=pool_size
    )
    app = procrastinate.App(connector=connector)
    app.add_tasks_from(blueprint, namespace="monitor")
    return app


def install_schema(engine: sa.Engine) -> bool:
    """Create the queue's tables if absent, under the lock schema migrations take. True when
    they were made now."""
    from monitor.store.migrate import LOCK_KEY

    schema = SchemaManager.get_schema()
    with engine.begin() as connection:
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_KEY)))
        present = connection.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar()
        if present is not None:
            return False
        connection.connection.driver_connection.execute(schema)  # type: ignore[union-attr]
        return True


async def defer_checks(app: procrastinate.App, due: Iterable[tuple[str, datetime | None]]) -> int:
    """Defer one check job per (watch, due time); a watch with a job already waiting keeps
    that one. Returns how many were deferred."""
    task = app.tasks[CHECK]
    deferred = 0
    for watch_id, due_at in due:
        try:
            await task.configure(
                queueing_lock=f"check:{watch_id}", lock=f"watch:{watch_id}"
            ).defer_async(watch_id=watch_id, due_at=due_at.isoformat() if due_at else None)
            deferred += 1
        except queue_errors.AlreadyEnqueued:
            pass
    return deferred


async def defer_delivery(app: procrastinate.App) -> bool:
    try:
        await app.tasks[DELIVER].configure(queueing_lock="deliver", lock="deliver").defer_async()
    except queue_errors.AlreadyEnqueued:
        return False
    return True


async def retry_stalled(app: procrastinate.App, stall_timeout: float) -> list[str]:
    """Put back the jobs of workers silent for `stall_timeout` seconds; their labels."""
    stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stall_timeout)
    labels = []
    for job in stalled:
        await app.job_manager.retry_job(job)
        labels.append(f"{job.task_name}({', '.join(f'{v}' for v in job.task_kwargs.values())})")
    if labels:
        await app.job_manager.prune_stalled_workers(seconds_since_heartbeat=stall_timeout)
    return labels


async def run_worker(
    app: procrastinate.App,
    state: Any,
    *,
    concurrency: int,
    grace: float,
    heartbeat: float,
) -> None:
    """Take jobs until SIGTERM/SIGINT; then let running jobs finish for `grace` seconds and
    cancel the rest (they are retried by another worker)."""
    await app.run_worker_async(
        concurrency=concurrency,
        shutdown_graceful_timeout=grace,
        update_heartbeat_interval=heartbeat,
        additional_context={STATE_KEY: state},
        delete_jobs="successful",
        install_signal_handlers=True,
    )


def job_counts(engine: sa.Engine) -> dict[str, int]:
    """Jobs by status, for `monitor status` and the benchmark."""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1"
        ).all()
    return {status: count for status, count in rows}


def due_label(due_at: datetime | None) -> str:
    if due_at is None:
        return "never checked"
    late = datetime.now(UTC) - due_at
    return f"due {late // timedelta(milliseconds=1)} ms ago"
