"""Reviewers: who may sign changes off. A token is shown once when made; only its SHA-256 is
stored, so a leaked database gives no one a way in. Removing a reviewer revokes the token."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import col, select

from monitor.errors import MonitorError
from monitor.store.db import reading, writing
from monitor.store.tables import ReviewerRow

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
TOKEN_PREFIX = "mrt_"


class ReviewerError(MonitorError):
    """A reviewer name that is bad, taken or unknown."""


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_reviewer(engine: sa.Engine, name: str, *, at: datetime | None = None) -> str:
    """Create a reviewer; returns the token, which is not stored and cannot be shown again."""
    if not NAME.match(name):
        raise ReviewerError(
            f"bad reviewer name {name!r}: use letters, digits, '.', '_', '@' and '-' (max 64)"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with writing(engine) as session:
        taken = session.exec(
            select(ReviewerRow.id).where(
                ReviewerRow.name == name, col(ReviewerRow.removed_at).is_(None)
            )
        ).first()
        if taken is not None:
            raise ReviewerError(
                f"reviewer {name!r} exists; `monitor reviewers remove {name}` first to renew"
            )
        session.add(
            ReviewerRow(
                name=name, token_sha256=token_sha256(token), created_at=at or datetime.now(UTC)
            )
        )
    return token


def reviewers(engine: sa.Engine, *, include_removed: bool = False) -> list[ReviewerRow]:
    with reading(engine) as session:
        query = select(ReviewerRow)
        if not include_removed:
            query = query.where(col(ReviewerRow.removed_at).is_(None))
        return list(session.exec(query.order_by(col(ReviewerRow.name), col(ReviewerRow.id))))


def remove_reviewer(engine: sa.Engine, name: str, *, at: datetime | None = None) -> None:
    """Revoke the reviewer's token; their reviews stay on the record."""
    with writing(engine) as session:
        row = session.exec(
            select(ReviewerRow).where(
                ReviewerRow.name == name, col(ReviewerRow.removed_at).is_(None)
            )
        ).first()
        if row is None:
            raise ReviewerError(f"no reviewer {name!r}; `monitor reviewers list` shows them")
        row.removed_at = at or datetime.now(UTC)
        session.add(row)


def reviewer_for_token(engine: sa.Engine, token: str) -> str | None:
    """The name of the active reviewer holding `token`, or None."""
    return reviewer_for_hash(engine, token_sha256(token.strip()))


def reviewer_for_hash(engine: sa.Engine, digest: str) -> str | None:
    with reading(engine) as session:
        return session.exec(
            select(ReviewerRow.name).where(
                ReviewerRow.token_sha256 == digest, col(ReviewerRow.removed_at).is_(None)
            )
        ).first()
