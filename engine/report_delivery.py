"""``reports.deliver``: e-mail a stored report's files to the groups a process names.

The files attached are the stored ones, byte for byte, so the mail and the download carry
the same file (the same SHA-256). The engine knows the mail connector only by its operation
name, ``notify.email``, which it calls through the registry like any service task.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from . import report_render, stored_reports
from .db import Database
from .errors import EngineError, NotFoundError
from .models import User
from .registry import CallContext, OperationRegistry

log = logging.getLogger(__name__)

MAIL_OPERATION = "notify.email"
DEFAULT_FILES = (".xlsx", ".pdf")
MAX_GROUPS = 20
_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # as users.py names groups


class DeliveryError(EngineError):
    """A report that cannot be delivered as asked (no such file, a group nobody can be mailed
    in): a person must fix the process or the users, so it is not retried."""

    code = "report_not_delivered"
    retryable = False


def _names(value: Any, what: str) -> list[str]:
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise DeliveryError(f"'{what}' must be a list of names or a comma-separated text")
    return [i.strip() for i in items if i.strip()]


def group_addresses(db: Database, groups: list[str]) -> dict[str, list[str]]:
    """Per group, the e-mail addresses of its active users (a user in two groups once)."""
    with db.read() as s:
        users = list(s.scalars(select(User).where(User.active.is_(True),
                                                  User.email.is_not(None))))
    return {g: sorted({u.email for u in users if u.email and g in (u.groups or [])})
            for g in groups}


def _recipients(db: Database, params: dict[str, Any]) -> list[str]:
    groups = _names(params.get("groups"), "groups")
    extra = _names(params.get("to"), "to")
    if len(groups) > MAX_GROUPS:
        raise DeliveryError(f"'groups' names {len(groups)} groups; at most {MAX_GROUPS}")
    bad = [g for g in groups if not _GROUP.match(g)]
    if bad:
        raise DeliveryError(f"'groups': {', '.join(map(repr, bad))} is not a group name")
    if not groups and not extra:
        raise DeliveryError("reports.deliver needs 'groups' (Bridgeflow groups) or 'to' "
                            "(addresses) to send the report to")
    found = group_addresses(db, groups)
    nobody = [g for g, addresses in found.items() if not addresses]
    if nobody:
        raise DeliveryError(
            f"no active user with an e-mail address is in the group(s) "
            f"{', '.join(map(repr, nobody))}: add one, or give the users of the group an "
            "e-mail address, then retry the incident", {"groups": nobody})
    unique: dict[str, str] = {}
    for address in [a for g in groups for a in found[g]] + extra:
        unique.setdefault(address.lower(), address)
    return list(unique.values())


def _files(db: Database, report: stored_reports.Report,
           wanted: list[str]) -> list[stored_reports.ReportFile]:
    names = [f.name for f in report.files]
    chosen = wanted or [n for n in names if n.endswith(DEFAULT_FILES)]
    missing = [n for n in chosen if n not in names]
    if missing:
        raise DeliveryError(f"report {report.id} has no file(s) {', '.join(map(repr, missing))}"
                            f"; it has {', '.join(names)}", {"files": missing})
    if not chosen:
        raise DeliveryError(f"report {report.id} has no XLSX or PDF file to attach; name the "
                            f"files to send in 'files' ({', '.join(names)})")
    return [stored_reports.file(db, report.id, n) for n in chosen]


def _body(report: stored_reports.Report, files: list[stored_reports.ReportFile]) -> str:
    summary = report.summary or {}
    lines = [report.title, ""]
    if summary.get("period_label"):
        lines.append(f"Period: {summary['period_label']}")
    if summary.get("data_as_of"):
        lines.append("Data as of: " + report_render.format_value(summary["data_as_of"],
                                                                 "datetime"))
    lines += ["", "Attached: " + ", ".join(f.name for f in files),
              f"The report is kept in Bridgeflow as report {report.id}."]
    return "\n".join(lines) + "\n"


def deliver_operation(db: Database,
                      registry: Callable[[], OperationRegistry]) -> Callable[..., dict[str, Any]]:
    """``reports.deliver``: params ``report_id``, ``groups`` and/or ``to``, optional
    ``subject``, ``body`` and ``files`` (names; the XLSX and PDF by default); result
    ``{message_id, recipients, files: [{name, sha256, size}]}``."""
    def deliver(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        report_id = params.get("report_id")
        if not isinstance(report_id, str) or not report_id:
            raise DeliveryError("reports.deliver needs 'report_id' (what reports.store "
                                "answered)")
        try:
            report = stored_reports.get(db, report_id)
        except NotFoundError as exc:
            raise DeliveryError(exc.message, exc.details) from exc
        recipients = _recipients(db, params)
        files = _files(db, report, _names(params.get("files"), "files"))
        mail = registry().get(MAIL_OPERATION)
        if mail is None:
            raise DeliveryError(f"no '{MAIL_OPERATION}' connector is configured: set the "
                                "SMTP settings (BRIDGEFLOW_SMTP_HOST...) to e-mail reports")
        sent = mail.fn({
            "to": recipients, "subject": params.get("subject") or report.title,
            "body": params.get("body") or _body(report, files),
            "attachments": [{"filename": f.name, "content_type": f.media_type,
                             "content_base64": base64.b64encode(f.content).decode()}
                            for f in files]}, ctx)
        log.info("report %s e-mailed with %d file(s)", report.id, len(files),
                 extra={"instance_id": ctx.instance_id, "element_id": ctx.element_id})
        return {"message_id": sent.get("message_id"), "recipients": sent.get("recipients"),
                "files": [{"name": f.name, "sha256": f.sha256, "size": f.size}
                          for f in files]}
    return deliver
