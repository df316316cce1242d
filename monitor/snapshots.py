"""The only module that touches snapshots/: bodies content-addressed by SHA-256, gzip-compressed,
written to a temporary file and renamed into place, so a crash never leaves half a body."""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import time
from pathlib import Path

from monitor.errors import StoreError

TEMP_STALE_SECONDS = 600.0  # a body is written in well under this


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class SnapshotStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.gz"

    def put(self, data: bytes, sha256: str | None = None) -> str:
        """Store `data` once; returns its SHA-256. Idempotent and safe under concurrency."""
        digest = sha256 or sha256_hex(data)
        target = self.path_of(digest)
        if target.exists():
            return digest
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".gz")
            try:
                with os.fdopen(fd, "wb") as raw:
                    # mtime=0 keeps the compressed file deterministic for the same body
                    with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
                        gz.write(data)
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
        path = self.path_of(sha256)
        try:
            data = gzip.decompress(path.read_bytes())
        except FileNotFoundError:
            raise StoreError(f"snapshot body {sha256} is missing from {self.root}") from None
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise StoreError(f"snapshot body {sha256} is unreadable: {exc}") from exc
        if sha256_hex(data) != sha256:
            raise StoreError(f"snapshot body {sha256} does not match its hash: file corrupted")
        return data

    def get_text(self, sha256: str) -> str:
        return self.get(sha256).decode("utf-8")
