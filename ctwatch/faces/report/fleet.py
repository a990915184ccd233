"""`--once --prometheus URL`: the fleet's hosts as JSON (`hosts`), CSV or a text table."""

from __future__ import annotations

import csv
import io
from typing import Optional

from ctwatch.engine.fleet import FleetAnswers
from ctwatch.faces.report.csv_text import cell
from ctwatch.model import format as fmt
from ctwatch.model.fleet import FleetRow
from ctwatch.sources.safe_text import safe_line

HOST_FIELDS = (
    "instance",
    "job",
    "netns",
    "source",
    "entries",
    "limit",
    "fill",
    "drop_rate",
    "seconds_until_full",
    "up",
)
LABEL_CAP = 200  # a label value is someone else's text: printable and bounded


def _r(value: Optional[float], digits: int = 3) -> Optional[float]:
    return None if value is None else round(value, digits)


def _whole(value: Optional[float]):
    return None if value is None else int(round(value))


def host_json(row: FleetRow) -> dict:
    return {
        "instance": safe_line(row.instance, LABEL_CAP),
        "job": safe_line(row.job, LABEL_CAP),
        "netns": None if row.netns is None else safe_line(row.netns, LABEL_CAP),
        "source": row.source,
        "entries": _whole(row.entries),
        "limit": _whole(row.limit),
        "fill": _r(row.fill, 6),
        "drop_rate": _r(row.drop_rate, 3),
        "seconds_until_full": _r(row.seconds_until_full, 1),
        "up": row.up,
    }


def fleet_json(answers: FleetAnswers, url: str, selector: str, sort: str) -> dict:
    return {
        "prometheus": safe_line(url, 300),
        "selector": safe_line(selector, 300),
        "taken_at": _r(answers.taken_at),
        "window_seconds": answers.window,
        "sort": sort,
        "queries": answers.queries,
        "hosts": [host_json(r) for r in answers.sorted(sort)],
    }


def fleet_csv(answers: FleetAnswers, sort: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HOST_FIELDS)
    for row in answers.sorted(sort):
        doc = host_json(row)
        doc["up"] = int(doc["up"])  # 1/0 like Prometheus's own `up`, not True/False
        writer.writerow(tuple(cell(doc[f]) for f in HOST_FIELDS))
    return out.getvalue()


def fleet_text(answers: FleetAnswers, sort: str) -> str:
    w = fmt.seconds(answers.window)
    lines = [
        f"{len(answers.rows)} hosts, sorted by {sort}; drops and time to full over {w}",
        f"{'instance':<32} {'entries':>9} {'limit':>9} {'fill':>6} {'drops/s':>8} {'full in':>8}",
    ]
    for row in answers.sorted(sort):
        full = "-" if row.seconds_until_full is None else fmt.seconds(row.seconds_until_full)
        drops = fmt.rate(row.drop_rate) if row.up else "down"
        name = safe_line(row.instance + (f" [{row.netns}]" if row.netns else ""), 0)
        lines.append(
            f"{name:<32} {fmt.count(_whole(row.entries)):>9} {fmt.count(_whole(row.limit)):>9} "
            f"{fmt.percent(row.fill):>6} {drops:>8} "
            f"{full:>8}"
        )
    return "\n".join(lines) + "\n"
