"""The monitor's scan views: what one table scan shows, with its changes since a baseline."""

from __future__ import annotations

from typing import Optional

from ctwatch.engine.answers import Focus, FocusView, Panel, Row, ScanView, pair_panels
from ctwatch.engine.snapshot import Snapshot
from ctwatch.model.scan import DIMENSIONS, Breakdown

TOPS_KEPT = 50  # sources/destinations remembered per scan, to give a drill-down a past


class ScanViews:
    """Mixed into Monitor (its scans, baseline and focus history are the monitor's)."""

    def _record_scan(self, snap: Snapshot, focus, started: float) -> None:
        table = snap.table
        self.scans += 1
        self._table_error = None
        self._previous = self._current
        if self._previous is None or self._previous[5] != focus:
            self._focus_history.clear()
            if focus is not None:
                self._seed_focus_history(focus)
        finished = self.clock.monotonic()
        if focus is not None and table.focus is not None:
            self._focus_history.append(finished, table.focus.entries)
        self._current = (table, finished, snap.taken_at, 0.0, finished - started, focus)

    def _remember_tops(self, view: ScanView, totals: Breakdown) -> None:
        counts = {}
        for dim in ("src", "dst"):
            panel = view.panels[dim]
            rows = (
                [(r.key, r.count) for r in panel.rows[:TOPS_KEPT]]
                if panel.sort == "count"
                else totals.top(dim, TOPS_KEPT)
            )
            counts.update(((dim, k), c) for k, c in rows)
        self._tops.append((view.finished, counts))

    def _seed_focus_history(self, focus: Focus) -> None:
        found = focus.address()
        if found is None:
            return
        for t, counts in self._tops:
            self._focus_history.append(t, counts.get(found))

    def _build_view(self, sorts: dict, focus: Optional[Focus]) -> ScanView:
        table, finished, taken_at, cost, wall, scanned_focus = self._current
        if self._pinned is not None:
            base_totals = self._pinned[1].totals
            if (
                scanned_focus is not None
                and table.focus is not None
                and (self._pinned_focus is None or self._pinned_focus[0] != scanned_focus)
            ):
                # A drill-down opened after the pin counts its changes from its first scan.
                self._pinned_focus = (scanned_focus, table.focus)
            base_focus = self._pinned_focus[1] if self._pinned_focus else None
        else:
            prev = self._previous
            base_totals = prev[0].totals if prev else None
            base_focus = prev[0].focus if prev and prev[5] == scanned_focus else None
        panels = self._panels(table.totals, sorts, base_totals, table.totals.entries)
        focus_view = None
        if scanned_focus is not None and scanned_focus == focus and table.focus is not None:
            fb = table.focus
            focus_view = FocusView(
                focus=scanned_focus,
                entries=fb.entries,
                share=fb.entries / table.totals.entries if table.totals.entries else 0.0,
                delta=None if base_focus is None else fb.entries - base_focus.entries,
                panels=self._panels(fb, sorts, base_focus, fb.entries),
                entry_list=table.focus_entries,
                history=self._focus_history.snapshot(),
            )
        return ScanView(
            seq=self.scans,
            finished=finished,
            taken_at=taken_at,
            cost=cost,
            wall_seconds=wall,
            entries=table.totals.entries,
            bad_lines=table.bad_lines,
            sample_bad_line=table.sample_bad_line,
            scan_seconds=table.scan_seconds,
            bad_examples=table.bad_examples,
            totals_only=table.totals_only,
            panels=panels,
            focus=focus_view,
            pairs=pair_panels(table.totals, self.panel_rows),
        )

    def _panels(self, now: Breakdown, sorts: dict, base: Optional[Breakdown], total: int):
        panels = {}
        for dim in DIMENSIONS:
            rows = []
            for key, count in now.top(dim, self.panel_rows, by=sorts[dim]):
                delta = None if base is None else count - base.get(dim, key)
                rows.append(Row(key, count, count / total if total else 0.0, delta))
            panels[dim] = Panel(tuple(rows), now.distinct(dim), sorts[dim])
        return panels
