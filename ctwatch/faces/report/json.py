"""`--once --json`: one Answers as the documented JSON object (README, "JSON output")."""

from __future__ import annotations

import dataclasses
from typing import Optional

from ctwatch.engine.answers import Answers
from ctwatch.faces.report.namespaces import namespaces_json
from ctwatch.model.dimensions import DIMENSIONS
from ctwatch.model.expiry import expiry_json


def _r(value: Optional[float], digits: int = 3) -> Optional[float]:
    return None if value is None else round(value, digits)


def counters_json(answers: Answers) -> dict:
    snap = answers.snapshot
    return {
        "source": snap.source if snap else None,
        "label": answers.source_label,
        "taken_at": _r(snap.taken_at) if snap else None,
        "count": snap.count if snap else None,
        "max": snap.max if snap else None,
        "buckets": snap.buckets if snap else None,
        "fill": _r(snap.fill, 6) if snap else None,
    }


def table_json(answers: Answers) -> dict:
    """The breakdowns of the scan the Answers hold (its panels: the top rows asked for)."""
    scan = answers.scan
    out: dict = {
        "entries": scan.entries if scan else None,
        "bad_lines": scan.bad_lines if scan else None,
        "bad_examples": [
            {"line": line, "reason": why} for line, why in (scan.bad_examples if scan else ())
        ],
    }
    for dim in DIMENSIONS:
        panel = scan.panels[dim.name] if scan else None
        rows = sorted(panel.rows, key=lambda r: -r.count) if panel else ()
        out[dim.json_key] = {r.key: r.count for r in rows}
    for dim in DIMENSIONS:
        if dim.distinct_key:
            out[dim.distinct_key] = scan.panels[dim.name].distinct if scan else None
    return out


def rates_json(answers: Answers, window: Optional[float]) -> dict:
    forecast = answers.forecast
    rates = dict(answers.rates)
    growth = rates.pop("growth", None)
    return {
        "rate_window": _r(window),
        "rates": {"growth": _r(growth), **{k: _r(v) for k, v in rates.items()}},
        "forecast": {
            "kind": forecast.kind,
            "text": forecast.describe(),
            "seconds": _r(forecast.seconds, 1),
        },
    }


def kernel_log_json(answers: Answers) -> dict:
    kernel = answers.incident.kernel
    return {
        "via": kernel.via,
        "problem": kernel.problem,
        "table_full": kernel.table_full,
        "suppressed": kernel.suppressed,
        "last_table_full": _r(kernel.last_table_full),
        "netns": list(kernel.netns_ids),
        "per_minute": [
            {"minute": round(m, 0), "table_full": f, "suppressed": s}
            for m, f, s, _ in kernel.per_minute
        ],
    }


def growers_json(answers: Answers) -> dict:
    """Growth between the first scan of the run and the last (the "since start" window)."""
    out: dict = {"window": None, "src": [], "dst": []}
    for dim in ("src", "dst"):
        windows = answers.incident.growers.get(dim) or ()
        if not windows:
            continue
        _, covered, rows = windows[-1]
        out["window"] = _r(covered)
        out[dim] = [{"key": k, "count": c, "growth": g} for k, c, g in rows]
    return out


def snat_json(answers: Answers) -> list:
    return [
        {
            "address": r.address,
            "proto": r.proto,
            "entries": r.entries,
            "ports": r.ports,
            "port_min": r.port_min,
            "port_max": r.port_max,
        }
        for r in answers.incident.snat or ()
    ]


def answers_json(
    answers: Answers,
    filter_text: str = "",
    *,
    rate_window: Optional[float] = None,
    incident: bool = True,
    growers: bool = False,
    snat: bool = False,
) -> dict:
    """The --once --json object. `incident`: the rates, forecast, expiry, subnets, kernel
    log and advice too; `growers`, `snat`: the answers asked for with those flags."""
    snap = answers.snapshot
    scan = answers.scan
    out = {**counters_json(answers), **table_json(answers)}
    out["stats"] = dict(snap.stats) if snap else {}
    out["scan_seconds"] = _r(scan.scan_seconds, 6) if scan else None
    out["filter"] = filter_text or None
    out["table_error"] = answers.table_error if scan is None else None
    out["errors"] = list(snap.errors) if snap else []
    if answers.namespaces is not None:
        out["namespaces"] = namespaces_json(answers.namespaces)
        out["namespaces_errors"] = list(answers.namespaces.errors)
    if not incident:
        return out
    if rate_window is not None:
        out.update(rates_json(answers, rate_window))
    out["expiry"] = expiry_json(answers.incident.expiry) if scan else {}
    subnets = answers.incident.subnets or ()
    out["by_src_subnet"] = {net: n for net, n, _, _ in subnets} if scan else {}
    out["kernel_log"] = kernel_log_json(answers)
    out["advice"] = dataclasses.asdict(answers.advice) if answers.advice else None
    if snat:
        if answers.incident.snat_error:
            out["snat_error"] = answers.incident.snat_error
        else:
            out["snat"] = snat_json(answers)
    if growers:
        out["growers"] = growers_json(answers)
    return out
