"""Benchmark of `monitor inventory scan` over a generated source tree.

    python bench/inventory_bench.py --files 50000

Writes N files (Python, TypeScript, YAML, JSON, TOML and .env, 1–4 KB each, one in twenty naming
a model id) into a temporary folder, then runs `monitor inventory scan --json` on it as a whole
process, cold and warm page cache, and prints wall seconds, peak RSS and the ids found versus
planted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = ("gpt-4o-2024-08-06", "claude-3-5-haiku-20241022", "gemini-1.5-pro-002", "o3-mini")
SUFFIXES = (".py", ".ts", ".yaml", ".json", ".toml", ".env")
FILLER = "value = compute(items, limit=10)  # some ordinary code with 'strings' and \"more\"\n"


def make_tree(root: Path, count: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    planted = 0
    for index in range(count):
        folder = root / f"pkg{index // 500:03d}" / f"mod{index // 50 % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        suffix = SUFFIXES[index % len(SUFFIXES)]
        lines = [FILLER] * rng.randint(12, 50)
        if index % 20 == 0:
            lines.insert(3, f'MODEL = "{MODELS[index % len(MODELS)]}"\n')
            planted += 1
        (folder / f"file{index}{suffix}").write_text("".join(lines), encoding="utf-8")
    return planted


def run(root: Path) -> tuple[float, float, int]:
    watchlist = root.parent / "watchlist.toml"
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "-w", str(watchlist), "inventory", "scan", str(root),
         "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, peak_mb, len(json.loads(proc.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        planted = make_tree(root, args.files)
        size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
        print(f"tree: {args.files} files, {size / 1e6:.0f} MB, {planted} model ids planted")
        if hasattr(os, "posix_fadvise"):
            for path in root.rglob("*"):
                if path.is_file():
                    with path.open("rb") as file:
                        os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        for label in ("first run", "second run"):
            wall, peak, found = run(root)
            print(f"{label}: {wall:.2f} s wall, peak RSS {peak:.0f} MB, {found} ids found")


if __name__ == "__main__":
    main()
