"""Benchmark of classifying a change on a 2 MB page, against the 200 ms budget.

    python bench/classify_bench.py [--mb 2] [--repeat 5] [--cold] [--default-gc]

Builds a realistic extracted text of about `--mb` MB (sections of prose, list items, a dated
"Last updated" line, deprecation tables with model ids, dates and replacements, and links),
then makes a few changes: a version marker moved, a sentence reworded, a table row added with a
shutdown date, a paragraph rewrapped, link paths moved; and a page of the same size that is one
generated lifecycle table, where rows are added and removed (ten, then a hundred). Prints the
time of diff + classify (the stages a changed page costs) and of classify alone, for each of:
a few changes, no change but volatile tokens, a text read against an empty page (what a first
check reads to seed the registry), the table page read as a first version, the table's
changes, and lists of 1,000 and 4,000 retirement notices naming no model read as a first
version (linear: the second costs about four times the first). Figures are of `--repeat`
runs: the best wall-clock milliseconds, and the best and median CPU milliseconds (CPU time is
what the work costs when other processes share the cores). `--cold` empties the classifier's caches
before each run: what classifying texts the process has never read costs (without it, a repeat
finds the texts' lines and model names already read). Each run goes through the worker's own
set-up, `monitor.workers.freeze_imports` once and `run_job` per run (the collector paused for
the job, one collection after it), so the figures are what a worker pays; `--default-gc` times
the same runs with the collector as Python sets it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from monitor.classify import baseline_facts, classify_change
from monitor.config import Watch
from monitor.diff import diff_texts
from monitor.workers import freeze_imports, run_job

WORDS = (
    "model safety policy deployment capability threshold evaluation customers data access "
    "review incident report api requests tokens pricing region endpoint latency support users "
    "content prohibited generate share store process retain delete notify consent minors"
).split()
FAMILIES = ("alpha", "beta", "gamma", "delta", "omega", "sigma")


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 22))).capitalize() + "."


def table(rng: random.Random, section: int) -> list[str]:
    rows = ["| Shutdown date | Model | Recommended replacement |", "| --- | --- | --- |"]
    start = date(2026, 1, 1)
    for row in range(rng.randint(8, 20)):
        day = start + timedelta(days=rng.randint(0, 900))
        family = rng.choice(FAMILIES)
        model = f"{family}-{section % 9}-{row}-{20240000 + rng.randint(101, 1231)}"
        rows.append(
            f"| {day:%B} {day.day}, {day.year} | `{model}` | `{family}-{section % 9 + 1}` |"
        )
    return rows


def document(megabytes: float, seed: int = 7) -> str:
    rng = random.Random(seed)
    lines = ["# Model deprecations and usage policy", "Last updated on 10/02/2024", ""]
    section = 0
    while sum(len(line) + 1 for line in lines) < megabytes * 1_000_000:
        section += 1
        lines += [f"## Section {section}: {rng.choice(WORDS)} {rng.choice(WORDS)}", ""]
        for _ in range(rng.randint(2, 5)):
            lines += [" ".join(sentence(rng) for _ in range(rng.randint(2, 6))), ""]
        lines += [f"- {sentence(rng)}" for _ in range(rng.randint(2, 6))] + [""]
        if section % 3 == 0:
            lines += [*table(rng, section), ""]
        lines += [f"See [the {rng.choice(WORDS)} guide](/en/docs/section-{section}) for more.", ""]
    return "\n".join(lines)


def tracker(megabytes: float, seed: int = 11) -> str:
    """A page that is one long generated lifecycle table, some rows with an alias cell the
    header does not name (as trackers write them)."""
    rng = random.Random(seed)
    lines = ["# Model deprecation tracker", "*Last updated: 2026-05-04*", "", "## All models", ""]
    lines += [
        "| Model | Model ID | Status | Deprecated | Shutdown | Replacement |",
        "|---|---|---|---|---|---|",
    ]
    row = 0
    while sum(len(line) + 1 for line in lines) < megabytes * 1_000_000:
        row += 1
        family = rng.choice(FAMILIES)
        model = f"{family}-{row % 97}-{20240000 + rng.randint(101, 1231)}-r{row}"
        day = date(2026, 1, 1) + timedelta(days=rng.randint(0, 900))
        alias = f" {family}-{row % 97} |" if row % 5 == 0 else ""
        lines.append(f"| {model} |{alias}  | deprecated | TBD | {day:%Y-%m-%d} | {family}-next |")
    return "\n".join(lines)


def unnamed_notices(count: int) -> str:
    """A list of retirement notices that name no model: each looks for the models listed after
    it (a list read once per notice would grow with the square of its length)."""
    items = [
        f"- This older option will be deprecated on March {n % 28 + 1}, 2027 for customer {n}."
        for n in range(count)
    ]
    return "# Deprecations\n\n## Upcoming\n\n" + "\n".join(items)


def changed(text: str) -> str:
    lines = text.split("\n")
    lines[1] = "Last updated on 11/15/2024"
    prose = [i for i, line in enumerate(lines) if len(line) > 200 and not line.startswith("|")]
    target = prose[len(prose) // 2]
    lines[target] = lines[target].replace(" ", " never ", 1)
    rewrap = prose[len(prose) // 3]
    first, _, rest = lines[rewrap].partition(". ")
    lines[rewrap] = f"{first}.\n{rest}"
    rows = [i for i, line in enumerate(lines) if line.startswith("| ") and "`" in line]
    lines.insert(rows[-1] + 1, "| July 1, 2026 | `omega-9-99-20240501` | `omega-10` |")
    out = "\n".join(lines)
    return out.replace("(/en/docs/section-1)", "(/docs/en/section-1)")


def clear_caches() -> None:
    """Empty every functools cache of the monitor modules (what a fresh process has)."""
    for name, module in list(sys.modules.items()):
        if name == "monitor" or name.startswith("monitor."):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def timed(
    run: Callable[[], object], repeat: int, cold: bool = False, as_worker: bool = True
) -> tuple[float, float, float]:
    """(best wall ms, best CPU ms, median CPU ms): CPU time says what the work costs on a busy
    machine. `as_worker`: each run as a worker runs a job (`run_job`)."""
    walls, cpus = [], []
    for _ in range(repeat):
        if cold:
            clear_caches()
        started, cpu = time.perf_counter(), time.process_time()
        if as_worker:
            run_job(run)
        else:
            run()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return min(walls), min(cpus), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cold", action="store_true", help="empty the caches before each run")
    parser.add_argument(
        "--default-gc", action="store_true", help="without the workers' collector set-up"
    )
    args = parser.parse_args()
    as_worker = not args.default_gc
    if as_worker:
        freeze_imports()  # as a worker does when it starts, the stages imported
    watch = Watch(id="bench", url="https://example.com/deprecations", kind="lifecycle")
    at = datetime(2026, 5, 4, tzinfo=UTC)
    old = document(args.mb)
    new = changed(old)
    noise = old.replace("Last updated on 10/02/2024", "Last updated on 10/02/2024 ")
    print(f"page: {len(old.encode()) / 1e6:.2f} MB, {old.count(chr(10)) + 1} lines")
    result = classify_change(diff_texts(old, new), old, new, watch, at=at)
    print(f"labels of the changed pair: {', '.join(result.labels)}")
    table_old = tracker(args.mb)
    table_lines = table_old.split("\n")
    table_new = "\n".join([*table_lines[:-60], *table_lines[-50:]])  # ten rows gone
    table_new += "".join(
        f"\n| omega-9-{n}-20260501 |  | deprecated | TBD | 2026-12-01 | x |" for n in range(20)
    )
    for name, before, after in (
        ("a few changes", old, new),
        ("whitespace only", old, noise),
        ("first version (seeding)", "", old),
        ("first version, one big table", "", table_old),
        ("one big table, rows in/out", table_old, table_new),
        # past 20 removed rows, each is looked up in the rows that hold its words
        (
            "one big table, 100 rows out",
            table_old,
            "\n".join(table_lines[:-200] + table_lines[-100:]),
        ),
        ("1,000 notices, no model", "", unnamed_notices(1000)),
        ("4,000 notices, no model", "", unnamed_notices(4000)),
    ):
        diff = diff_texts(before, after)
        wall, cpu, cmed = timed(
            lambda b=before, a=after: diff_texts(b, a), args.repeat, as_worker=as_worker
        )
        if before:
            cwall, ccpu, ccmed = timed(
                lambda d=diff, b=before, a=after: classify_change(d, b, a, watch, at=at),
                args.repeat,
                args.cold,
                as_worker,
            )
        else:  # a first version: only the lifecycle rules read it, to seed the registry
            cwall, ccpu, ccmed = timed(
                lambda a=after: baseline_facts(a, watch, at=at), args.repeat, args.cold, as_worker
            )
        print(
            f"{name:28} diff {wall:6.1f} ms (CPU {cpu:6.1f}, median {cmed:6.1f})   "
            f"classify {cwall:7.1f} ms (CPU {ccpu:7.1f}, median {ccmed:7.1f})   "
            f"together {wall + cwall:7.1f} ms (CPU {cpu + ccpu:7.1f}, median {cmed + ccmed:7.1f})"
        )
    print(
        "budget: classification of a 2 MB page under 200 ms CPU"
        + (" (caches emptied before each run)" if args.cold else "")
        + (
            ", collector as Python sets it"
            if args.default_gc
            else ", collector as a worker sets it"
        )
    )


if __name__ == "__main__":
    main()
