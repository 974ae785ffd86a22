"""API credentials: service accounts' scoped keys and people's personal tokens, stored hashed."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from .db import Database
from .errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from .models import ApiKey, Event, User, utcnow
from .prepared import Prepared
from .vocabulary import PERSONAL_TOKEN_SCOPES, Scope

log = logging.getLogger(__name__)

_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@:-]{0,199}$")
SECRET_PREFIX = "bf_"
PERSONAL_PREFIX = "bfp_"
USE_RECORDED_EVERY = timedelta(minutes=1)
# Every API request runs this: compiled once (``Prepared``), it reads plain columns, on
# SQLite on the thread's driver connection, with no ORM session.
_BY_PREFIX = Prepared(select(ApiKey.id, ApiKey.name, ApiKey.key_hash, ApiKey.scopes,
                             ApiKey.user_id, ApiKey.expires_at, ApiKey.last_used_at,
                             ApiKey.revoked_at).where(ApiKey.prefix == bindparam("prefix")))
_RECORD_USE = update(ApiKey).where(ApiKey.id == bindparam("key_id")) \
    .values(last_used_at=bindparam("now"))


@dataclass(frozen=True)
class Principal:
    """Who is calling the REST API: a service account with scopes, or one person's token."""

    key_id: str
    account: str
    scopes: frozenset[str]
    person: User | None = None

    @property
    def via(self) -> str:
        """How the audit trail names this credential: ``api-key:<account>`` or ``token:…``."""
        return f"token:{self.account}" if self.person is not None else f"api-key:{self.account}"

    def allows(self, scope: Scope | str) -> bool:
        return str(scope) in self.scopes


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes, each one known; ``InvalidInputError`` naming the unknown ones."""
    cleaned = list(dict.fromkeys(str(s).strip() for s in scopes if str(s).strip()))
    known = [s.value for s in Scope]
    bad = [s for s in cleaned if s not in known]
    if bad:
        raise InvalidInputError(f"unknown scope(s) {', '.join(bad)}; use {', '.join(known)}",
                                {"fields": {"scopes": "unknown"}})
    if not cleaned:
        raise InvalidInputError(f"give at least one scope: {', '.join(known)}",
                                {"fields": {"scopes": "is required"}})
    return cleaned


def create(db: Database, name: str, scopes: Iterable[str], *,
           expires_at: datetime | None = None, user: User | None = None) -> tuple[ApiKey, str]:
    """A new credential and its secret; only the secret's hash is kept, so show it once."""
    if not isinstance(name, str) or not _ACCOUNT.match(name):
        raise InvalidInputError("the name must be 1–200 letters, digits, spaces, '.', '_', "
                                "'@', ':' or '-'", {"fields": {"name": "invalid"}})
    granted = list(PERSONAL_TOKEN_SCOPES) if user is not None else check_scopes(scopes)
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInputError("the expiry must be in the future",
                                {"fields": {"expires": "in the past"}})
    secret = _new_secret(user is not None)
    row = ApiKey(name=name, prefix=secret[:10], key_hash=_hash(secret), scopes=granted,
                 expires_at=expires_at, user_id=user.id if user is not None else None)
    with db.write() as s:
        if s.scalar(select(ApiKey.id).where(ApiKey.name == name)):
            raise ConflictError(f"an API key named '{name}' exists already",
                                {"fields": {"name": "taken"}})
        s.add(row)
        s.add(Event(instance_id=None, type="api_key_created", actor=name,
                    data={"key_id": row.id, "scopes": granted, "personal": user is not None}))
    log.info("API credential %s created (scopes %s)", name, ",".join(granted))
    return row, secret


def list_keys(db: Database, user: User | None = None) -> list[ApiKey]:
    """Every credential (or ``user``'s personal tokens), oldest first; never a secret."""
    with db.read() as s:
        query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.name)
        if user is not None:
            query = query.where(ApiKey.user_id == user.id)
        return list(s.scalars(query))


def revoke(db: Database, key_id: str, *, owner: User | None = None) -> ApiKey:
    """Stop the credential from working (``owner``: it must be one of theirs)."""
    with db.write() as s:
        row = _own_key(s, key_id, owner)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            s.add(Event(instance_id=None, type="api_key_revoked", actor=row.name,
                        data={"key_id": row.id}))
    log.info("API credential %s revoked", row.name)
    return row


def rotate(db: Database, key_id: str) -> tuple[ApiKey, str]:
    """Give the credential a new secret; the old one stops working at once."""
    with db.write() as s:
        row = _own_key(s, key_id, None)
        if row.revoked_at is not None:
            raise ConflictError(f"the API key '{row.name}' is revoked; create a new one")
        secret = _new_secret(row.user_id is not None)
        row.prefix, row.key_hash, row.rotated_at = secret[:10], _hash(secret), utcnow()
        s.add(Event(instance_id=None, type="api_key_rotated", actor=row.name,
                    data={"key_id": row.id}))
    log.info("API credential %s rotated", row.name)
    return row, secret


def authenticate(db: Database, secret: str) -> tuple[Principal | None, str]:
    """The principal of ``secret``, or None and why not (unknown, revoked, expired...)."""
    if not isinstance(secret, str) or not secret:
        return None, "no key"
    digest = _hash(secret)
    # the credential is read afresh on every request, so a revocation, rotation or expiry
    # counts from the next request on, in every process
    with db.read_plain() as connection:
        rows = _BY_PREFIX.fetch(connection, {"prefix": secret[:10]})
    found = next((r for r in rows if secrets.compare_digest(r["key_hash"], digest)), None)
    row = SimpleNamespace(**found) if found is not None else None
    person = None
    if row is not None and row.user_id:  # a personal token acts as its person
        with db.read() as s:
            person = s.get(User, row.user_id)
    if row is None:
        return None, "the API key is not valid"
    if row.revoked_at is not None:
        return None, "the API key has been revoked"
    now = utcnow()
    if row.expires_at is not None and row.expires_at <= now:
        return None, f"the API key expired at {row.expires_at:%Y-%m-%d %H:%M} UTC"
    if row.user_id and (person is None or not person.active):
        return None, "the token's owner is deactivated"
    if row.last_used_at is None or row.last_used_at < now - USE_RECORDED_EVERY:
        with db.write_core() as connection:  # once a minute at most: most only read
            connection.execute(_RECORD_USE, {"key_id": row.id, "now": now})
    return Principal(row.id, row.name, frozenset(row.scopes or ()), person), ""


def require(principal: Principal, scope: Scope | str, what: str) -> None:
    """``ForbiddenError`` unless the principal has ``scope``."""
    if not principal.allows(scope):
        raise ForbiddenError(f"the API key '{principal.account}' lacks the scope '{scope}' "
                             f"needed to {what}", {"needed_scope": str(scope),
                                                   "account": principal.account})


def _own_key(s: Session, key_id: str, owner: User | None) -> ApiKey:
    row = s.get(ApiKey, key_id)
    if row is None or (owner is not None and row.user_id != owner.id):
        raise NotFoundError(f"no API key with id '{key_id}'", {"id": key_id})
    return row


def _new_secret(personal: bool) -> str:
    return (PERSONAL_PREFIX if personal else SECRET_PREFIX) + secrets.token_urlsafe(32)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
