"""Verify a monitor audit bundle. Plain Python 3 (standard library only); no monitor needed.

    python3 verify.py BUNDLE.zip

Checks every file against the manifest's SHA-256, the manifest against its own hash, the chain
of events from the anchor through the head, that every body an event names is in the bundle
with the hash it names, and that the checks in checks.jsonl are the ones each `check_pass`
event commits to. Prints one line per break. Exit 0 intact, 1 broken, 2 unusable (not a
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
CHECKS, PASS_KIND = "checks.jsonl", "check_pass"
TAG_BYTES = 4  # of each check's SHA-256, kept in its pass's event to name an altered check
_CHUNK = 1 << 20


class Unusable(Exception):
    """The bundle cannot be checked at all."""


@dataclass
class Report:
    breaks: list[str] = field(default_factory=list)
    summary: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)
    pass_checks: int = 0  # lines of checks.jsonl read

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


# A pass of unchanged checks is recorded by one `check_pass` event rather than one event per
# check. Its payload is {checks: [[first id, last id], …], count, tags, checks_sha256}: the ids
# as ranges, the first TAG_BYTES of each check's SHA-256 in id order (hex), and the SHA-256 of
# those digests joined whole. A check's SHA-256 is that of its record as canonical JSON:
# {id, watch, at, outcome, status, duration_ms, raw_sha256, version_id, error_kind, error}.
# The joined digest is the proof; the tags only say which check no longer matches.


def check_sha256(record: dict[str, Any]) -> bytes:
    return hashlib.sha256(canonical(record)).digest()


def pass_payload(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The payload of a `check_pass` event for `records` (in id order)."""
    digests = [check_sha256(record) for record in records]
    ranges: list[list[int]] = []
    for record in records:
        if ranges and record["id"] == ranges[-1][1] + 1:
            ranges[-1][1] = record["id"]
        else:
            ranges.append([record["id"], record["id"]])
    return {
        "checks": ranges,
        "count": len(records),
        "tags": b"".join(d[:TAG_BYTES] for d in digests).hex(),
        "checks_sha256": hashlib.sha256(b"".join(digests)).hexdigest(),
    }


def pass_ids(payload: dict[str, Any]) -> list[int]:
    """The check ids a `check_pass` payload names, in order. Raises ValueError when damaged."""
    try:
        ids = [i for first, last in payload["checks"] for i in range(first, last + 1)]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a check pass payload ({exc})") from None
    if len(ids) != payload.get("count") or len(set(ids)) != len(ids):
        raise ValueError("its check ranges do not hold `count` distinct checks")
    return ids


@dataclass
class PassResult:
    """What a `check_pass` event's checks look like against the records found for them."""

    missing: list[int] = field(default_factory=list)
    altered: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)  # found, but not among the pass's checks
    digest_ok: bool = True


def check_pass(payload: dict[str, Any], found: dict[int, dict[str, Any]]) -> PassResult:
    """`found`: the records present, by id. Raises ValueError on a damaged payload."""
    ids = pass_ids(payload)
    try:
        tags = bytes.fromhex(payload["tags"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("its tags are not hex") from None
    if len(tags) != TAG_BYTES * len(ids):
        raise ValueError("it holds more or fewer tags than checks")
    result = PassResult()
    digests = []
    for index, check_id in enumerate(ids):
        record = found.get(check_id)
        if record is None:
            result.missing.append(check_id)
            continue
        digest = check_sha256(record)
        digests.append(digest)
        if digest[:TAG_BYTES] != tags[index * TAG_BYTES : (index + 1) * TAG_BYTES]:
            result.altered.append(check_id)
    result.added = sorted(set(found) - set(ids))
    joined = hashlib.sha256(b"".join(digests)).hexdigest()
    result.digest_ok = not result.missing and joined == payload.get("checks_sha256")
    return result


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
        plural = "" if report.pass_checks == 1 else "s"
        checks = f"{report.pass_checks} check{plural} in {CHECKS}, " if report.pass_checks else ""
        report.summary = (
            f"{count} events (seq {chain.get('first_seq')}–{chain.get('last_seq')}), {checks}"
            f"{len(actual)} files, head {str(chain.get('head_sha256'))[:16]}…"
        )
    return report


class _CheckLines:
    """checks.jsonl, read alongside events.jsonl: each pass's checks are the run of lines whose
    `pass` is its event's seq, in the order of the events."""

    def __init__(self, bundle: zipfile.ZipFile, info: zipfile.ZipInfo | None, report: Report):
        self.lines = enumerate(_lines(bundle, info), start=1) if info else iter(())
        self.peeked: tuple[str, int, dict[str, Any]] | None = None
        self.report = report
        self.count = 0

    def _next(self) -> tuple[str, int, dict[str, Any]] | None:
        if self.peeked is not None:
            item, self.peeked = self.peeked, None
            return item
        for number, line in self.lines:
            self.count += 1
            where = f"{CHECKS} line {number}"
            try:
                record = json.loads(line.decode("utf-8"))
                pass_seq = record.pop("pass")
                if not isinstance(pass_seq, int) or not isinstance(record["id"], int):
                    raise TypeError("not a number")
            except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
                self.report.breaks.append(f"{where}: not a check (line damaged)")
                continue
            return where, pass_seq, record
        return None

    def _stray(self, where: str, record: dict[str, Any]) -> None:
        self.report.breaks.append(
            f"{where}: check {record['id']} is recorded by no check_pass event here (check added)"
        )

    def of_pass(self, seq: int) -> dict[int, tuple[str, dict[str, Any]]]:
        found: dict[int, tuple[str, dict[str, Any]]] = {}
        while (item := self._next()) is not None:
            where, pass_seq, record = item
            if pass_seq > seq:
                self.peeked = item
                break
            if pass_seq < seq or record["id"] in found:
                self._stray(where, record)
                continue
            found[record["id"]] = (where, record)
        return found

    def rest(self) -> None:
        while (item := self._next()) is not None:
            self._stray(item[0], item[2])


def _verify_pass(
    payload: dict[str, Any],
    where: str,
    found: dict[int, tuple[str, dict[str, Any]]],
    report: Report,
) -> None:
    try:
        result = check_pass(payload, {i: record for i, (_, record) in found.items()})
    except ValueError as exc:
        report.breaks.append(f"{where}: {exc}")
        return
    for check_id in result.missing:
        report.breaks.append(f"{where}: check {check_id} is missing from {CHECKS} (check deleted)")
    for check_id in result.altered:
        report.breaks.append(
            f"check {check_id} ({found[check_id][0]}): not the check {where} recorded: its "
            "watch, time, outcome, status or hash differs (check altered)"
        )
    for check_id in result.added:
        report.breaks.append(
            f"check {check_id} ({found[check_id][0]}): not one of the checks {where} records "
            "(check added)"
        )
    if not result.digest_ok and not (result.missing or result.altered):
        report.breaks.append(f"{where}: its checks do not hash to its checks_sha256 (altered)")


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
    checks = _CheckLines(bundle, infos.get(CHECKS), report)
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
            if event.get("kind") == PASS_KIND and isinstance(seq, int):
                _verify_pass(event.get("payload") or {}, where, checks.of_pass(seq), report)
            expected_seq = seq + 1 if isinstance(seq, int) else None
            prev = last_sha = stored_sha
        checks.rest()
        report.pass_checks = checks.count
    except (zipfile.BadZipFile, zlib.error, OSError) as exc:
        report.breaks.append(f"{EVENTS} or {CHECKS}: damaged in the zip ({exc})")
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
