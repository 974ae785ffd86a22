"""notify.email against a real SMTP server (aiosmtpd) on a free local port."""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from service_tasks.base import (
    AuthenticationError,
    BusinessRuleError,
    ConnectorError,
    InvalidParameters,
    TransientError,
)
from service_tasks.notify import EmailNotifier, operations

from ..conftest import require

SENDER = "Bridgeflow <bridgeflow@example.com>"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """An aiosmtpd handler: refuses gone@ (550) and full@ (452), keeps everything else."""

    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("full@"):
            return "452 4.2.2 mailbox full, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@dataclass
class Server:
    port: int
    mailbox: Mailbox


class Ctx:
    def __init__(self, key: str = "inst-1:notify_owner") -> None:
        self.instance_id, self.element_id = key.split(":")
        self.business_key = "801000000000001AAA"
        self.attempt = 1
        self.idempotency_key = key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start aiosmtpd servers with the given options; stop them after the test."""
    controllers: list[Controller] = []

    def start(**options: Any) -> Server:
        mailbox = Mailbox()
        controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        controllers.append(controller)
        return Server(controller.port, mailbox)

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def server(serve: Any) -> Server:
    started: Server = serve()
    return started


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    require(shutil.which("openssl") is not None,
            "the openssl command is not installed: TLS tests need it for a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"bridgeflow", b"s3cret")
    return AuthResult(success=ok, handled=False)  # False: the server answers 535 itself


def notifier(port: int, **options: Any) -> EmailNotifier:
    return EmailNotifier("127.0.0.1", port, sender=SENDER, timeout=2, **options)


# -- what arrives ----------------------------------------------------------------------------

def test_the_server_receives_headers_body_and_recipients(server: Server) -> None:
    send = operations(notifier(server.port))["notify.email"]
    result = send({"to": ["Sales Owner <owner@example.com>", "OWNER@example.com",
                          "finance@example.org"],
                   "subject": "Auftrag 801 bestätigt", "body": "Order 801 is in the ERP.\n",
                   "reply_to": "support@example.com"}, Ctx())
    [mail] = server.mailbox.received
    assert mail.mail_from == "bridgeflow@example.com"
    assert mail.rcpt_tos == ["owner@example.com", "finance@example.org"]
    message = mail.message
    assert message["From"] == SENDER
    assert message["To"] == "Sales Owner <owner@example.com>, finance@example.org"
    assert message["Subject"] == "Auftrag 801 bestätigt"
    assert message["Reply-To"] == "support@example.com"
    assert message.get_content_type() == "text/plain"
    assert message.get_content().replace("\r\n", "\n") == "Order 801 is in the ERP.\n"
    assert result == {"message_id": message["Message-ID"],
                      "recipients": ["owner@example.com", "finance@example.org"]}


def test_html_is_sent_as_an_alternative(server: Server) -> None:
    notifier(server.port).send("owner@example.com", "Restocked", "BF-210 is back.",
                               html="<p><b>BF-210</b> is back.</p>", idempotency_key="k")
    message = server.mailbox.received[0].message
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and plain.get_content().strip() == "BF-210 is back."
    assert html is not None and "<b>BF-210</b>" in html.get_content()


def test_a_retried_send_carries_the_same_message_id(server: Server) -> None:
    send = operations(notifier(server.port))["notify.email"]
    first = send({"to": "owner@example.com", "subject": "s", "body": "b"}, Ctx("i-1:task"))
    retried = send({"to": "owner@example.com", "subject": "s", "body": "b"}, Ctx("i-1:task"))
    other = send({"to": "owner@example.com", "subject": "s", "body": "b"}, Ctx("i-2:task"))
    ids = [r.message["Message-ID"] for r in server.mailbox.received]
    assert ids == [first["message_id"], first["message_id"], other["message_id"]]
    assert retried == first
    assert first["message_id"] != other["message_id"]
    assert first["message_id"].startswith("<bf.") and first["message_id"].endswith(
        "@example.com>")


def test_the_body_is_never_logged(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="service_tasks.notify")
    send = operations(notifier(server.port))["notify.email"]
    send({"to": "owner@example.com", "subject": "Refund", "body": "IBAN DE89 3704 0044"},
         Ctx())
    assert "sent to 1 recipient(s)" in caplog.text
    assert "IBAN" not in caplog.text
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert not any("owner@example.com" in line for line in info)


# -- refusals --------------------------------------------------------------------------------

@pytest.mark.parametrize("to,bad", [
    ("not-an-address", ["not-an-address"]),
    (["ok@example.com", "a@b", "x@@example.com"], ["a@b", "x@@example.com"]),
    ("one@example.com, two@example.com", ["one@example.com, two@example.com"]),
    ("evil@example.com\r\nBcc: all@example.com", ["evil@example.com\r\nBcc: all@example.com"]),
])
def test_invalid_addresses_are_named_and_nothing_is_sent(server: Server, to: Any,
                                                         bad: list[str]) -> None:
    send = operations(notifier(server.port))["notify.email"]
    with pytest.raises(InvalidParameters) as exc:
        send({"to": to, "subject": "s", "body": "b"}, Ctx())
    assert exc.value.details["invalid"] == bad
    assert all(repr(b) in exc.value.message for b in bad)
    assert server.mailbox.received == []


@pytest.mark.parametrize("params,message", [
    ({"to": "a@example.com", "body": "b"}, "missing parameter(s): subject"),
    ({"to": [], "subject": "s", "body": "b"}, "'to' must be an address"),
    ({"to": "a@example.com", "subject": "a\nBcc: x@example.com", "body": "b"},
     "the subject must be one line"),
    ({"to": "a@example.com", "subject": "s", "body": "b", "reply_to": "nope"},
     "invalid reply_to address: 'nope'"),
])
def test_bad_parameters_are_refused(server: Server, params: dict[str, Any],
                                    message: str) -> None:
    with pytest.raises(InvalidParameters) as exc:
        operations(notifier(server.port))["notify.email"](params, Ctx())
    assert message in exc.value.message
    assert server.mailbox.received == []


def test_a_permanently_refused_recipient_is_a_business_error(server: Server) -> None:
    with pytest.raises(BusinessRuleError) as exc:
        notifier(server.port).send(["owner@example.com", "gone@example.com"], "s", "b",
                                   idempotency_key="k")
    assert exc.value.code == "email_rejected"
    assert "gone@example.com" in exc.value.message and "550" in exc.value.message
    assert exc.value.details["rejected"] == ["gone@example.com"]
    assert exc.value.details["delivered_to"] == ["owner@example.com"]
    assert [r.rcpt_tos for r in server.mailbox.received] == [["owner@example.com"]]


def test_a_temporarily_refused_recipient_is_transient(server: Server) -> None:
    with pytest.raises(TransientError) as exc:
        notifier(server.port).send("full@example.com", "s", "b", idempotency_key="k")
    assert "452" in exc.value.message and exc.value.details["rejected"] == ["full@example.com"]
    assert server.mailbox.received == []


def test_a_server_that_is_down_is_transient() -> None:
    with pytest.raises(TransientError, match="cannot reach the mail server 127.0.0.1:"):
        notifier(free_port()).send("owner@example.com", "s", "b", idempotency_key="k")


def test_a_server_that_does_not_answer_times_out_as_transient() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        slow = EmailNotifier("127.0.0.1", silent.getsockname()[1], sender=SENDER, timeout=0.3)
        with pytest.raises(TransientError, match="is not available now: .*timed out"):
            slow.send("owner@example.com", "s", "b", idempotency_key="k")


# -- TLS and authentication ------------------------------------------------------------------

def test_starttls_with_login(serve: Any, certificate: tuple[Path, Path]) -> None:
    server = serve(tls_context=server_tls(certificate), require_starttls=True,
                   auth_required=True, auth_require_tls=True, authenticator=authenticator)
    notifier(server.port, security="starttls", username="bridgeflow", password="s3cret",
             ssl_context=client_tls(certificate)).send("owner@example.com", "TLS", "b",
                                                       idempotency_key="k")
    assert [r.message["Subject"] for r in server.mailbox.received] == ["TLS"]


def test_refused_credentials_are_an_authentication_error(serve: Any,
                                                         certificate: tuple[Path, Path]) -> None:
    server = serve(tls_context=server_tls(certificate), require_starttls=True,
                   auth_required=True, auth_require_tls=True, authenticator=authenticator)
    sender = notifier(server.port, security="starttls", username="bridgeflow",
                      password="wrong", ssl_context=client_tls(certificate))
    with pytest.raises(AuthenticationError, match="refused the login: 535") as exc:
        sender.send("owner@example.com", "s", "b", idempotency_key="k")
    assert "wrong" not in str(exc.value) and "wrong" not in repr(sender)
    assert server.mailbox.received == []


def test_a_server_that_requires_tls_refuses_plain_sending(
        serve: Any, certificate: tuple[Path, Path]) -> None:
    server = serve(tls_context=server_tls(certificate), require_starttls=True)
    with pytest.raises(ConnectorError) as exc:
        notifier(server.port).send("owner@example.com", "s", "b", idempotency_key="k")
    assert "530" in exc.value.message and not isinstance(exc.value, TransientError)


def test_implicit_tls(serve: Any, certificate: tuple[Path, Path]) -> None:
    server = serve(ssl_context=server_tls(certificate))
    notifier(server.port, security="ssl", ssl_context=client_tls(certificate)).send(
        "owner@example.com", "SMTPS", "b", idempotency_key="k")
    assert [r.message["Subject"] for r in server.mailbox.received] == ["SMTPS"]


def test_an_untrusted_certificate_is_not_retried(serve: Any,
                                                 certificate: tuple[Path, Path]) -> None:
    server = serve(ssl_context=server_tls(certificate))
    with pytest.raises(ConnectorError, match="is not trusted") as exc:
        notifier(server.port, security="ssl").send("owner@example.com", "s", "b",
                                                   idempotency_key="k")
    assert not isinstance(exc.value, TransientError)
    assert server.mailbox.received == []


def test_settings_are_checked_when_the_notifier_is_made() -> None:
    with pytest.raises(ValueError, match="security must be one of"):
        EmailNotifier("localhost", 25, security="tls", sender=SENDER)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not an e-mail address"):
        EmailNotifier("localhost", 25, sender="bridgeflow")
