"""What the export key writes: the view on screen as snapshot JSON, breakdowns and entries."""

from __future__ import annotations

from ctwatch.engine.answers import Answers
from ctwatch.engine.incident import clock_text
from ctwatch.faces.report.export import ExportPaths, entry_row, write_export
from ctwatch.faces.report.json import answers_json
from ctwatch.faces.ui.widgets.panel import BreakdownPanel


def view_json(sample: Answers, screen) -> dict:
    """The --once --json object for the counters, plus what the screen adds to them."""
    doc = answers_json(sample, incident=False)
    scan = sample.scan
    if scan is not None:
        doc["scan_taken_at"] = round(scan.taken_at, 3)
    for key in [k for k in doc if k.startswith(("by_", "distinct_"))]:
        del doc[key]  # the breakdowns shown go in "breakdowns", as the screen had them
    doc["rates"] = {k: round(v, 3) for k, v in sample.rates.items()}
    doc["forecast"] = sample.forecast.describe()
    doc["last_drop"] = clock_text(sample.incident.last_drop) or None
    focus = getattr(screen, "focus_target", None)
    doc["view"] = getattr(screen, "heading", "") or (focus.title if focus else "main")
    return doc


def shown_breakdowns(screen) -> dict:
    """{section: [(key, count)]} exactly as the panels on screen hold them."""
    out = {}
    for panel in screen.query(BreakdownPanel):
        if not panel.display or panel.panel is None:
            continue
        section = panel.dim + ("_subnet" if getattr(panel, "subnets", False) else "")
        out[section] = [(row.key, row.count) for row in panel.panel.rows]
    return out


def export_view(screen, sample: Answers, directory: str, when: float) -> ExportPaths:
    breakdowns = shown_breakdowns(screen)
    if not breakdowns and sample.scan is not None:
        # An incident view has no panels: take the main screen's.
        breakdowns = {d: [(r.key, r.count) for r in p.rows] for d, p in sample.scan.panels.items()}
    entries: list = []
    focus = getattr(screen, "focus_view", None)
    view = focus(sample) if callable(focus) else None
    if view is not None:
        entries = [entry_row(e) for e in view.entry_list]
    return write_export(
        directory,
        snapshot_json=view_json(sample, screen),
        breakdowns=breakdowns,
        entries=entries,
        when=when,
    )
