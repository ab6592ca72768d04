"""The one way the panel writes a CSV download: every cell that a spreadsheet would read as a
formula is neutralized first.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with ``=``, ``+``, ``-`` or
``@`` (and, once the cell is trimmed, one that starts with a tab or a carriage return) as a
formula, so a note typed as ``=HYPERLINK("http://evil.example","click")`` would turn into a live
link in the spreadsheet of whoever opens the export. Such a cell gets a leading apostrophe:
the spreadsheet shows it as text, and a reader of the file sees what was typed. The rule is
OWASP's ("CSV Injection"). Numbers are written as numbers (``-3`` is not a formula); every other
value is written as its text, so a username or a date goes through the same rule.

``defusedcsv`` was considered and not used: its rule leaves a leading tab or carriage return
alone and rewrites every ``|`` of a neutralized cell as ``\\|``, which changes the data.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """The value as a spreadsheet should see it: numbers as they are, ``None`` as an empty
    cell, text that would start a formula behind an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_row(row: Iterable[object]) -> list[object]:
    return [safe_cell(value) for value in row]


def csv_response(
    filename: str, columns: Sequence[str], rows: Iterable[Iterable[object]]
) -> HttpResponse:
    """A CSV attachment named ``filename``: the header, then every row, each cell through
    ``safe_cell``."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(safe_row(columns))
    for row in rows:
        writer.writerow(safe_row(row))
    return response
