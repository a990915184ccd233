"""Export round trips: files written, read back with csv/json, same numbers."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time

import pytest
from test_ui_support import FakeClock, FakeSource

from ctwatch.engine.monitor import Monitor
from ctwatch.faces.report.csv_text import breakdowns_csv
from ctwatch.faces.report.export import ExportError, entry_row, write_export
from ctwatch.faces.report.json import answers_json
from ctwatch.model.entry import parse_line

# Lines in the kernel's /proc/net/nf_conntrack layout (as captured on 6.18).
TABLE = (
    "ipv4     2 tcp      6 431997 ESTABLISHED src=10.0.0.5 dst=10.0.0.1 sport=47654 "
    "dport=443 packets=3 bytes=169 src=10.0.0.1 dst=10.0.0.5 sport=443 dport=47654 "
    "packets=2 bytes=112 [ASSURED] mark=0 zone=0 use=2\n"
    "ipv4     2 tcp      6 431990 ESTABLISHED src=10.0.0.5 dst=10.0.0.1 sport=47655 "
    "dport=443 packets=3 bytes=169 src=10.0.0.1 dst=10.0.0.5 sport=443 dport=47655 "
    "packets=2 bytes=112 [ASSURED] mark=0 zone=0 use=2\n"
    "ipv4     2 tcp      6 119 TIME_WAIT src=10.0.0.6 dst=10.0.0.1 sport=45722 dport=80 "
    "src=10.0.0.1 dst=10.0.0.6 sport=80 dport=45722 [ASSURED] mark=0 zone=0 use=2\n"
    "ipv6     10 udp      17 29 src=2001:0db8:0000:0000:0000:0000:0000:0001 "
    "dst=2001:0db8:0000:0000:0000:0000:0000:0002 sport=5353 dport=53 [UNREPLIED] "
    "src=2001:0db8:0000:0000:0000:0000:0000:0002 dst=2001:0db8:0000:0000:0000:0000:0000:0001 "
    "sport=53 dport=5353 mark=0 zone=0 use=2\n"
)


def _snapshot_json():
    """The --once --json object (without the incident answers) of TABLE, through the engine."""
    clock = FakeClock()
    monitor = Monitor(FakeSource(TABLE.splitlines(), clock, max_entries=65536), clock=clock)
    return answers_json(monitor.poll(scan=True), incident=False)


def _breakdowns(obj):
    return {dim: list(obj[f"by_{dim}"].items()) for dim in ("state", "src", "dport")}


def _entries():
    return [entry_row(parse_line(line)) for line in TABLE.splitlines()]


def test_write_export_round_trip(tmp_path):
    obj = _snapshot_json()
    breakdowns = _breakdowns(obj)
    entries = _entries()
    when = time.time()
    paths = write_export(
        str(tmp_path / "out"), snapshot_json=obj, breakdowns=breakdowns, entries=entries, when=when
    )
    csv_path, json_path = paths
    stem = "ctwatch-" + time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    assert os.path.basename(csv_path) == stem + ".csv"
    assert os.path.basename(json_path) == stem + ".json"
    assert os.path.basename(paths.entries_csv_path) == stem + "-entries.csv"

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["section", "key", "count", "share"]
    read_back = {}
    for row in rows:
        read_back.setdefault(row["section"], []).append((row["key"], int(row["count"])))
        assert float(row["share"]) == pytest.approx(int(row["count"]) / 4)
    assert read_back == breakdowns
    assert read_back["state"] == [("ESTABLISHED", 2), ("TIME_WAIT", 1)]
    assert read_back["src"][0] == ("10.0.0.5", 2)
    assert ("2001:db8::1", 1) in read_back["src"]

    with open(paths.entries_csv_path, newline="") as f:
        entry_rows = list(csv.DictReader(f))
    assert len(entry_rows) == 4
    for written, original in zip(entry_rows, entries):
        assert written == {k: "" if v is None else str(v) for k, v in original.items()}
    assert entry_rows[0]["src"] == "10.0.0.5" and entry_rows[0]["dport"] == "443"
    assert entry_rows[3]["src"] == "2001:db8::1" and entry_rows[3]["state"] == ""
    assert entry_rows[3]["flags"] == "UNREPLIED"

    with open(json_path) as f:
        document = json.load(f)
    assert document["ctwatch_export"] == 1
    assert document["exported_at"] == pytest.approx(when, abs=0.001)
    assert document["snapshot"] == obj
    assert document["entries"] == entries
    assert {
        s: [(r["key"], r["count"]) for r in rows] for s, rows in document["breakdowns"].items()
    } == breakdowns
    assert document["breakdowns"]["state"][0]["share"] == 0.5


def test_same_second_exports_do_not_overwrite(tmp_path):
    obj = _snapshot_json()
    kwargs = dict(snapshot_json=obj, breakdowns=_breakdowns(obj), entries=[], when=1e9)
    first = write_export(str(tmp_path), **kwargs)
    second = write_export(str(tmp_path), **kwargs)
    assert first.csv_path != second.csv_path
    assert re.search(r"ctwatch-\d{8}-\d{6}-2\.csv$", second.csv_path)
    assert len(os.listdir(tmp_path)) == 6
    with open(second.entries_csv_path) as f:
        assert f.read() == "\n"  # no entries in view: an empty table


def test_share_falls_back_to_section_total(tmp_path):
    paths = write_export(
        str(tmp_path),
        snapshot_json={"entries": None},
        breakdowns={"snat": [("192.0.2.1", 3), ("192.0.2.2", 1)]},
        entries=[{"a": 1}, {"b": 2}],
        when=0,
    )
    with open(paths.csv_path, newline="") as f:
        shares = [float(r["share"]) for r in csv.DictReader(f)]
    assert shares == [0.75, 0.25]
    with open(paths.entries_csv_path, newline="") as f:
        assert list(csv.reader(f)) == [["a", "b"], ["1", ""], ["", "2"]]


def test_unwritable_directory_is_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ExportError) as info:
        write_export(str(blocker / "sub"), snapshot_json={}, breakdowns={}, entries=[], when=0)
    assert "cannot write export" in str(info.value) and "\n" not in str(info.value)


def test_breakdowns_csv_from_once_json():
    obj = _snapshot_json()
    text = breakdowns_csv(obj)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["dimension", "key", "count", "share"]
    by_dim = {}
    for dim, key, count, share in rows[1:]:
        by_dim.setdefault(dim, {})[key] = int(count)
        assert float(share) == pytest.approx(int(count) / obj["entries"])
    assert by_dim == {d: obj[f"by_{d}"] for d in ("state", "proto", "src", "dst", "dport")}
    assert ["state", "ESTABLISHED", "2", "0.5"] in rows
    assert ["proto", "udp", "1", "0.25"] in rows


def test_breakdowns_csv_without_table():
    assert breakdowns_csv({"entries": None, "by_state": {}, "count": 5}) == (
        "dimension,key,count,share\n"
    )
