"""Bodies in an S3-compatible bucket through obstore (the only module that imports it).

`s3://bucket/prefix`: keys are `prefix/ab/<sha256>.gz`, the same layout as the folder.
Credentials, region and endpoint come from the standard variables (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL…); an http:// endpoint
(a local MinIO, a test server) is allowed as such. An S3 PUT is atomic: a reader sees the whole
body or none, so a crash never leaves half a body.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import S3Store

from monitor.errors import StoreError
from monitor.snapshots import compress, key_of, sha256_hex, verified

ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT")


class S3Bodies:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise StoreError(f"MONITOR_SNAPSHOTS={url}: expected s3://BUCKET or s3://BUCKET/PREFIX")
        self.url = url.rstrip("/")
        endpoint = next((os.environ[v] for v in ENDPOINT_VARIABLES if os.environ.get(v)), "")
        try:
            self.store = S3Store(
                parts.netloc,
                prefix=parts.path.strip("/") or None,
                client_options={"allow_http": endpoint.startswith("http://")},
            )
        except Exception as exc:  # noqa: BLE001 - obstore raises its own kinds for bad config
            raise StoreError(f"MONITOR_SNAPSHOTS={url}: {_first_line(exc)}") from exc

    def put(self, data: bytes, sha256: str | None = None) -> str:
        digest = sha256 or sha256_hex(data)
        key = key_of(digest)
        try:
            try:
                obstore.head(self.store, key)
                return digest
            except (NotFoundError, FileNotFoundError):
                pass
            obstore.put(self.store, key, compress(data))
        except Exception as exc:  # noqa: BLE001 - network, credentials, missing bucket
            raise StoreError(
                f"cannot write snapshot body to {self.url}: {_first_line(exc)}"
            ) from exc
        return digest

    def get(self, sha256: str) -> bytes:
        try:
            compressed = obstore.get(self.store, key_of(sha256)).bytes().to_bytes()
        except (NotFoundError, FileNotFoundError):
            raise StoreError(f"snapshot body {sha256} is missing from {self.url}") from None
        except Exception as exc:  # noqa: BLE001 - network, credentials, missing bucket
            raise StoreError(
                f"cannot read snapshot body {sha256} from {self.url}: {_first_line(exc)}"
            ) from exc
        return verified(sha256, compressed, self.url)

    def get_text(self, sha256: str) -> str:
        return self.get(sha256).decode("utf-8")

    def remove_stale_temporaries(self) -> int:
        """An object is stored whole by one PUT: nothing half-written to clean."""
        return 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
