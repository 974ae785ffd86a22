"""notify.email with attachments, against the real SMTP server (aiosmtpd) of test_notify."""

from __future__ import annotations

import base64
import hashlib

import pytest

from service_tasks.base import InvalidParameters
from service_tasks.notify import MAX_ATTACHMENT_BYTES, attachments_of, operations

from .test_notify import Ctx, Server, notifier, serve, server  # noqa: F401 - fixtures

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


def attachment(name: str, content: bytes, media: str = "application/pdf") -> dict[str, str]:
    return {"filename": name, "content_type": media,
            "content_base64": base64.b64encode(content).decode()}


def test_attachments_arrive_byte_for_byte(server: Server) -> None:  # noqa: F811
    send = operations(notifier(server.port))["notify.email"]
    send({"to": "finance@example.org", "subject": "Sales report: November 2026",
          "body": "Attached.", "attachments": [
              attachment("sales-2026-11.pdf", PDF),
              attachment("sales-2026-11-by_customer.csv", "\ufeffKunde,€\r\n".encode(),
                         "text/csv; charset=utf-8")]}, Ctx())
    message = server.mailbox.received[0].message
    assert message.get_content_type() == "multipart/mixed"
    body = message.get_body(("plain",))
    assert body is not None and body.get_content().strip() == "Attached."
    parts = {p.get_filename(): p for p in message.iter_attachments()}
    assert list(parts) == ["sales-2026-11.pdf", "sales-2026-11-by_customer.csv"]
    assert parts["sales-2026-11.pdf"].get_content_type() == "application/pdf"
    pdf = parts["sales-2026-11.pdf"].get_payload(decode=True)
    assert hashlib.sha256(pdf).hexdigest() == hashlib.sha256(PDF).hexdigest()
    assert parts["sales-2026-11-by_customer.csv"].get_payload(decode=True) == \
        "\ufeffKunde,€\r\n".encode()


def test_a_file_name_loses_its_path_and_odd_characters(server: Server) -> None:  # noqa: F811
    send = operations(notifier(server.port))["notify.email"]
    send({"to": "a@example.org", "subject": "s", "body": "b",
          "attachments": [attachment("../../etc/pass wd\r\n.pdf", b"x")]}, Ctx())
    [part] = server.mailbox.received[0].message.iter_attachments()
    assert part.get_filename() == "pass_wd_.pdf"


@pytest.mark.parametrize(("value", "message"), [
    ("report.pdf", "'attachments' must be a list"),
    ([{"filename": "a.pdf"}], r"attachments\[0\] needs 'filename' and 'content_base64'"),
    ([{"filename": "a.pdf", "content_base64": "not base64!"}],
     r"attachments\[0\].content_base64 is not base64"),
    ([{"filename": "a.pdf", "content_base64": "", "content_type": "pdf"}],
     r"attachments\[0\].content_type 'pdf' is not a media type"),
    ([attachment(f"{i}.txt", b"x") for i in range(21)], "at most 20 files"),
    ([attachment("a.bin", b"x" * (MAX_ATTACHMENT_BYTES // 2 + 1)),
      attachment("b.bin", b"x" * (MAX_ATTACHMENT_BYTES // 2 + 1))],
     "more than 20,971,520 bytes"),
])
def test_bad_attachments_are_refused_and_nothing_is_sent(server: Server,  # noqa: F811
                                                         value: object, message: str) -> None:
    with pytest.raises(InvalidParameters, match=message):
        attachments_of(value)
    send = operations(notifier(server.port))["notify.email"]
    with pytest.raises(InvalidParameters, match=message):
        send({"to": "a@example.org", "subject": "s", "body": "b", "attachments": value}, Ctx())
    assert server.mailbox.received == []
