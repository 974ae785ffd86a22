"""IdentityService: people who sign in, API keys of systems, sign-in throttling, the audit."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import select

from . import users
from .core import Core
from .errors import ConflictError
from .models import ApiKey, HumanTask, User


class IdentityService:
    """Accounts and keys, and who may see what (Camunda's IdentityService)."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self.db = core.db
        self._throttle = users.Throttle.from_settings(core.settings)

    # -- people ---------------------------------------------------------------------------

    def create_user(self, name: str, password: str, *, groups: list[str], role: str,
                    display_name: str | None = None, email: str | None = None) -> User:
        """Add a user; refuse a taken name, an unknown role, bad groups or a weak password."""
        return users.create_user(self.db, name, password, groups=groups, role=role,
                                 display_name=display_name, email=email)

    def list_users(self) -> list[User]:
        return users.list_users(self.db)

    def user(self, user_id: str) -> User | None:
        return users.get_user(self.db, user_id)

    def user_by_name(self, name: str) -> User | None:
        return users.get_user_by_name(self.db, name)

    def set_password(self, name: str, password: str) -> User:
        """Give ``name`` a new password; sessions signed in with the old one end."""
        return users.set_password(self.db, name, password)

    def deactivate(self, name: str) -> User:
        """Stop ``name`` from signing in (their sessions end); their history stays."""
        return users.deactivate(self.db, name)

    def ensure_demo_users(self) -> list[str]:
        """Create the demo users when there are no users at all; return the names created."""
        return users.ensure_demo_users(self.db)

    # -- signing in -----------------------------------------------------------------------

    def blocked_for(self, name: str, address: str) -> int:
        """Seconds until ``name`` may try a password again from ``address``; 0: now."""
        return self._throttle.blocked_for(self.db, name, address)

    def authenticate(self, name: str, password: str, address: str) -> User | None:
        """The active user with this name and password, or None (a failure is counted)."""
        user = users.authenticate(self.db, name, password) if name and password else None
        if user is None:
            return None
        self._throttle.succeeded(self.db, name, address)
        return user

    def sign_in_failed(self, name: str, address: str) -> bool:
        """Count a wrong password; return True when this one locked the name out."""
        return self._throttle.failed(self.db, name, address)

    @property
    def lockout_seconds(self) -> int:
        return int(self._throttle.lockout.total_seconds())

    def audit(self, type_: str, actor: str | None, **data: Any) -> None:
        """Append a security event (sign-in, refusal) to the audit trail."""
        users.audit(self.db, type_, actor, **data)

    # -- who may see what -----------------------------------------------------------------

    @staticmethod
    def can_see_task(user: User, task: HumanTask) -> bool:
        """Admins see every task; others those of their groups or assigned or offered them."""
        return users.can_see_task(user, task)

    def masked_for(self, user: User | None, data: Any) -> Any:
        """``data`` with personal values masked unless ``user`` may see them."""
        if users.can_see_personal_data(user, self._core.settings):
            return data
        return self._core.protector.mask_variables(data)

    # -- systems --------------------------------------------------------------------------

    def create_api_key(self, name: str) -> str:
        """Create an API key and return it; only its hash is stored, so show it once."""
        secret = "bf_" + secrets.token_urlsafe(32)
        with self.db.write() as s:
            if s.scalar(select(ApiKey.id).where(ApiKey.name == name)):
                raise ConflictError(f"an API key named '{name}' exists already")
            s.add(ApiKey(name=name, prefix=secret[:10], key_hash=_hash_key(secret)))
        return secret

    def check_api_key(self, secret: str) -> str | None:
        """Return the key's name when ``secret`` is a valid, unrevoked key."""
        with self.db.read() as s:
            rows = list(s.scalars(select(ApiKey).where(ApiKey.prefix == secret[:10],
                                                       ApiKey.revoked_at.is_(None))))
        digest = _hash_key(secret)
        for row in rows:
            if secrets.compare_digest(row.key_hash, digest):
                return row.name
        return None


def _hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
