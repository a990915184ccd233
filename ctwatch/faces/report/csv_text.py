"""`--once --csv`: the breakdowns as CSV (dimension,key,count,share), and the CSV cell rules
every CSV ctwatch writes follows."""

from __future__ import annotations

import csv
import io
from typing import Optional

from ctwatch.engine.answers import Answers
from ctwatch.faces.report.json import table_json
from ctwatch.faces.report.namespaces import namespaces_csv_rows
from ctwatch.sources.safe_text import safe_cell

ONCE_HEADER = ("dimension", "key", "count", "share")
SHARE_DIGITS = 6


def share(count: int, total: Optional[int]) -> Optional[float]:
    return round(count / total, SHARE_DIGITS) if total else None


def cell(value):
    """Every CSV cell: printable, and never run by a spreadsheet as a formula."""
    return "" if value is None else safe_cell(value)


def breakdowns_csv(json_obj: dict, extra_rows: tuple = ()) -> str:
    """The by_* fields of a --once --json object as CSV text: dimension,key,count,share;
    `extra_rows` (dimension, key, count, share) follow them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ONCE_HEADER)
    total = json_obj.get("entries")
    for field, values in json_obj.items():
        if not field.startswith("by_") or not isinstance(values, dict):
            continue
        dimension = field[len("by_") :]
        denominator = total if total else sum(values.values())
        for key, count in values.items():
            writer.writerow(tuple(map(cell, (dimension, key, count, share(count, denominator)))))
    for row in extra_rows:
        writer.writerow(tuple(map(cell, row)))
    return out.getvalue()


def answers_csv(answers: Answers) -> str:
    extra = namespaces_csv_rows(answers.namespaces) if answers.namespaces is not None else []
    return breakdowns_csv(table_json(answers), tuple(extra))
