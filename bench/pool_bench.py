"""Where a page's CPU stage should run: in a thread of the main process, or in a worker process.

    python bench/pool_bench.py

For pages of several sizes, each changed against its previous version, runs the CPU stage
(`monitor.analysis.analyse_page`: extract, diff, classify) `--jobs` times one after the other,
in a thread and in a warm worker process, and prints per page: wall time, and the CPU time the
*main* process spends (the core that fetches and writes for every watch). A worker process
costs the main process the trip (pickling the page, sending it, reading the answer); a thread
costs it the whole stage. It also prints what starting the first worker takes, which a
`monitor check` of a few small pages would wait for. `monitor.workers.INLINE_BELOW` is set from
these figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor import extract  # noqa: E402
from monitor.analysis import PageJob, analyse_page  # noqa: E402
from monitor.config import Watch  # noqa: E402
from monitor.snapshots import SnapshotStore, sha256_hex  # noqa: E402
from monitor.workers import CpuPool  # noqa: E402


def page(paragraphs: int, version: int) -> bytes:
    body = "".join(
        f"<p>Section {s}: models deployed through the API follow the usage rules, the "
        f"retirement schedule and the safety commitments listed here ({s}).</p>"
        for s in range(paragraphs)
    )
    return (
        "<!doctype html><html><head><title>Policy</title></head><body><main>"
        f"<h1>Usage policy</h1><p>Version {version}.0</p>{body}</main></body></html>"
    ).encode()


async def per_job(pool: CpuPool, job: PageJob, jobs: int) -> tuple[float, float]:
    """(wall ms, main-process CPU ms) per job."""
    await pool.run(analyse_page, job, size=len(job.body))  # warm: the worker, the bodies
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(jobs):
        await pool.run(analyse_page, job, size=len(job.body))
    return (
        1000 * (time.perf_counter() - wall) / jobs,
        1000 * (time.process_time() - cpu) / jobs,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=30)
    args = parser.parse_args()
    watch = Watch(id="bench", url="http://127.0.0.1/bench", kind="policy")
    inline, worker = CpuPool(0), CpuPool(1)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    started = time.perf_counter()
    await worker.run(os.getpid, size=10**9)
    print(
        f"starting a worker (fork server, its imports, the fork): "
        f"{1000 * (time.perf_counter() - started):.0f} ms wall"
    )
    print("page KB | thread: wall ms, main CPU ms | worker: wall ms, main CPU ms")
    with tempfile.TemporaryDirectory() as tmp:
        bodies = SnapshotStore(Path(tmp))
        try:
            for paragraphs in (5, 50, 100, 200, 400, 1000):
                old, new = page(paragraphs, 1), page(paragraphs, 2)
                old_text = extract.extract_text(
                    old, charset="utf-8", base_url=watch.url, **watch.extract_rules()
                ).encode()
                bodies.put(old_text)
                job = PageJob(
                    watch,
                    new,
                    sha256_hex(new),
                    "utf-8",
                    watch.url,
                    datetime.now(UTC),
                    bodies,
                    sha256_hex(old_text),
                )
                # size=10**9 sends every job to the worker; CpuPool(0) keeps it in a thread
                t_wall, t_cpu = await per_job(inline, job, args.jobs)
                worker_job = await per_job_forced(worker, job, args.jobs)
                w_wall, w_cpu = worker_job
                print(
                    f"{len(new) / 1024:7.1f} | {t_wall:8.2f} {t_cpu:8.2f} | "
                    f"{w_wall:8.2f} {w_cpu:8.2f}"
                )
        finally:
            await worker.close()


async def per_job_forced(pool: CpuPool, job: PageJob, jobs: int) -> tuple[float, float]:
    await pool.run(analyse_page, job, size=10**9)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(jobs):
        await pool.run(analyse_page, job, size=10**9)
    return (
        1000 * (time.perf_counter() - wall) / jobs,
        1000 * (time.process_time() - cpu) / jobs,
    )


if __name__ == "__main__":
    asyncio.run(main())
