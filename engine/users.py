"""People who sign in: accounts, password checks, sign-in throttling, who may see which task."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    delete,
    false,
    func,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from werkzeug.security import check_password_hash, generate_password_hash

from .config import Settings
from .db import Database
from .errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from .models import Event, HumanTask, LoginThrottle, TaskCandidate, User, utcnow
from .vocabulary import OPEN_TASK_STATUSES, CandidateKind

log = logging.getLogger(__name__)

ROLES = ("admin", "analyst", "user")
MIN_PASSWORD_LENGTH = 10
DEMO_PASSWORD = "bridgeflow-demo"
DEMO_USERS: tuple[tuple[str, str, list[str], str], ...] = (
    ("admin", "admin", [], "Ada Admin"),
    ("ana", "analyst", [], "Ana Analyst"),
    ("fiona", "user", ["finance"], "Fiona Finance"),
    ("frank", "user", ["finance-manager", "finance"], "Frank Finance-Manager"),
    ("sam", "user", ["sales"], "Sam Sales"),
    ("sue", "user", ["support"], "Sue Support"),
    ("leo", "user", ["logistics"], "Leo Logistics"),
    ("olga", "user", ["sales-ops", "sales"], "Olga Sales-Ops"),
)
DEMO_MAIL_DOMAIN = "bridgeflow.example"  # the demo's mail sink takes every address
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,199}$")
_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


# -- accounts ---------------------------------------------------------------------------------

def create_user(db: Database, name: str, password: str, *, groups: list[str], role: str,
                display_name: str | None = None, email: str | None = None) -> User:
    """Add a user; refuse a taken name, an unknown role, bad groups or a weak password."""
    _check_name(name)
    _check_role(role)
    groups = _check_groups(groups)
    _check_password(password)
    user = User(name=name, display_name=display_name, email=email, role=role, groups=groups,
                password_hash=generate_password_hash(password), active=True)
    try:
        with db.write() as s:
            if s.scalar(select(User.id).where(User.name == name)) is not None:
                raise _taken(name)
            s.add(user)
    except IntegrityError as exc:  # created by someone else at the same moment
        raise _taken(name) from exc
    log.info("user %s created (role %s, groups %s)", name, role, ",".join(groups) or "-")
    return user


def authenticate(db: Database, name: str, password: str) -> User | None:
    """Return the active user with this name and password; take as long when there is none."""
    with db.read() as s:
        user = s.scalar(select(User).where(User.name == name))
    if user is None or not user.active:
        check_password_hash(_dummy_hash(), password)  # the same work, so timing tells nothing
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    with db.write() as s:
        row = s.get(User, user.id)
        if row is not None:
            row.last_login_at = user.last_login_at = utcnow()
    return user


def get_user(db: Database, user_id: str) -> User | None:
    with db.read() as s:
        return s.get(User, user_id)


def get_user_by_name(db: Database, name: str) -> User | None:
    with db.read() as s:
        return s.scalar(select(User).where(User.name == name))


def list_users(db: Database) -> list[User]:
    with db.read() as s:
        return list(s.scalars(select(User).order_by(User.name)))


def set_password(db: Database, name: str, password: str) -> User:
    """Give ``name`` a new password; sessions signed in with the old one end."""
    _check_password(password)
    hashed = generate_password_hash(password)
    with db.write() as s:
        user = _by_name(s, name)
        user.password_hash = hashed
        user.session_version = (user.session_version or 0) + 1
    log.info("password of user %s changed", name)
    return user


def deactivate(db: Database, name: str) -> User:
    """Stop ``name`` from signing in (their sessions end); their history stays."""
    with db.write() as s:
        user = _by_name(s, name)
        user.active = False
        user.session_version = (user.session_version or 0) + 1
    log.info("user %s deactivated", name)
    return user


def end_sessions(db: Database, user_id: str) -> None:
    """Make every session cookie of this user stop working (signing out ends them all)."""
    with db.write() as s:
        user = s.get(User, user_id)
        if user is not None:
            user.session_version = (user.session_version or 0) + 1


def ensure_demo_users(db: Database) -> list[str]:
    """Create the demo users when there are no users at all; return the names created."""
    with db.read() as s:
        if s.scalar(select(func.count()).select_from(User)):
            return []
    hashed = _demo_hash()
    try:
        with db.write() as s:
            if s.scalar(select(func.count()).select_from(User)):
                return []
            s.add_all(User(name=name, role=role, groups=groups, display_name=display,
                           email=f"{name}@{DEMO_MAIL_DOMAIN}", password_hash=hashed,
                           active=True)
                      for name, role, groups, display in DEMO_USERS)
    except IntegrityError:  # another web process created them at the same moment
        return []
    names = [u[0] for u in DEMO_USERS]
    log.warning("created demo users %s with the password '%s'; never use them with real "
                "data (BRIDGEFLOW_DEMO_USERS=false turns this off)", ", ".join(names),
                DEMO_PASSWORD)
    return names


# -- who may see what -------------------------------------------------------------------------

def can_see_task(user: User, task: HumanTask) -> bool:
    """Admins see every task; others those of their groups or assigned or offered to them."""
    if not user.active:
        return False
    if user.role == "admin":
        return True
    if set(task.candidate_groups or ()) & set(user.groups or ()):
        return True
    return task.assignee == user.name or user.name in (task.candidate_users or ())


def may_see_task(user: User, *, open_only: bool = False) -> ColumnElement[bool]:
    """``can_see_task`` as SQL over ``human_tasks``, for the database to filter the inbox.

    It reads the ``task_candidates`` rows (indexed by kind and name), never the JSON columns;
    ``open_only``: the caller lists open tasks only, so the open tasks' rows (their own
    partial index) suffice, however long the history. An ``IN`` over the ids the person's
    groups, name and claims give lets the database start from those few rows.
    """
    if not user.active:
        return false()
    if user.role == "admin":
        return true()
    offered = [_offered(CandidateKind.USER, [user.name], open_only)]
    if user.groups:
        offered.append(_offered(CandidateKind.GROUP, list(user.groups), open_only))
    claimed = aliased(HumanTask)
    mine = select(claimed.id).where(claimed.assignee == user.name)
    if open_only:
        mine = mine.where(claimed.status.in_(OPEN_TASK_STATUSES))
    return HumanTask.id.in_(union_all(*offered, mine))


def offered_to(kind: CandidateKind, names: list[str],
               open_only: bool = False) -> ColumnElement[bool]:
    """SQL: the task is offered to one of these groups (or users)."""
    return HumanTask.id.in_(_offered(kind, names, open_only))


def _offered(kind: CandidateKind, names: list[str], open_only: bool) -> Select[str]:
    query = select(TaskCandidate.task_id).where(TaskCandidate.kind == kind,
                                                TaskCandidate.name.in_(names))
    return query.where(TaskCandidate.is_open) if open_only else query


def close_candidates(session: Session, task_ids: list[str]) -> None:
    """The tasks are completed or cancelled: their rows leave the inbox's index."""
    if task_ids:
        session.connection().execute(_CLOSE_CANDIDATES, {"task_ids": task_ids})


# built once: every completion runs it
_CLOSE_CANDIDATES = update(TaskCandidate).where(
    TaskCandidate.task_id.in_(bindparam("task_ids", expanding=True)), TaskCandidate.is_open,
).values(is_open=False)


def acting_person(s: Session, name: str, task: HumanTask, *, owner_only: bool = False) -> User:
    """The person ``name`` if they may act on ``task``; ``ForbiddenError`` saying why not.

    They must exist, be active, and be the assignee, a candidate user or in a candidate
    group (``owner_only``: the assignee), unless they are an admin.
    """
    return check_acting(s.scalar(select(User).where(User.name == name)), name, task,
                        owner_only=owner_only)


def check_acting(user: User | None, name: str, task: HumanTask, *,
                 owner_only: bool = False) -> User:
    """``acting_person`` for the person row read already (``None``: nobody has that name)."""
    if user is None:
        raise ForbiddenError(f"there is no user named '{name}'; a task is acted on only by "
                             "a person who has an account", {"user": name})
    if not user.active:
        raise ForbiddenError(f"the user '{name}' is deactivated", {"user": name})
    if user.role == "admin":
        return user
    if owner_only:
        if task.assignee != name:
            raise ForbiddenError(f"task {task.id} is claimed by {task.assignee or 'nobody'}; "
                                 f"only they or an admin may give it back", {"user": name})
        return user
    if not can_see_task(user, task):
        groups = ", ".join(task.candidate_groups or []) or "its candidate users"
        raise ForbiddenError(f"task {task.id} is for {groups}; {name} is neither a candidate "
                             "nor its assignee", {"user": name})
    return user


def can_see_personal_data(user: User | None, settings: Settings) -> bool:
    """Admins and members of ``personal_data_groups`` see personal values unmasked."""
    if user is None or not user.active:
        return False
    allowed = {g.strip() for g in settings.personal_data_groups.split(",") if g.strip()}
    return user.role == "admin" or bool(allowed & set(user.groups or ()))


# -- audit ------------------------------------------------------------------------------------

def audit(db: Database, type_: str, actor: str | None, **data: Any) -> None:
    """Append a security event (sign-in, refusal) to the audit trail."""
    with db.write() as s:
        s.add(Event(instance_id=None, type=type_, actor=actor, data=data))


def security_events(db: Database, limit: int = 50, type_: str | None = None) -> list[Event]:
    """The newest security events (sign-ins, refusals, keys made), newest first."""
    with db.read() as s:
        query = select(Event).where(Event.instance_id.is_(None))
        if type_:
            query = query.where(Event.type == type_)
        return list(s.scalars(query.order_by(Event.id.desc()).limit(limit)))


# -- throttling sign-ins ----------------------------------------------------------------------

@dataclass(frozen=True)
class Throttle:
    """How many wrong passwords may be tried, and for how long sign-in then waits.

    Failures are counted four ways: one name from one address, one address over any names
    (one password sprayed across many names), one name from any address, and everything.
    Reaching a limit blocks that scope for ``lockout``; a success forgets only its own
    name-and-address streak, so signing in to one's own account resets no other counter.
    """

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=5)
    per_name: int = 10
    per_address: int = 20
    overall: int = 200

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        return cls(settings.login_max_failures,
                   timedelta(seconds=settings.login_lockout_seconds),
                   settings.login_max_failures_per_name,
                   settings.login_max_failures_per_address,
                   settings.login_max_failures_global)

    def _limits(self, name: str, address: str) -> list[tuple[str, int]]:
        return [(_throttle_key("pair", name.lower(), address), self.max_failures),
                (_throttle_key("address", address), self.per_address),
                (_throttle_key("name", name.lower()), self.per_name),
                (_throttle_key("all"), self.overall)]

    def blocked_for(self, db: Database, name: str, address: str) -> int:
        """Seconds until ``name`` may try again from ``address``; 0 when it may now."""
        keys = [key for key, _ in self._limits(name, address)]
        with db.read() as s:
            rows = list(s.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))))
        now = utcnow()
        waits = [(row.locked_until - now).total_seconds() for row in rows
                 if row.locked_until is not None and row.locked_until > now]
        return max(1, int(max(waits) + 0.999)) if waits else 0

    def failed(self, db: Database, name: str, address: str) -> bool:
        """Count a wrong password; return True when this one locked a scope out."""
        locked = False
        for key, limit in self._limits(name, address):
            locked = self._count(db, key, limit) or locked
        return locked

    def _count(self, db: Database, key: str, limit: int) -> bool:
        now = utcnow()
        for _ in range(3):
            try:
                with db.write() as s:
                    row = s.get(LoginThrottle, key, with_for_update=db.is_postgres)
                    if row is None:
                        row = LoginThrottle(key=key, failures=0, last_failed_at=now)
                        s.add(row)
                    elif row.last_failed_at < now - self.lockout:
                        row.failures, row.locked_until = 0, None  # an old streak is forgotten
                    row.failures += 1
                    row.last_failed_at = now
                    if row.failures >= limit:
                        row.locked_until, row.failures = now + self.lockout, 0
                        return True
                    return False
            except IntegrityError:  # two first failures at once: count again on the row
                continue
        return False

    def succeeded(self, db: Database, name: str, address: str) -> None:
        with db.write() as s:
            s.execute(delete(LoginThrottle).where(
                LoginThrottle.key == _throttle_key("pair", name.lower(), address)))


def _throttle_key(*parts: str) -> str:
    # Hashed, so the table holds neither names nor addresses in clear.
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


# -- checks -----------------------------------------------------------------------------------

def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError("the name must be 1–200 letters, digits, '.', '_', '@' or '-', "
                                "starting with a letter or digit",
                                {"fields": {"name": "invalid"}})


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInputError(f"the role must be one of {', '.join(ROLES)}, not '{role}'",
                                {"fields": {"role": f"must be one of {', '.join(ROLES)}"}})


def _check_groups(groups: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(g.strip() for g in groups if g and g.strip()))
    bad = [g for g in cleaned if not _GROUP.match(g)]
    if bad:
        raise InvalidInputError(f"invalid group name(s): {', '.join(bad)}; use letters, digits, "
                                "'.', '_' and '-'", {"fields": {"groups": "invalid"}})
    return cleaned


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"the password must be at least {MIN_PASSWORD_LENGTH} "
                                "characters long",
                                {"fields": {"password": f"at least {MIN_PASSWORD_LENGTH} "
                                                        "characters"}})


def _by_name(s: Session, name: str) -> User:
    user: User | None = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFoundError(f"no user named '{name}'", {"name": name})
    return user


def _taken(name: str) -> ConflictError:
    return ConflictError(f"a user named '{name}' exists already", {"fields": {"name": "taken"}})


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


@functools.cache
def _demo_hash() -> str:
    # The demo password is public anyway; hashing it once keeps start-up quick.
    return generate_password_hash(DEMO_PASSWORD)
