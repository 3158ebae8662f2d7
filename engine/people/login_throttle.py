"""Login throttling kept in the database: shared by the API's token endpoint and the UI's login
form, by every server process, and across restarts.

Each failed login is one row (`login_failures`), counted twice: under the username tried and
under the client address. A login is refused (HTTP 429 with Retry-After) while either count
within the sliding window has reached its limit, *before* the password is checked, so the right
password does not get in either until the window has passed. A successful login clears the
user's rows (not the address's: one good account must not reset the guesses at others).

Why a small table rather than Flask-Limiter: the limits must be shared across processes and
survive restarts, and the database is the one store every planflow process already shares
(Flask-Limiter would need Redis/Memcached/MongoDB for that; its in-memory storage has the very
problem being fixed). What is needed is also not request-rate limiting but counting *failed*
logins and forgetting them on success, which a rate limiter does not model. One indexed count
per login attempt is cheap next to the password hash every attempt already pays.

Limits (documented in README): 5 failures per username and 20 per client address within 15
minutes. Two simultaneous guesses may both pass a count of limit-1 (at most a guess or two more
under a race: the rows are not locked); the window then holds them all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.store.tables import Base, BigId

USER = "user"
ADDRESS = "addr"
SUBJECT_LENGTH = 255


class LoginFailureRecord(Base):
    """One failed login, counted under its `scope` (user | addr) and `subject` (the username
    tried, lower-cased, or the client address)."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_subject", "scope", "subject", "at"),
        Index("ix_login_failures_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(SUBJECT_LENGTH))
    at: Mapped[datetime]


@dataclass(frozen=True)
class ThrottleLimits:
    per_user: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


DEFAULT_LIMITS = ThrottleLimits()


def _subjects(username: str, address: str) -> list[tuple[str, str]]:
    return [(USER, username.strip().lower()[:SUBJECT_LENGTH]),
            (ADDRESS, (address or "-")[:SUBJECT_LENGTH])]


def retry_after(session: Session, username: str, address: str, now: datetime,
                limits: ThrottleLimits = DEFAULT_LIMITS) -> int:
    """Seconds until a login for `username` from `address` may be tried; 0: now."""
    since = now - limits.window
    wait = 0.0
    for scope, subject in _subjects(username, address):
        limit = limits.per_user if scope == USER else limits.per_address
        recent = select(LoginFailureRecord.at).where(
            LoginFailureRecord.scope == scope,
            LoginFailureRecord.subject == subject,
            LoginFailureRecord.at > since,
        )
        count = session.scalar(select(func.count()).select_from(recent.subquery())) or 0
        if count < limit:
            continue
        # Allowed again when all but limit-1 of the recent failures have left the window.
        oldest_needed = session.scalar(
            recent.order_by(LoginFailureRecord.at.desc()).offset(limit - 1).limit(1)
        )
        if oldest_needed is not None:
            wait = max(wait, (oldest_needed + limits.window - now).total_seconds())
    return max(1, math.ceil(wait)) if wait > 0 else 0


def record_failure(session: Session, username: str, address: str, now: datetime,
                   limits: ThrottleLimits = DEFAULT_LIMITS) -> None:
    # Rows older than the window count for nothing: forget them (an indexed range delete).
    session.execute(delete(LoginFailureRecord).where(LoginFailureRecord.at <= now - limits.window))
    for scope, subject in _subjects(username, address):
        session.add(LoginFailureRecord(scope=scope, subject=subject, at=now))
    session.flush()


def record_success(session: Session, username: str) -> None:
    subject = username.strip().lower()[:SUBJECT_LENGTH]
    session.execute(delete(LoginFailureRecord).where(
        LoginFailureRecord.scope == USER, LoginFailureRecord.subject == subject))
