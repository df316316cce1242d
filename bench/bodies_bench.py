"""Snapshot bodies: the local folder against an S3-compatible bucket, and the S3 clients
against each other, on an in-process S3 stand-in (moto's server on 127.0.0.1).

    python bench/bodies_bench.py --bodies 300

For each: seconds to import the client, then puts per second and gets per second of N distinct
gzip-compressed bodies of ~40 KB (what a policy page's snapshot weighs). `monitor` rows go
through monitor.snapshots (what the pipeline uses); `boto3` and `s3fs` rows do the same work
(head, put, get) with those libraries directly, when they are installed. The stand-in is the
bottleneck of every S3 row; the figures compare clients, they do not predict a real bucket.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bodies(count: int) -> list[bytes]:
    words = "policy model retirement shutdown replacement usage safety framework".split()
    return [
        (
            f"<html><main><h1>Page {n}</h1>"
            + " ".join(words[(n + i) % len(words)] + str(i) for i in range(6000))
            + "</main></html>"
        ).encode()
        for n in range(count)
    ]


def import_seconds(module: str) -> float | None:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return float(done.stdout) if done.returncode == 0 else None


def timed(label: str, put: object, get: object, data: list[bytes]) -> tuple[str, float, float]:
    from monitor.snapshots import sha256_hex

    digests = [sha256_hex(d) for d in data]
    start = time.perf_counter()
    for body, digest in zip(data, digests, strict=True):
        put(body, digest)  # type: ignore[operator]
    put_rate = len(data) / (time.perf_counter() - start)
    start = time.perf_counter()
    for body, digest in zip(data, digests, strict=True):
        assert get(digest) == body  # type: ignore[operator]
    get_rate = len(data) / (time.perf_counter() - start)
    return label, put_rate, get_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, default=300)
    args = parser.parse_args()

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION="us-east-1",
    )
    import boto3

    client = boto3.client("s3")
    for bucket in ("monitor", "boto3", "s3fs"):
        client.create_bucket(Bucket=bucket)
    data = bodies(args.bodies)
    from monitor.snapshots import compress, key_of, open_bodies, verified

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        local = open_bodies(folder)
        rows.append(("folder (monitor)", None, *timed("", local.put, local.get, data)[1:]))
    s3 = open_bodies("s3://monitor/bench")
    rows.append(
        ("S3, obstore (monitor)", import_seconds("obstore"), *timed("", s3.put, s3.get, data)[1:])
    )

    def boto_put(body: bytes, digest: str) -> None:
        try:
            client.head_object(Bucket="boto3", Key=key_of(digest))
        except client.exceptions.ClientError:
            client.put_object(Bucket="boto3", Key=key_of(digest), Body=compress(body))

    def boto_get(digest: str) -> bytes:
        got = client.get_object(Bucket="boto3", Key=key_of(digest))["Body"].read()
        return verified(digest, got, "boto3")

    rows.append(("S3, boto3", import_seconds("boto3"), *timed("", boto_put, boto_get, data)[1:]))
    try:
        import s3fs

        fs = s3fs.S3FileSystem(endpoint_url=endpoint, key="bench", secret="bench")

        def fs_put(body: bytes, digest: str) -> None:
            if not fs.exists(f"s3fs/{key_of(digest)}"):
                fs.pipe_file(f"s3fs/{key_of(digest)}", compress(body))

        def fs_get(digest: str) -> bytes:
            return verified(digest, fs.cat_file(f"s3fs/{key_of(digest)}"), "s3fs")

        rows.append(("S3, s3fs", import_seconds("s3fs"), *timed("", fs_put, fs_get, data)[1:]))
    except ImportError:
        rows.append(("S3, s3fs (not installed)", None, float("nan"), float("nan")))
    server.stop()

    print(f"{args.bodies} bodies of ~{len(data[0]) // 1024} KB, S3 on moto at {endpoint}")
    print(f"{'store':28} {'import s':>9} {'puts/s':>8} {'gets/s':>8}")
    for label, imported, puts, gets in rows:
        shown = f"{imported:.2f}" if imported is not None else "-"
        print(f"{label:28} {shown:>9} {puts:8.0f} {gets:8.0f}")


if __name__ == "__main__":
    main()
