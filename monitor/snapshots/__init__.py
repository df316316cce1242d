"""Snapshot bodies by SHA-256: the only package that reads or writes them. Two places, one
interface (`Bodies`): a local folder (the default) or an S3-compatible bucket (s3.py).

Bodies are content-addressed (`ab/<sha256>.gz`), gzip-compressed with a fixed mtime (the same
body always makes the same bytes), and verified against their hash when read. A body is written
whole or not at all, and before the rows that name it (the pipeline puts before it records).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Protocol

from monitor.errors import StoreError

TEMP_STALE_SECONDS = 600.0  # a body is written in well under this


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def key_of(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}.gz"


COMPRESS_LEVEL = 3  # half to a fifth of level 6's CPU on pages and texts; bodies about 20% larger


def compress(data: bytes) -> bytes:
    # mtime=0 keeps the compressed body deterministic for the same bytes
    return gzip.compress(data, compresslevel=COMPRESS_LEVEL, mtime=0)


def verified(sha256: str, compressed: bytes, where: str) -> bytes:
    try:
        data = gzip.decompress(compressed)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise StoreError(f"snapshot body {sha256} is unreadable: {exc}") from exc
    if sha256_hex(data) != sha256:
        raise StoreError(f"snapshot body {sha256} in {where} does not match its hash: corrupted")
    return data


class Bodies(Protocol):
    def put(self, data: bytes, sha256: str | None = None) -> str:
        """Store `data` once; returns its SHA-256. Idempotent and safe under concurrency."""
        ...

    def get(self, sha256: str) -> bytes:
        """The body, verified against its hash; StoreError when missing or corrupted."""
        ...

    def get_text(self, sha256: str) -> str: ...

    def remove_stale_temporaries(self) -> int:
        """Clean what a writer killed mid-write left behind; returns how many went."""
        ...


def open_bodies(location: str | Path) -> Bodies:
    """`s3://bucket/prefix` (credentials and endpoint from the AWS_* variables) or a folder."""
    if str(location).startswith("s3://"):
        try:
            from monitor.snapshots.s3 import S3Bodies
        except ImportError as exc:
            raise StoreError(
                f"MONITOR_SNAPSHOTS={location} needs the Python module {exc.name!r}: "
                "pip install 'monitor[scale]'"
            ) from None
        return S3Bodies(str(location))
    return SnapshotStore(Path(location))


class SnapshotStore:
    """Bodies in a local folder, each written to a temporary file and renamed into place, so a
    crash never leaves half a body."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        return self.root / key_of(sha256)

    def put(self, data: bytes, sha256: str | None = None) -> str:
        digest = sha256 or sha256_hex(data)
        target = self.path_of(digest)
        if target.exists():
            return digest
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".gz")
            try:
                with os.fdopen(fd, "wb") as raw:
                    raw.write(compress(data))
                    raw.flush()
                    os.fsync(raw.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreError(f"cannot write snapshot body under {self.root}: {exc}") from exc
        return digest

    def remove_stale_temporaries(self, older_than: float = TEMP_STALE_SECONDS) -> int:
        """Delete `.tmp-*` files a killed writer left, once they are `older_than` seconds old
        (a younger one may belong to a writer still at work). Returns how many went."""
        cutoff = time.time() - older_than
        removed = 0
        for path in self.root.glob("*/.tmp-*"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # its writer renamed or removed it meanwhile
            except OSError as exc:
                raise StoreError(f"cannot remove {path}: {exc}") from exc
        return removed

    def get(self, sha256: str) -> bytes:
        try:
            compressed = self.path_of(sha256).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"snapshot body {sha256} is missing from {self.root}") from None
        except OSError as exc:
            raise StoreError(f"snapshot body {sha256} is unreadable: {exc}") from exc
        return verified(sha256, compressed, str(self.root))

    def get_text(self, sha256: str) -> str:
        return self.get(sha256).decode("utf-8")
