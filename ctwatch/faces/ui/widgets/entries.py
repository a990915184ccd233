"""The drill-down's raw entries: a scrollable table sortable by timeout, state or destination."""

from __future__ import annotations

from typing import Optional

from textual.widgets import DataTable

from ctwatch.faces.ui.widgets import cells
from ctwatch.faces.ui.widgets.tables import PanelTable, sync_rows
from ctwatch.model import format as fmt
from ctwatch.model.entry import Entry

SORTS = ("timeout", "state", "dst")
SORT_NAMES = {"timeout": "timeout", "state": "state", "dst": "destination"}


def endpoint(addr: str, port: Optional[int]) -> str:
    if port is None:
        return addr
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def entry_key(e: Entry) -> str:
    o = e.orig
    return f"{e.l3} {e.l4} {o.src} {o.sport} {o.dst} {o.dport} {o.icmp_id} {e.zone}"


def flags(e: Entry) -> str:
    if e.offloaded:
        return "OFFLOAD"
    if e.unreplied:
        return "UNREPLIED"
    if e.assured:
        return "ASSURED"
    return ""


class EntriesTable(PanelTable):
    def __init__(self, *, id: Optional[str] = None) -> None:
        super().__init__(id=id, classes="panel", cursor_type="row", zebra_stripes=True)
        self.border_title = "Entries"
        self.sort_by = "timeout"
        self.entries: tuple = ()
        self.total = 0
        self._columns: tuple = ()

    def set_columns(self, hide_src: bool, hide_dst: bool) -> None:
        columns = ["proto", "state"]
        columns.append("sport" if hide_src else "src")
        columns.append("dport" if hide_dst else "dst")
        columns += ["timeout", "flags"]
        if tuple(columns) == self._columns:
            return
        self._columns = tuple(columns)
        with self.placing():  # clear() puts the cursor on row 0: not the operator's move
            self.clear(columns=True)
        labels = {
            "proto": "proto",
            "state": "state",
            "src": "source",
            "sport": "sport",
            "dst": "destination",
            "dport": "dport",
            "timeout": "timeout",
            "flags": "flags",
        }
        for column in self._columns:
            self.add_column(labels[column], key=column)

    def show(self, entries: tuple, total: int) -> None:
        self.entries, self.total = entries, total
        rows = []
        seen: dict = {}
        for e in entries:
            key = entry_key(e)
            n = seen.get(key, 0)
            seen[key] = n + 1
            rows.append((key if n == 0 else f"{key} #{n}", self._cells(e)))
        sort_columns, sort_key = self._sort()
        sync_rows(self, self._columns, rows, sort_columns, sort_key, order=self.sort_by)
        shown, by = len(entries), f" by {SORT_NAMES[self.sort_by]}"
        if total > shown:
            self.set_summary(
                f"{fmt.count(shown)} of {fmt.count(total)}{by}",
                f"{fmt.compact(shown)} of {fmt.compact(total)}{by}",
                f"{fmt.compact(shown)} of {fmt.compact(total)}",
            )
        else:
            self.set_summary(f"{fmt.count(shown)}{by}", f"{fmt.compact(shown)}{by}")

    def follow_label(self, key: str) -> str:
        """The entry's protocol and endpoints, as its row shows them."""
        try:
            row = dict(zip(self._columns, self.get_row(key)))
        except Exception:  # gone already
            return "an entry"
        ends = [row[c].text for c in ("src", "sport", "dst", "dport") if c in row]
        return f"{row['proto'].text} {' > '.join(ends)}"

    def _cells(self, e: Entry) -> list:
        o = e.orig
        timeout_key = -1 if e.timeout is None else e.timeout
        values = {
            "proto": cells.text(e.l4 + ("6" if e.l3 == "ipv6" else "")),
            "state": cells.text(e.state or "", style="bold" if e.state == "SYN_SENT" else ""),
            "src": cells.Cell(endpoint(o.src, o.sport), (cells.name_key("src", o.src), o.sport)),
            "sport": cells.Cell("" if o.sport is None else str(o.sport), o.sport or 0),
            "dst": cells.Cell(
                endpoint(o.dst, o.dport), (cells.name_key("dst", o.dst), o.dport or 0)
            ),
            "dport": cells.Cell("" if o.dport is None else str(o.dport), o.dport or 0),
            "timeout": cells.Cell(fmt.timeout(e.timeout), timeout_key, "", "right"),
            "flags": cells.text(flags(e), style="yellow" if e.unreplied else "dim"),
        }
        return [values[c] for c in self._columns]

    def _sort(self) -> tuple:
        dst = "dst" if "dst" in self._columns else "dport"
        if self.sort_by == "state":
            return ("state", "timeout"), lambda v: (v[0].sort_key, v[1].sort_key)
        if self.sort_by == "dst":
            return (dst, "timeout"), lambda v: (v[0].sort_key, v[1].sort_key)
        return ("timeout",), lambda v: v.sort_key

    def cycle_sort(self) -> str:
        self.sort_by = SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)]
        self.show(self.entries, self.total)
        return self.sort_by

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        wanted = {"timeout": "timeout", "state": "state", "dst": "dst", "dport": "dst"}
        column = event.column_key.value
        if column in wanted:
            self.sort_by = wanted[column]
            self.show(self.entries, self.total)
