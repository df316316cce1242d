"""Find the model ids a code base uses: string literals and config values in source and config
files, read one file at a time (a large tree never sits in memory).

An id is found by its shape (a known model family's prefix with a separator, e.g.
`gpt-4o-2024-08-06`, `claude-3-5-haiku-20241022`, `anthropic.claude-3-haiku-20240307-v1:0`) or
because the registry knows it exactly, so a family no pattern knows is still found once a watched
page has named it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from monitor import patterns as p

SOURCE_SUFFIXES = frozenset(
    {".py", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".yaml", ".yml", ".toml", ".json"}
)
SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".mypy_cache",
     ".ruff_cache", ".pytest_cache", ".tox", "dist", "build", "site-packages"}
)  # fmt: skip
MAX_FILE_BYTES = 2_000_000  # minified bundles and data dumps are not where a team names models
MAX_LITERAL = 120

# Quoted literals, and unquoted values after `=` or `:` (.env, YAML)
_QUOTED = re.compile(r"""(["'`])([^"'`\n\\]{2,120})\1""")
_BARE_VALUE = re.compile(r"""(?:^|[\s{,])[\w.-]+\s*[:=]\s*([A-Za-z][\w.:@/-]{1,119})\s*(?:#.*)?$""")
_ID_SHAPE = re.compile(r"^[a-z][a-z0-9]*(?:[-.:@/_][a-z0-9]+)+$")


@dataclass(frozen=True)
class Use:
    model: str
    path: str  # relative to the scanned root, with `/`
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def is_env_file(name: str) -> bool:
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


def looks_like_model(value: str, known: frozenset[str] = frozenset()) -> bool:
    """A literal is a model id when the registry knows it or it has a model family's shape."""
    if value in known or value.lower() in known:
        return True
    text = value.lower()
    if not _ID_SHAPE.match(text) or p.NOT_MODELS.search(text):
        return False
    bare = p.ID_PREFIX.sub("", text)
    for family in p.MODEL_FAMILIES:
        if bare.startswith(family) or text.startswith(family):
            rest = bare[len(family) :] if bare.startswith(family) else text[len(family) :]
            if family in p.NEEDS_DIGIT and not re.search(r"\d", rest):
                return False
            return True
    return bool(p.O_SERIES.fullmatch(text))


def literals(line: str, *, bare_values: bool) -> Iterator[str]:
    for match in _QUOTED.finditer(line):
        yield match.group(2).strip()
    if bare_values:
        bare = _BARE_VALUE.search(line)
        if bare:
            yield bare.group(1)


def scan_file(path: Path, relative: str, known: frozenset[str]) -> list[Use]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return []
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    bare_values = path.suffix in (".yaml", ".yml") or is_env_file(path.name)
    found: list[Use] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > 4000:
            continue
        for value in literals(line, bare_values=bare_values):
            if len(value) <= MAX_LITERAL and looks_like_model(value, known):
                found.append(Use(value, relative, number))
    return found


def _files(root: Path) -> Iterator[tuple[Path, str]]:
    if root.is_file():
        yield root, root.name
        return
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS)
        for name in sorted(names):
            if Path(name).suffix in SOURCE_SUFFIXES or is_env_file(name):
                full = Path(directory, name)
                yield full, full.relative_to(root).as_posix()


def scan(roots: Iterable[Path], known: Iterable[str] = ()) -> Iterator[Use]:
    """Every model id literal under `roots`, file by file in a stable order."""
    known_ids = frozenset(known) | frozenset(k.lower() for k in known)
    for root in roots:
        for path, relative in _files(root):
            yield from scan_file(path, relative, known_ids)
