"""``bridgeflow api-keys`` and ``bridgeflow security-events``: who may call the API, and
the refusals it answered."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import click

from engine import Scope, utcnow

from .cli_common import open_engine


@click.group("api-keys")
def api_keys() -> None:
    """API keys of service accounts that call the REST API: create, list, revoke, rotate."""


SCOPES = [scope.value for scope in Scope]


def _expiry(value: str | None) -> datetime | None:
    """``--expires``: a date or time (ISO 8601, UTC) or a span from now (90d, 12h)."""
    if not value:
        return None
    span = re.fullmatch(r"(\d+)([dh])", value.strip())
    if span:
        amount = int(span.group(1))
        return utcnow() + (timedelta(days=amount) if span.group(2) == "d"
                           else timedelta(hours=amount))
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise click.BadParameter(f"'{value}' is neither a date (2027-06-30), a time "
                                 "(2027-06-30T18:00) nor a span (90d, 12h)",
                                 param_hint="--expires") from exc
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


@api_keys.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(SCOPES),
              help="What the key may do; repeat for several.")
@click.option("--expires", default=None, metavar="WHEN",
              help="When the key stops working: 2027-06-30, 2027-06-30T18:00 or 90d / 12h.")
def create_api_key(name: str, scopes: tuple[str, ...], expires: str | None) -> None:
    """Create service account NAME's key and print it; it is shown only this once."""
    expires_at = _expiry(expires)
    with open_engine() as engine:
        click.echo(engine.identity.create_api_key(name, list(scopes), expires_at=expires_at))


@api_keys.command("list")
def list_api_keys() -> None:
    """List the keys and personal tokens: id, name, scopes, expiry, state (never a secret)."""
    with open_engine() as engine:
        rows = engine.identity.list_api_keys()
        now = utcnow()
        for k in rows:
            state = ("revoked" if k.revoked_at else
                     "expired" if k.expires_at and k.expires_at <= now else "active")
            expires = f"{k.expires_at:%Y-%m-%d %H:%M}" if k.expires_at else "never"
            used = f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never"
            kind = "personal" if k.user_id else "service"
            click.echo(f"{k.id}  {k.name:<24} {kind:<8} {','.join(k.scopes):<40} "
                       f"expires {expires:<16} {state:<7} last used {used}")
        click.echo(f"{len(rows)} key(s)")


@api_keys.command("revoke")
@click.argument("key_id")
def revoke_api_key(key_id: str) -> None:
    """Stop key KEY_ID (see `api-keys list`) from working, at once."""
    with open_engine() as engine:
        key = engine.identity.revoke_api_key(key_id)
        click.echo(f"API key {key.name} revoked")


@api_keys.command("rotate")
@click.argument("key_id")
def rotate_api_key(key_id: str) -> None:
    """Give key KEY_ID a new secret and print it; the old secret stops working."""
    with open_engine() as engine:
        click.echo(engine.identity.rotate_api_key(key_id))


@click.command("security-events")
@click.option("--type", "type_", default=None,
              help="Only this kind, e.g. access_denied, api_key_refused, sign_in_failed.")
@click.option("--limit", default=50, show_default=True)
def security_events(type_: str | None, limit: int) -> None:
    """Show the newest security events: refusals, sign-ins, keys made, revoked, rotated."""
    with open_engine() as engine:
        for e in engine.identity.security_events(limit, type_):
            details = " ".join(f"{k}={v}" for k, v in sorted(e.data.items()))
            click.echo(f"{e.created_at:%Y-%m-%d %H:%M:%S}  {e.type:<16} "
                       f"{e.actor or '-':<16} {details}")
