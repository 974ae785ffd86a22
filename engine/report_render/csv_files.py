"""A report section as CSV: UTF-8 with a byte-order mark (so Excel reads it as UTF-8),
the column labels, then the rows with raw numbers and ISO dates.

A text cell a spreadsheet would take for a formula (``=``, ``+``, ``-``, ``@``, tab, CR
first) is written with a leading ``'``, as OWASP recommends against CSV injection.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from .formats import defused

MEDIA_TYPE = "text/csv; charset=utf-8"


def _raw(value: Any, fmt: str) -> Any:
    if value is None:
        return ""
    if fmt == "text" or isinstance(value, str):
        return defused(str(value))
    if isinstance(value, float):
        return repr(round(value, 10))  # 0.1, not 0.10000000000000003
    return value


def render_csv(section: dict[str, Any]) -> bytes:
    """The section's rows (without the totals row) as CSV bytes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = section["columns"]
    writer.writerow([defused(c["label"]) for c in columns])
    for row in section["rows"]:
        writer.writerow([_raw(row.get(c["key"]), c["format"]) for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
