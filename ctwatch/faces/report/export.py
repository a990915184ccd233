"""Export of the current view to timestamped CSV and JSON files, and breakdowns as CSV text.

Files, all named from the export time (local clock):

- `ctwatch-YYYYmmdd-HHMMSS.csv`: the breakdowns, one table `section,key,count,share`.
- `ctwatch-YYYYmmdd-HHMMSS-entries.csv`: the entries in view, one row per entry.
- `ctwatch-YYYYmmdd-HHMMSS.json`: everything (snapshot, breakdowns, entries, timestamp).

Entries get their own CSV instead of a second block under the breakdowns because a
spreadsheet opens one CSV as one sheet: a second header halfway down breaks sorting,
autofilter and pivot tables, and csv.DictReader cannot read it. Each file is one
rectangular table with one header row. Shares are fractions (0.25 = 25%) for the
spreadsheet to format.
"""

from __future__ import annotations

import csv
import json
import os
import time
from typing import NamedTuple

from ctwatch.faces.report.csv_text import cell, share
from ctwatch.model.entry import Entry, display_addr

BREAKDOWN_HEADER = ("section", "key", "count", "share")
EXPORT_FORMAT = 1
_SUFFIXES = (".csv", "-entries.csv", ".json")  # breakdowns, entries, everything


class ExportError(Exception):
    """The export could not be written; str() is one line meant for the user."""


class ExportPaths(NamedTuple):
    """Where write_export wrote; unpacks as (csv_path, json_path)."""

    csv_path: str
    json_path: str

    @property
    def entries_csv_path(self) -> str:
        return self.csv_path[: -len(".csv")] + "-entries.csv"


def _total(snapshot_json: dict, rows: list) -> int:
    entries = snapshot_json.get("entries")
    return entries if entries else sum(count for _, count in rows)


def breakdown_rows(snapshot_json: dict, breakdowns: dict) -> list:
    """[(section, key, count, share)] in the order given; share of the scanned entries."""
    out = []
    for section, rows in breakdowns.items():
        total = _total(snapshot_json, rows)
        for key, count in rows:
            out.append((section, str(key), int(count), share(count, total)))
    return out


def entry_row(entry: Entry) -> dict:
    """One parsed entry as a flat dict: the columns of the entries CSV."""
    orig, reply = entry.orig, entry.reply
    row = {
        "l3": entry.l3,
        "proto": entry.l4,
        "state": entry.state,
        "timeout": entry.timeout,
        "src": display_addr(orig.src),
        "dst": display_addr(orig.dst),
        "sport": orig.sport,
        "dport": orig.dport,
        "icmp_type": orig.icmp_type,
        "icmp_code": orig.icmp_code,
        "icmp_id": orig.icmp_id,
        "packets": orig.packets,
        "bytes": orig.bytes,
    }
    for name in ("src", "dst", "sport", "dport", "packets", "bytes"):
        value = getattr(reply, name) if reply is not None else None
        row[f"reply_{name}"] = display_addr(value) if name in ("src", "dst") and value else value
    row.update(
        flags=" ".join(sorted(f.strip("[]") for f in entry.flags)),
        mark=entry.mark,
        zone=entry.zone,
        use=entry.use,
    )
    return row


def _columns(entries: list) -> list:
    columns: dict = {}
    for entry in entries:
        for key in entry:
            columns.setdefault(key, None)
    return list(columns)


def _stem(directory: str, when: float) -> str:
    base = "ctwatch-" + time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    stem, n = base, 1
    while any(os.path.exists(os.path.join(directory, stem + s)) for s in _SUFFIXES):
        n += 1
        stem = f"{base}-{n}"  # a second export within the same second
    return os.path.join(directory, stem)


def write_export(
    directory: str,
    *,
    snapshot_json: dict,
    breakdowns: dict,
    entries: list,
    when: float,
) -> ExportPaths:
    """Write the three files for the view at `when` (seconds since the epoch).

    snapshot_json: the --once --json object (report.snapshot_json). breakdowns:
    {section: [(key, count)]}, e.g. {"src": [("10.0.0.5", 400)]}. entries: flat dicts
    (entry_row() makes them from Entry objects). Returns ExportPaths, which unpacks as
    (csv_path, json_path); `.entries_csv_path` names the third file. Raises ExportError.
    """
    try:
        os.makedirs(directory, exist_ok=True)
        stem = _stem(directory, when)
        csv_path, entries_path, json_path = (stem + s for s in _SUFFIXES)
        rows = breakdown_rows(snapshot_json, breakdowns)
        with open(csv_path, "x", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(BREAKDOWN_HEADER)
            writer.writerows(tuple(map(cell, row)) for row in rows)
        columns = _columns(entries)
        with open(entries_path, "x", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([cell(e.get(c)) for c in columns] for e in entries)
        document = {
            "ctwatch_export": EXPORT_FORMAT,
            "exported_at": round(when, 3),
            "exported_at_local": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(when)),
            "snapshot": snapshot_json,
            "breakdowns": {
                section: [
                    {"key": k, "count": c, "share": share}
                    for s, k, c, share in rows
                    if s == section
                ]
                for section in breakdowns
            },
            "entries": entries,
        }
        with open(json_path, "x", encoding="utf-8") as f:
            json.dump(document, f, indent=1, default=str)
            f.write("\n")
    except OSError as exc:
        where = exc.filename or directory
        raise ExportError(f"cannot write export to {where}: {exc.strerror or exc}") from None
    return ExportPaths(csv_path, json_path)
