"""The OAuth 2.0 token endpoint (client-credentials flow), as Salesforce answers it."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from .core import Crm, OAuthError

bp = Blueprint("oauth", __name__, url_prefix="/services/oauth2")


@bp.post("/token")
def token() -> ResponseReturnValue:
    """Issue an access token for the configured client."""
    crm: Crm = current_app.extensions["sandbox_crm"]
    form = request.form
    client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    if request.authorization and request.authorization.type == "basic":
        client_id = request.authorization.username or client_id
        client_secret = request.authorization.password or client_secret
    try:
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "grant type not supported")
        body = crm.issue_token(client_id, client_secret, request.host_url.rstrip("/"))
    except OAuthError as exc:
        response = jsonify({"error": exc.error, "error_description": exc.description})
        response.status_code = exc.status
        return response
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
