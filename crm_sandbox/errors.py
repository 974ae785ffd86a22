"""The one error the CRM answers with: Salesforce's array of ``{message, errorCode, fields}``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class SalesforceError(Exception):
    """A refused API call; ``status`` is the HTTP status, ``body()`` the JSON answer."""

    def __init__(self, status: int, error_code: str, message: str,
                 fields: Sequence[str] = ()) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields)

    def body(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "errorCode": self.error_code, "fields": self.fields}]


def not_found(message: str = "The requested resource does not exist") -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", message)
