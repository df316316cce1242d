"""Verify a monitor audit bundle. Plain Python 3 (standard library only); no monitor needed.

    python3 verify.py BUNDLE.zip

Checks every file against the manifest's SHA-256, the manifest against its own hash, the chain
of events from the anchor through the head, and that every body an event names is in the bundle
with the hash it names. Prints one line per break. Exit 0 intact, 1 broken, 2 unusable (not a
zip, an entry outside the bundle's root, more data than the limits allow).

This file is monitor/audit/standalone.py, copied into every bundle as verify.py."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

INTACT, BROKEN, UNUSABLE = 0, 1, 2
MAX_TOTAL = 16 * 1024**3  # bytes once inflated, the whole bundle
MAX_ENTRIES = 5_000_000
MAX_RATIO = 2000  # inflated/compressed size of one entry; deflate itself stays under 1100
GENESIS = "0" * 64
MANIFEST, SIGNATURE, EVENTS = "manifest.json", "manifest.sig", "events.jsonl"
_CHUNK = 1 << 20


class Unusable(Exception):
    """The bundle cannot be checked at all."""


@dataclass
class Report:
    breaks: list[str] = field(default_factory=list)
    summary: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> int:
        return BROKEN if self.breaks else INTACT


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def manifest_sha256(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(
        canonical({k: v for k, v in manifest.items() if k != "sha256"})
    ).hexdigest()


def event_sha256(prev_sha256: str, event: dict[str, Any]) -> str:
    return hashlib.sha256(prev_sha256.encode("ascii") + canonical(event)).hexdigest()


def unsafe_name(name: str) -> bool:
    """An entry that would land outside the folder it is extracted to (zip-slip)."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or ":" in name:
        return True
    return any(part in ("..", "") for part in PurePosixPath(name).parts) or ".." in name.split("/")


def open_bundle(path: str, max_total: int = MAX_TOTAL) -> zipfile.ZipFile:
    try:
        bundle = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise Unusable(f"{path}: not a readable zip file ({exc})") from None
    infos = bundle.infolist()
    if len(infos) > MAX_ENTRIES:
        raise Unusable(f"{path}: {len(infos)} entries, more than the limit of {MAX_ENTRIES}")
    total = 0
    for info in infos:
        if unsafe_name(info.filename):
            raise Unusable(f"{info.filename}: entry escapes the bundle's root; refused")
        total += info.file_size
        if total > max_total:
            raise Unusable(
                f"{info.filename}: the bundle inflates past the limit of {max_total} bytes; refused"
            )
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            raise Unusable(f"{info.filename}: inflates {MAX_RATIO}× past its size; refused")
    return bundle


def _read(bundle: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The entry's bytes in chunks, never more than it declares."""
    read = 0
    with bundle.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            read += len(chunk)
            if read > info.file_size:
                raise Unusable(f"{info.filename}: inflates past its declared size; refused")
            yield chunk


def file_sha256(bundle: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    for chunk in _read(bundle, info):
        digest.update(chunk)
    return digest.hexdigest()


def _lines(bundle: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    rest = b""
    for chunk in _read(bundle, info):
        rest += chunk
        *whole, rest = rest.split(b"\n")
        yield from whole
    if rest:
        yield rest


def _body_name(name: str) -> str | None:
    """The hash a body's name promises, for the folders named by content."""
    for folder, suffix in (("snapshots/", ""), ("versions/", ".txt"), ("watchlists/", ".toml")):
        if name.startswith(folder) and name.endswith(suffix):
            return name[len(folder) : len(name) - len(suffix) if suffix else None]
    return None


def verify(path: str, max_total: int = MAX_TOTAL) -> Report:
    """Raises Unusable; otherwise returns the breaks found (none: intact)."""
    report = Report()
    bundle = open_bundle(path, max_total)
    with bundle:
        infos = {info.filename: info for info in bundle.infolist() if not info.is_dir()}
        if MANIFEST not in infos:
            raise Unusable(f"{path}: no {MANIFEST}; not a monitor audit bundle")
        raw_manifest = b"".join(_read(bundle, infos[MANIFEST]))
        try:
            manifest = json.loads(raw_manifest.decode("utf-8"))
            files: dict[str, str] = manifest["files"]
            chain: dict[str, Any] = manifest["chain"]
            if not all(isinstance(part, dict) for part in (files, chain, manifest["counts"])):
                raise TypeError("not a manifest")
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            report.breaks.append(f"{MANIFEST}: damaged: not the JSON of a manifest")
            return report
        report.manifest = manifest
        if manifest.get("sha256") != manifest_sha256(manifest):
            report.breaks.append(f"{MANIFEST}: does not match its own hash (manifest altered)")
        actual: dict[str, str] = {}
        for name, info in sorted(infos.items()):
            if name in (MANIFEST, SIGNATURE):
                continue
            if name not in files:
                report.breaks.append(f"{name}: not listed in the manifest (file added)")
                continue
            try:
                actual[name] = file_sha256(bundle, info)
            except (zipfile.BadZipFile, zlib.error, OSError) as exc:
                report.breaks.append(f"{name}: damaged in the zip ({exc})")
                continue
            if actual[name] != files[name]:
                report.breaks.append(f"{name}: hash does not match the manifest (file altered)")
            promised = _body_name(name)
            if promised is not None and promised != actual[name]:
                report.breaks.append(f"{name}: content is not the SHA-256 its name says")
        for name in sorted(set(files) - set(infos)):
            report.breaks.append(f"{name}: listed in the manifest but missing")
        count = _verify_events(bundle, infos, manifest, chain, report) if EVENTS in infos else 0
        if EVENTS not in infos:
            report.breaks.append(f"{EVENTS}: missing")
        report.summary = (
            f"{count} events (seq {chain.get('first_seq')}–{chain.get('last_seq')}), "
            f"{len(actual)} files, head {str(chain.get('head_sha256'))[:16]}…"
        )
    return report


def _verify_events(
    bundle: zipfile.ZipFile,
    infos: dict[str, zipfile.ZipInfo],
    manifest: dict[str, Any],
    chain: dict[str, Any],
    report: Report,
) -> int:
    watches = set(manifest.get("watches") or ())
    expected_seq = chain.get("first_seq")
    prev = chain.get("anchor_sha256") or GENESIS
    count = 0
    last_sha = None
    changes: dict[
        str, tuple[str, str]
    ] = {}  # change file → (where, content hash its last event names)
    try:
        for number, line in enumerate(_lines(bundle, infos[EVENTS]), start=1):
            count += 1
            where = f"events.jsonl line {number}"
            try:
                event = json.loads(line.decode("utf-8"))
                stored_prev = event.pop("prev_sha256")
                stored_sha = event.pop("sha256")
                seq = event["seq"]
            except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
                report.breaks.append(f"{where}: not an event (line damaged)")
                expected_seq = expected_seq + 1 if isinstance(expected_seq, int) else None
                prev = None
                continue
            where = f"event {seq} ({where})"
            if expected_seq is not None and seq != expected_seq:
                report.breaks.append(
                    f"{where}: expected event {expected_seq} here: events missing or reordered"
                )
            if prev is not None and stored_prev != prev:
                report.breaks.append(f"{where}: its prev_sha256 is not the previous event's hash")
            if event_sha256(stored_prev, event) != stored_sha:
                report.breaks.append(f"{where}: hash does not match its content (event altered)")
            _verify_bodies(event, where, watches, infos, report, changes)
            expected_seq = seq + 1 if isinstance(seq, int) else None
            prev = last_sha = stored_sha
    except (zipfile.BadZipFile, zlib.error, OSError) as exc:
        report.breaks.append(f"{EVENTS}: damaged in the zip ({exc})")
    for name, (where, content_sha) in sorted(changes.items()):
        if name in infos and _change_sha256(bundle, infos[name]) != content_sha:
            report.breaks.append(f"{where}: {name} is not the change this event records")
    if count != manifest.get("counts", {}).get("events"):
        report.breaks.append(
            f"{EVENTS}: {count} events, the manifest counts {manifest.get('counts', {}).get('events')}"
        )
    if count and last_sha != chain.get("head_sha256"):
        report.breaks.append(f"{EVENTS}: the last event's hash is not the manifest's chain head")
    return count


def _verify_bodies(
    event: dict[str, Any],
    where: str,
    watches: set[str],
    infos: dict[str, zipfile.ZipInfo],
    report: Report,
    changes: dict[str, tuple[str, str]],
) -> None:
    """The bodies an event names are in the bundle (for the bundle's watches)."""
    kind, payload = event.get("kind"), event.get("payload") or {}
    if event.get("watch") is not None and event.get("watch") not in watches:
        return
    needed: list[str] = []
    if kind == "snapshot":
        needed.append(f"snapshots/{payload.get('sha256')}")
    elif kind == "version":
        needed.append(f"versions/{payload.get('text_sha256')}.txt")
        needed.append(f"snapshots/{payload.get('snapshot_sha256')}")
    elif kind == "watchlist":
        needed.append(f"watchlists/{payload.get('sha256')}.toml")
    elif kind in ("change", "change_reclassified"):
        name = f"changes/{(event.get('subject') or {}).get('id')}.json"
        needed.append(name)
        changes[name] = (where, str(payload.get("content_sha256")))
    for name in needed:
        if name not in infos:
            report.breaks.append(f"{where}: {name} is missing from the bundle")


def _change_sha256(bundle: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
    """The hash of a change file's classification and diff (its `content`)."""
    try:
        change = json.loads(b"".join(_read(bundle, info)).decode("utf-8"))
        return hashlib.sha256(canonical(change["content"])).hexdigest()
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, zipfile.BadZipFile, zlib.error):
        return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python3 verify.py BUNDLE.zip", file=sys.stderr)
        return UNUSABLE
    try:
        report = verify(args[0])
    except Unusable as exc:
        print(f"unusable: {exc}")
        return UNUSABLE
    for line in report.breaks:
        print(f"broken: {line}")
    if report.code == INTACT:
        print(f"intact: {report.summary}")
    else:
        print(f"{len(report.breaks)} breaks found")
    return report.code


if __name__ == "__main__":
    sys.exit(main())
