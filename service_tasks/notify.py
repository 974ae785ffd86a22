"""E-mail notifications over SMTP: the ``notify.email`` operation.

SMTP and TLS failures are translated here, once, into the connector error tree:

- invalid addresses, a subject with a line break → ``InvalidParameters`` (a modelling mistake);
- connection refused, timeout, a dropped connection, any 4xx reply → ``TransientError``;
- a recipient (or the message) refused with a 5xx reply → ``BusinessRuleError``
  ``email_rejected``, naming the refused recipients;
- refused credentials → ``AuthenticationError``; an untrusted certificate, a server without
  STARTTLS, a refused sender → ``ConnectorError`` (an administrator must fix the settings).

The Message-ID is derived from the call's idempotency key, so a retried send carries the
same Message-ID as the first try and mail clients and people can recognise the repeat.
The body is never logged; addresses only at DEBUG.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from typing import Any, Literal

from service_tasks.base import (
    AuthenticationError,
    BusinessRuleError,
    CallInfo,
    ConnectorError,
    InvalidParameters,
    TransientError,
    require,
)

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "ssl"]
Operation = Callable[[dict[str, Any], CallInfo], dict[str, Any]]
SECURITY_MODES = ("none", "starttls", "ssl")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_FILENAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_CONTENT_TYPE = re.compile(r"^([a-z]+)/([a-z0-9][a-z0-9.+-]{0,99})$")
MAX_ATTACHMENTS = 20
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # all attachments of one mail, decoded
_DOMAIN = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                     r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class SentEmail:
    """What the mail server accepted: the message's id and the recipients it took."""

    message_id: str
    recipients: list[str]


@dataclass(frozen=True)
class Attachment:
    """A file attached to a mail: a safe file name, its media type and its bytes."""

    filename: str
    maintype: str
    subtype: str
    content: bytes


def safe_filename(name: str) -> str:
    """``name`` without any path and with only letters, digits, ``.``, ``_`` and ``-``."""
    base = name.replace("\\", "/").rpartition("/")[2]
    cleaned = _FILENAME_BAD.sub("_", base).strip("._")[:100]
    return cleaned or "attachment"


def attachments_of(value: Any) -> list[Attachment]:
    """The ``attachments`` parameter (``[{filename, content_type, content_base64}]``)
    checked and decoded; ``InvalidParameters`` names what is wrong."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_ATTACHMENTS:
        raise InvalidParameters(f"'attachments' must be a list of at most {MAX_ATTACHMENTS} "
                                "files", {"invalid": ["attachments"]})
    result, total = [], 0
    for i, item in enumerate(value):
        where = f"attachments[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("filename"), str) \
                or not isinstance(item.get("content_base64"), str):
            raise InvalidParameters(f"{where} needs 'filename' and 'content_base64' (text)",
                                    {"invalid": [where]})
        media = str(item.get("content_type") or "application/octet-stream")
        match = _CONTENT_TYPE.match(media.partition(";")[0].strip().lower())
        if match is None:
            raise InvalidParameters(f"{where}.content_type {media!r} is not a media type such "
                                    "as application/pdf", {"invalid": [f"{where}.content_type"]})
        encoded = item["content_base64"]
        if (len(encoded) // 4) * 3 > MAX_ATTACHMENT_BYTES + 3:
            raise _too_large()
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidParameters(f"{where}.content_base64 is not base64",
                                    {"invalid": [f"{where}.content_base64"]}) from None
        total += len(content)
        if total > MAX_ATTACHMENT_BYTES:
            raise _too_large()
        result.append(Attachment(safe_filename(item["filename"]), match.group(1),
                                 match.group(2), content))
    return result


def _too_large() -> InvalidParameters:
    return InvalidParameters(f"the attachments take more than {MAX_ATTACHMENT_BYTES:,} bytes, "
                             "the most one mail carries", {"invalid": ["attachments"]})


def parse_address(text: Any) -> tuple[str, str] | None:
    """``(display name, address)`` of one address such as ``Ann <ann@example.com>``, or None.

    Only plain ASCII addresses are accepted; a comma or semicolon means several addresses,
    which must be passed as a list.
    """
    if not isinstance(text, str) or any(c in text for c in "\r\n,;") or not text.strip():
        return None
    name, address = parseaddr(text.strip())
    local, at, domain = address.rpartition("@")
    if not at or len(address) > 254 or not _LOCAL.match(local) or not _DOMAIN.match(domain):
        return None
    return name, address


class EmailNotifier:
    """Sends plain-text (optionally HTML) e-mail through one SMTP server."""

    def __init__(self, host: str, port: int, *, security: Security = "none",
                 username: str | None = None, password: str | None = None, sender: str,
                 timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None) -> None:
        if security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {', '.join(SECURITY_MODES)}, "
                             f"not {security!r}")
        parsed = parse_address(sender)
        if parsed is None:
            raise ValueError(f"the sender {sender!r} is not an e-mail address")
        if username and password is None:
            raise ValueError("a username needs a password")
        self.host, self.port, self.security = host, port, security
        self.username, self._password = username, password
        self.sender = formataddr(parsed)
        self.sender_address = parsed[1]
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()

    def __repr__(self) -> str:  # never show the password
        return f"<EmailNotifier {self.security}://{self.host}:{self.port} as {self.username}>"

    def message_id(self, idempotency_key: str) -> str:
        """The Message-ID of the mail sent under ``idempotency_key``: the same every try."""
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
        return f"<bf.{digest}@{self.sender_address.rpartition('@')[2]}>"

    def send(self, to: str | Sequence[str], subject: str, body: str, *,
             idempotency_key: str, html: str | None = None,
             reply_to: str | None = None,
             attachments: Sequence[Attachment] = ()) -> SentEmail:
        """Send one message; raise the connector error that says what went wrong."""
        recipients = _recipients(to)
        message = self.build(recipients, subject, body, html=html, reply_to=reply_to,
                             message_id=self.message_id(idempotency_key))
        for attachment in attachments:
            message.add_attachment(attachment.content, maintype=attachment.maintype,
                                   subtype=attachment.subtype, filename=attachment.filename)
        addresses = [address for _, address in recipients]
        refused = self._transmit(message, addresses)
        accepted = [a for a in addresses if a not in refused]
        if refused:
            raise _refusal(refused, accepted)
        log.debug("e-mail %s sent to %s", message["Message-ID"], ", ".join(accepted))
        return SentEmail(message["Message-ID"], accepted)

    def build(self, recipients: list[tuple[str, str]], subject: str, body: str, *,
              html: str | None, reply_to: str | None, message_id: str) -> EmailMessage:
        """The message to send, after checking what the process passed."""
        if not isinstance(subject, str) or not subject.strip():
            raise InvalidParameters("the subject is empty", {"invalid": ["subject"]})
        if "\r" in subject or "\n" in subject:
            raise InvalidParameters("the subject must be one line", {"invalid": ["subject"]})
        if not isinstance(body, str) or (html is not None and not isinstance(html, str)):
            raise InvalidParameters("body and html must be text", {"invalid": ["body"]})
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(formataddr(r) for r in recipients)
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = message_id
        if reply_to is not None:
            parsed = parse_address(reply_to)
            if parsed is None:
                raise InvalidParameters(f"invalid reply_to address: {reply_to!r}",
                                        {"invalid": [str(reply_to)]})
            message["Reply-To"] = formataddr(parsed)
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
        return message

    def _transmit(self, message: EmailMessage,
                  addresses: list[str]) -> dict[str, tuple[int, bytes]]:
        where = f"{self.host}:{self.port}"
        try:
            with self._connect() as smtp:
                if self.security == "starttls":
                    smtp.starttls(context=self.ssl_context)
                if self.username:
                    smtp.login(self.username, self._password or "")
                refused: dict[str, tuple[int, bytes]] = smtp.send_message(
                    message, from_addr=self.sender_address, to_addrs=addresses)
                return refused
        except smtplib.SMTPException as exc:
            raise _smtp_error(exc, where, self.sender_address, addresses) from exc
        except ssl.SSLCertVerificationError as exc:
            raise ConnectorError(f"the certificate of the mail server {where} is not "
                                 f"trusted: {exc.verify_message}", {"server": where}) from exc
        except ssl.SSLError as exc:
            raise ConnectorError(f"TLS with the mail server {where} failed ({exc.reason}); "
                                 "check the security setting (none, starttls or ssl) and the "
                                 "port", {"server": where}) from exc
        except (TimeoutError, OSError) as exc:
            raise TransientError(f"cannot reach the mail server {where}: "
                                 f"{exc.strerror or exc.__class__.__name__}",
                                 {"server": where}) from exc

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    context=self.ssl_context)
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)


def _recipients(to: Any) -> list[tuple[str, str]]:
    items = [to] if isinstance(to, str) else to
    if not isinstance(items, list | tuple) or not items:
        raise InvalidParameters("'to' must be an address or a non-empty list of addresses",
                                {"invalid": ["to"]})
    parsed = [(item, parse_address(item)) for item in items]
    invalid = [str(item) for item, p in parsed if p is None]
    if invalid:
        raise InvalidParameters(f"invalid e-mail address(es): {', '.join(map(repr, invalid))}",
                                {"invalid": invalid})
    unique: dict[str, tuple[str, str]] = {}
    for _, p in parsed:
        assert p is not None
        unique.setdefault(p[1].lower(), p)
    return list(unique.values())


def _refusal(refused: dict[str, tuple[int, bytes]], accepted: list[str]) -> ConnectorError:
    """The error for recipients the server refused (the others got the message)."""
    permanent = {a: r for a, r in refused.items() if r[0] >= 500}
    replies = "; ".join(f"{a}: {code} {_text(reply)}" for a, (code, reply) in refused.items())
    details = {"rejected": sorted(refused), "delivered_to": accepted,
               "smtp_codes": {a: r[0] for a, r in refused.items()}}
    if permanent:
        return BusinessRuleError("email_rejected", f"the mail server refused "
                                 f"{', '.join(sorted(permanent))} ({replies})", details)
    return TransientError(f"the mail server deferred the recipient(s) ({replies})", details)


def _smtp_error(exc: smtplib.SMTPException, where: str, sender: str,
                addresses: list[str]) -> ConnectorError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _refusal(dict(exc.recipients), [])
    code = getattr(exc, "smtp_code", 0)
    reply = _text(getattr(exc, "smtp_error", b""))
    said = f"{code} {reply}" if code else str(exc)
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError) or (
            400 <= code < 500):
        return TransientError(f"the mail server {where} is not available now: {said}",
                              {"server": where})
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return AuthenticationError(f"the mail server {where} refused the login: {code} {reply}",
                                   {"server": where})
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return ConnectorError(f"the mail server {where} refused the sender {sender}: "
                              f"{code} {reply}", {"server": where})
    if isinstance(exc, smtplib.SMTPDataError):
        return BusinessRuleError("email_rejected", f"the mail server {where} refused the "
                                 f"message for {', '.join(addresses)}: {code} {reply}",
                                 {"rejected": addresses, "smtp_codes": {"message": code}})
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return ConnectorError(f"the mail server {where} does not support what the settings "
                              f"ask for: {exc}", {"server": where})
    return ConnectorError(f"the mail server {where} answered {said}", {"server": where})


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def operations(notifier: EmailNotifier) -> dict[str, Operation]:
    """The operations to register: ``notify.email`` {to, subject, body, html?, reply_to?,
    attachments?: [{filename, content_type, content_base64}]}."""

    def email(params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
        to, subject, body = require(params, "to", "subject", "body")
        files = attachments_of(params.get("attachments"))
        sent = notifier.send(to, subject, body, idempotency_key=ctx.idempotency_key,
                             html=params.get("html"), reply_to=params.get("reply_to"),
                             attachments=files)
        log.info("e-mail %s sent to %d recipient(s)", sent.message_id, len(sent.recipients),
                 extra={"instance_id": ctx.instance_id, "element_id": ctx.element_id})
        return {"message_id": sent.message_id, "recipients": sent.recipients}

    return {"notify.email": email}
