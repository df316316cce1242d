"""Two source trees of monitor side by side on the same changed cycles, and their start-up.

    python bench/check_ab.py --before /tmp/main-tree --after . --pages 1000 --rounds 7

On a shared machine one benchmark run after another compares two different loads; here the
trees take turns (the order flips every round) on the same page server, each with a database of
its own, so each round both see the same pages changed. Printed per tree:

1. the changed cycle (10% of the pages changed each round): main-process CPU seconds (user +
   system, from wait4, not counting the worker processes) and wall seconds, medians;
2. start-up: CPU seconds of `monitor check` over one watch that fails at once (connection
   refused), which is almost all imports and opening the database, median of `--startups` runs;
3. `python -X importtime` of that same command: the cumulative import time of the modules
   that weigh most, medians.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
MODULES = (
    "monitor.pipeline", "monitor.store.record", "monitor.store.tables", "sqlmodel",
    "sqlalchemy.orm", "sqlalchemy", "monitor.config", "pydantic", "httpx", "monitor.alerts",
)  # fmt: skip


def _env(tree: Path, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(tree),
        "MONITOR_DATABASE_URL": f"sqlite:///{workdir / 'monitor.db'}",
        "MONITOR_SNAPSHOTS": str(workdir / "snapshots"),
    }


def _check(tree: Path, workdir: Path, watchlist: Path) -> tuple[float, float, int]:
    """(main-process CPU s, wall s, changes found) of one `monitor check`."""
    command = [sys.executable, "-m", "monitor", "-w", str(watchlist), "check", "--json"]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "--no-progress"],
        env=_env(tree, workdir), cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _pid, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"monitor check of {tree} failed")
    found = sum(1 for line in out.splitlines() if '"outcome": "changed"' in line)
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - started, found


def _startup(tree: Path, workdir: Path, watchlist: Path, importtime: bool) -> tuple[float, str]:
    """(CPU s, stderr) of `monitor check` over one watch whose server refuses the connection."""
    flags = ["-X", "importtime"] if importtime else []
    before = os.times()
    done = subprocess.run(
        [sys.executable, *flags, "-m", "monitor", "-w", str(watchlist), "check", "--no-progress"],
        env=_env(tree, workdir), cwd=tree, capture_output=True, text=True,
    )  # fmt: skip
    after = os.times()
    cpu = (
        after.children_user - before.children_user + after.children_system - before.children_system
    )
    return cpu, done.stderr


def _imports(stderr: str) -> dict[str, float]:
    """Cumulative import ms of MODULES, and of all top-level imports together."""
    found: dict[str, float] = {"(all imports)": 0.0}
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( +)(\S+)$", line)
        if m is None:
            continue
        cumulative, depth, module = int(m.group(1)) / 1000, len(m.group(2)), m.group(3)
        if depth == 1:
            found["(all imports)"] += cumulative
        if module in MODULES:
            found[module] = cumulative
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", type=Path, required=True, help="a source tree of monitor")
    parser.add_argument("--after", type=Path, default=ROOT, help="another (default: this one)")
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--startups", type=int, default=9)
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for tree in trees.values():
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(tree / "monitor")],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.pageserver", "--pages", str(args.pages)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    base = f"http://127.0.0.1:{int(server.stdout.readline().split()[1])}"
    load_before = os.getloadavg()
    try:
        with tempfile.TemporaryDirectory(prefix="monitor-ab-") as tmp:
            folder = Path(tmp)
            watchlist = folder / "watchlist.toml"
            lines = ["[defaults]", "concurrency = 5", "per_host = 5", 'interval = "1h"', ""]
            for i in range(args.pages):
                lines += ["[[watch]]", f'id = "page-{i}"', f'url = "{base}/p/{i}"']
                lines += ['kind = "policy"', ""]
            watchlist.write_text("\n".join(lines))
            refused = folder / "refused.toml"
            refused.write_text(
                '[[watch]]\nid = "down"\nurl = "http://127.0.0.1:9/"\nkind = "policy"\n'
            )
            workdirs = {name: folder / name for name in trees}
            for name, tree in trees.items():
                workdirs[name].mkdir()
                _check(tree, workdirs[name], watchlist)  # every page new
            cycles: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
            for round_ in range(args.rounds):
                httpx.post(f"{base}/_change?percent=10")
                for name in list(trees)[:: 1 if round_ % 2 == 0 else -1]:
                    cycles[name].append(_check(trees[name], workdirs[name], watchlist))
            startups: dict[str, list[float]] = defaultdict(list)
            imports: dict[str, dict[str, list[float]]] = {n: defaultdict(list) for n in trees}
            for round_ in range(args.startups):
                for name in list(trees)[:: 1 if round_ % 2 == 0 else -1]:
                    cpu, _ = _startup(trees[name], workdirs[name], refused, importtime=False)
                    startups[name].append(cpu)
                    _cpu, stderr = _startup(trees[name], workdirs[name], refused, importtime=True)
                    for module, ms in _imports(stderr).items():
                        imports[name][module].append(ms)
    finally:
        server.terminate()
        server.wait()
    print(f"{args.pages} pages, 10% changed per round, {args.rounds} rounds, trees alternating")
    for name, tree in trees.items():
        cpus, walls, found = zip(*cycles[name], strict=True)
        print(
            f"{name} ({tree}): changed cycle main-process CPU median {statistics.median(cpus):.2f} s "
            f"({', '.join(f'{c:.2f}' for c in cpus)}), wall median {statistics.median(walls):.2f} s, "
            f"changes found {sorted(set(found))}; start-up (one refused watch) CPU median "
            f"{statistics.median(startups[name]):.3f} s"
        )
    print("cumulative import ms of `monitor check` (median):")
    print(f"  {'module':24s} " + " ".join(f"{name:>8s}" for name in trees))
    for module in ("(all imports)", *MODULES):
        cells = [statistics.median(imports[n][module]) if imports[n][module] else 0 for n in trees]
        print(f"  {module:24s} " + " ".join(f"{cell:8.0f}" for cell in cells))
    load_after = os.getloadavg()
    print(
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after, "
        f"on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
