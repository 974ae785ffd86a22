"""IdentityService: people who sign in, API keys of systems, sign-in throttling, the audit."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from . import credentials, users
from .core import Core
from .credentials import Principal
from .errors import ForbiddenError, InvalidInputError, UnauthenticatedError
from .models import ApiKey, Event, HumanTask, User
from .prepared import Prepared
from .vocabulary import Scope

log = logging.getLogger(__name__)
# what ``acting_as`` needs of the person (built once: it runs on every task action)
_ROLE_OF = Prepared(select(User.role).where(User.name == bindparam("name")))


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

    def security_events(self, limit: int = 50, type_: str | None = None) -> list[Event]:
        """The newest security events (refusals, sign-ins, keys made), newest first."""
        return users.security_events(self.db, limit, type_)

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

    # -- sessions -------------------------------------------------------------------------

    def end_sessions(self, user: User) -> None:
        """Sign ``user`` out everywhere: every session cookie they hold stops working."""
        users.end_sessions(self.db, user.id)

    # -- API credentials ------------------------------------------------------------------

    def create_api_key(self, name: str, scopes: list[str], *,
                       expires_at: datetime | None = None) -> str:
        """Create service account ``name``'s key with ``scopes``; return its secret (once)."""
        _, secret = credentials.create(self.db, name, scopes, expires_at=expires_at)
        return secret

    def list_api_keys(self) -> list[ApiKey]:
        """Every key and personal token, without secrets (only their first characters)."""
        return credentials.list_keys(self.db)

    def revoke_api_key(self, key_id: str) -> ApiKey:
        """Stop a key or token from working, at once and for good."""
        return credentials.revoke(self.db, key_id)

    def rotate_api_key(self, key_id: str) -> str:
        """Give a key a new secret and return it; the old secret stops working."""
        _, secret = credentials.rotate(self.db, key_id)
        return secret

    def create_personal_token(self, user: User, label: str,
                              expires_at: datetime | None = None) -> str:
        """A token that acts only as ``user`` (tasks:read, tasks:act); return it (once)."""
        label = (label or "").strip()
        if not label:
            raise InvalidInputError("give the token a name, e.g. where you use it",
                                    {"fields": {"label": "is required"}})
        _, secret = credentials.create(self.db, f"{user.name}:{label}", [],
                                       expires_at=expires_at, user=user)
        return secret

    def personal_tokens(self, user: User) -> list[ApiKey]:
        """``user``'s own tokens, without secrets."""
        return credentials.list_keys(self.db, user)

    def revoke_personal_token(self, user: User, key_id: str) -> ApiKey:
        """Revoke one of ``user``'s own tokens (another's is not found)."""
        return credentials.revoke(self.db, key_id, owner=user)

    def authenticate_key(self, secret: str, where: str) -> Principal:
        """Who ``secret`` belongs to; ``UnauthenticatedError`` (audited) when nobody."""
        principal, why = credentials.authenticate(self.db, secret)
        if principal is None:
            log.warning("API request to %s refused: %s", where, why)
            users.audit(self.db, "api_key_refused", None, where=where, reason=why,
                        prefix=(secret or "")[:6])
            raise UnauthenticatedError(f"{why}; send a valid key as 'Authorization: "
                                       "Bearer <key>'")
        return principal

    def require_scope(self, principal: Principal, scopes: tuple[Scope, ...],
                      where: str) -> None:
        """``ForbiddenError`` (audited) unless ``principal`` holds one of ``scopes``."""
        if any(principal.allows(scope) for scope in scopes):
            return
        needed = " or ".join(str(scope) for scope in scopes)
        reason = f"the API key '{principal.account}' lacks the scope {needed} needed for {where}"
        self._refuse(principal, reason, where)
        raise ForbiddenError(reason, {"needed_scopes": [str(sc) for sc in scopes],
                                      "account": principal.account})

    def acting_as(self, principal: Principal, user: str | None, where: str) -> str:
        """The person a task action through the API is for: a token's own person; for a
        service account the named ``user``, given the scope ``tasks:act``."""
        self.require_scope(principal, (Scope.TASKS_ACT,), where)
        if principal.person is not None:
            if user and user != principal.person.name:
                reason = (f"a personal token acts only as {principal.person.name}, "
                          f"not as {user}")
                self._refuse(principal, reason, where)
                raise ForbiddenError(reason, {"user": user})
            return principal.person.name
        if not isinstance(user, str) or not user.strip():
            raise InvalidInputError("user is required: name the person this key acts for",
                                    {"fields": {"user": ["Missing data for required field."]}})
        # only the role here: the engine reads the person again, with the task, to check them
        with self.db.read_plain() as connection:
            found = _ROLE_OF.fetch(connection, {"name": user})
        role = found[0]["role"] if found else None
        if role == "admin" and not principal.allows(Scope.ADMIN):
            # an admin may act on any task: a key that may not administer may not borrow that
            reason = (f"the API key '{principal.account}' may act for people, not for the "
                      f"admin {user}: that needs the scope admin")
            self._refuse(principal, reason, where)
            raise ForbiddenError(reason, {"user": user, "needed_scopes": [str(Scope.ADMIN)]})
        return user

    def _refuse(self, principal: Principal, reason: str, where: str) -> None:
        log.warning("API request to %s refused for %s: %s", where, principal.via, reason)
        actor = principal.person.name if principal.person is not None else None
        users.audit(self.db, "access_denied", actor, where=where, via=principal.via,
                    reason=reason)
