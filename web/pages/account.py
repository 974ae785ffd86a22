"""The signed-in person's own account: personal API tokens for the REST API."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import InvalidInputError, NotFoundError

from ..auth import login_required
from .common import engine, me

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("/tokens")
@login_required
def tokens() -> str:
    """List my personal tokens (never their secrets) with a form to create one."""
    return render_template("account/tokens.html",
                           tokens=engine().identity.personal_tokens(me()))


@bp.post("/tokens")
@login_required
def create_token() -> ResponseReturnValue:
    """Create a token that acts as me; its secret is shown on this one page only."""
    label = request.form.get("label", "")
    try:
        secret = engine().identity.create_personal_token(me(), label)
    except InvalidInputError as exc:
        return render_template("account/tokens.html", label=label, error=exc.message,
                               tokens=engine().identity.personal_tokens(me())), 422
    response = render_template("account/tokens.html", secret=secret, label=label.strip(),
                               tokens=engine().identity.personal_tokens(me()))
    return response, 201


@bp.post("/tokens/<token_id>/revoke")
@login_required
def revoke_token(token_id: str) -> ResponseReturnValue:
    """Revoke one of my tokens; it stops working at once."""
    try:
        token = engine().identity.revoke_personal_token(me(), token_id)
    except NotFoundError:
        flash("There is no such token among yours.", "error")
        return redirect(url_for("account.tokens")), 303
    flash(f"The token “{token.name.partition(':')[2]}” is revoked.", "success")
    return redirect(url_for("account.tokens"))
