"""Users, groups, memberships, passwords and API tokens (who may do what: `engine.access`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from engine.store.prepared import Prepared
from engine.store.tables import (
    ApiTokenRecord,
    GroupRecord,
    MembershipRecord,
    UserRecord,
)

# The department's roles (lanes) and the system roles, with the names users know.
STANDARD_GROUPS: list[tuple[str, str, str]] = [
    ("planning_manager", "策划部经理", "Planning manager"),
    ("planning_supervisor", "策划主管", "Planning supervisor"),
    ("planning_specialist", "策划专员", "Planning specialist"),
    ("requester", "需求部门", "Requesting department"),
    ("finance", "财务部", "Finance"),
    ("legal", "法务部", "Legal"),
    ("design", "设计部", "Design department"),
    ("sales", "销售部", "Sales"),
    # The manual's 联动销售、产品部门落地: the product department raises needs (新品上市) and
    # takes part in carrying plans out, beside sales.
    ("product", "产品部", "Product department"),
    ("tech", "技术部", "Technology"),
    ("executive", "公司高层", "Executives"),
    ("admin", "系统管理员", "Administrator"),
    ("process_owner", "流程管理员", "Process owner"),
]

# scrypt cost (n, a power of two) of new password hashes; the production default (16 MiB each).
# Every stored hash names its own n ("scrypt$<n>$<salt>$<digest>") and check_password reads it
# from there, so hashes made at another cost keep verifying. Callers may pass a lower cost
# explicitly (the test fixtures do, see tests/conftest.py); nothing lowers it globally.
PASSWORD_HASH_COST = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1


@dataclass(frozen=True)
class Actor:
    """Who is acting: resolved once per request from a token or session."""

    username: str
    display_name: str
    groups: frozenset[str]
    is_admin: bool

    @property
    def is_process_owner(self) -> bool:
        return self.is_admin or "process_owner" in self.groups

    @property
    def is_manager(self) -> bool:
        return self.is_admin or bool(
            self.groups & {"planning_manager", "planning_supervisor", "executive"}
        )


SYSTEM = Actor("system", "系统", frozenset({"admin"}), True)


def hash_password(password: str, cost: int = PASSWORD_HASH_COST) -> str:
    """A salted scrypt hash carrying its cost; `cost` is scrypt's n (a power of two >= 2)."""
    if cost < 2 or cost & (cost - 1):
        raise ValueError(f"scrypt cost must be a power of two >= 2, not {cost}")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, dklen=32, n=cost, r=_SCRYPT_R, p=_SCRYPT_P
    )
    return f"scrypt${cost}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), dklen=32, n=int(n), r=_SCRYPT_R, p=_SCRYPT_P
    )
    return hmac.compare_digest(candidate.hex(), digest)


def ensure_standard_groups(session: Session) -> None:
    existing = set(session.scalars(select(GroupRecord.name)))
    for name, zh, en in STANDARD_GROUPS:
        if name not in existing:
            session.add(GroupRecord(name=name, display_name=zh, display_name_en=en))
    session.flush()


def add_group(session: Session, name: str, display_name: str, display_name_en: str = "") -> None:
    if session.get(GroupRecord, name) is not None:
        raise Conflict(f"用户组 {name} 已存在 (group exists)")
    session.add(GroupRecord(name=name, display_name=display_name, display_name_en=display_name_en))


def add_user(
    session: Session,
    username: str,
    password: str,
    *,
    now: datetime,
    display_name: str | None = None,
    groups: list[str] | None = None,
    is_admin: bool = False,
    email: str | None = None,
    password_hash_cost: int = PASSWORD_HASH_COST,
) -> UserRecord:
    username = username.strip()
    if (
        not username
        or len(username) > 64
        or not username.replace("_", "").replace(".", "").replace("-", "").isalnum()
    ):
        raise InvalidInput(
            "用户名只能包含字母、数字、._- (invalid username)", {"username": username}
        )
    if len(password) < 8:
        raise InvalidInput("密码至少 8 位 (password must have at least 8 characters)")
    if session.scalar(select(UserRecord).where(UserRecord.username == username)) is not None:
        raise Conflict(f"用户 {username} 已存在 (user exists)", {"username": username})
    user = UserRecord(
        username=username,
        display_name=display_name or username,
        email=email,
        password_hash=hash_password(password, password_hash_cost),
        is_active=True,
        is_admin=is_admin or "admin" in (groups or []),
        created_at=now,
    )
    session.add(user)
    session.flush()
    set_groups(session, user, groups or [])
    return user


def set_groups(session: Session, user: UserRecord, groups: list[str]) -> None:
    known = set(session.scalars(select(GroupRecord.name)))
    unknown = sorted(set(groups) - known)
    if unknown:
        raise InvalidInput(
            f"未知用户组 (unknown groups): {', '.join(unknown)}", {"groups": unknown}
        )
    user.memberships = [
        MembershipRecord(user_id=user.id, group_name=g) for g in dict.fromkeys(groups)
    ]
    session.flush()


def get_user(session: Session, username: str) -> UserRecord:
    user = session.scalar(select(UserRecord).where(UserRecord.username == username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在 (user not found)", {"username": username})
    return user


def actor_for(session: Session, username: str) -> Actor:
    user = get_user(session, username)
    if not user.is_active:
        raise Unauthenticated("账号已停用 (account disabled)")
    return to_actor(user)


def to_actor(user: UserRecord) -> Actor:
    groups = frozenset(m.group_name for m in user.memberships)
    return Actor(user.username, user.display_name, groups, user.is_admin or "admin" in groups)


def authenticate(session: Session, username: str, password: str) -> Actor:
    user = session.scalar(select(UserRecord).where(UserRecord.username == username))
    # Hash even for unknown users so timing does not reveal which usernames exist.
    stored = user.password_hash if user else hash_password("timing-equaliser")
    if not check_password(password, stored) or user is None or not user.is_active:
        raise Unauthenticated("用户名或密码错误 (wrong username or password)")
    return to_actor(user)


def issue_token(session: Session, actor: Actor, now: datetime, ttl_hours: int) -> str:
    token = secrets.token_urlsafe(32)
    user = get_user(session, actor.username)
    session.add(
        ApiTokenRecord(
            user_id=user.id,
            token_hash=_token_hash(token),
            created_at=now,
            expires_at=now + timedelta(hours=ttl_hours),
        )
    )
    session.flush()
    return token


def revoke_token(session: Session, token: str, now: datetime) -> None:
    record = session.scalar(
        select(ApiTokenRecord).where(ApiTokenRecord.token_hash == _token_hash(token))
    )
    if record is not None and record.revoked_at is None:
        record.revoked_at = now


# Built once: constructing a statement costs about as much as running it (every API request
# runs this one).
_TOKEN_ACTOR = Prepared(
    select(
        ApiTokenRecord.revoked_at,
        ApiTokenRecord.expires_at,
        UserRecord.username,
        UserRecord.display_name,
        UserRecord.is_active,
        UserRecord.is_admin,
        MembershipRecord.group_name,
    )
    .outerjoin(UserRecord, UserRecord.id == ApiTokenRecord.user_id)
    .outerjoin(MembershipRecord, MembershipRecord.user_id == UserRecord.id)
    .where(ApiTokenRecord.token_hash == bindparam("token_hash"))
)


def actor_for_token(session: Session, token: str, now: datetime) -> Actor:
    """The token's user with their groups, in one statement."""
    # A column read on the connection: the ORM adds nothing but its per-statement cost.
    rows = _TOKEN_ACTOR.rows(session.connection(), {"token_hash": _token_hash(token)})
    first = rows[0] if rows else None
    if first is None or first.revoked_at is not None or first.expires_at <= now:
        raise Unauthenticated("令牌无效或已过期 (invalid or expired token)")
    if first.username is None or not first.is_active:
        raise Unauthenticated("账号已停用 (account disabled)")
    groups = frozenset(r.group_name for r in rows if r.group_name is not None)
    return Actor(first.username, first.display_name, groups, first.is_admin or "admin" in groups)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
