"""Ed25519 keys and manifest signatures. The only module that imports cryptography."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from monitor.errors import MonitorError


class KeyError_(MonitorError):
    """A key file is missing, unreadable or not an Ed25519 key."""


def new_key_pair(private_path: Path, public_path: Path) -> None:
    """Write a new private key (PEM, PKCS#8, readable by its owner only) and its public key."""
    for path in (private_path, public_path):
        if path.exists():
            raise KeyError_(f"{path}: already exists; choose another name or remove it first")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(private)
        public_path.write_bytes(public)
    except OSError as exc:
        raise KeyError_(f"cannot write the key pair: {exc}") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyError_(f"{path}: cannot read the key: {exc.strerror or exc}") from None


def signer(private_path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(private_path), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyError_(f"{private_path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyError_(f"{private_path}: not an Ed25519 key; make one with `monitor keys new`")
    return key


def sign(private_path: Path, data: bytes) -> bytes:
    return signer(private_path).sign(data)


def public_key(public_path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_read(public_path))
    except (ValueError, TypeError) as exc:
        raise KeyError_(f"{public_path}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyError_(f"{public_path}: not an Ed25519 public key")
    return key


def signature_ok(public_path: Path, data: bytes, signature: bytes) -> bool:
    try:
        public_key(public_path).verify(signature, data)
    except InvalidSignature:
        return False
    return True
