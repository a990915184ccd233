"""What the live monitor hands its screens: the drill-down focus and immutable views of a poll."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ctwatch.engine.incident import IncidentView
from ctwatch.engine.namespaces import NamespacesView
from ctwatch.engine.playback import PlaybackState
from ctwatch.engine.rules import RulesView
from ctwatch.engine.snapshot import Snapshot
from ctwatch.engine.switching import Watched
from ctwatch.model.advice import Advice
from ctwatch.model.dimensions import ADDRESS_NAMES, NAMES
from ctwatch.model.filters import Filter
from ctwatch.model.trend import Forecast
from ctwatch.sources.safe_text import safe_line

FOCUS_DIMENSIONS = NAMES  # every dimension can be drilled into


@dataclass(frozen=True)
class Focus:
    """What a drill-down looks at: (dimension, value) pairs that must all match."""

    pairs: tuple
    filter: Filter = field(compare=False, repr=False)

    @classmethod
    def of(cls, *pairs) -> Focus:
        """Raises ValueError with a readable message for a bad dimension or value."""
        lists: dict = {d: [] for d in FOCUS_DIMENSIONS}
        clean = []
        for dim, value in pairs:
            if dim not in lists:
                raise ValueError(f"cannot drill into {dim!r} (one of {', '.join(lists)})")
            value = str(value).strip()
            if not value:
                raise ValueError(f"{dim} needs a value")
            lists[dim].append(value)
            clean.append((dim, value))
        filt = Filter.build(**lists)
        if filt is None:
            raise ValueError("nothing to drill into")
        return cls(tuple(clean), filt)

    def narrow(self, dim: str, value: str) -> Focus:
        return Focus.of(*(p for p in self.pairs if p[0] != dim), (dim, value))

    @property
    def title(self) -> str:
        return ", ".join(f"{d} {v}" for d, v in self.pairs)

    def pins(self, dim: str) -> bool:
        """True when every matching entry has the same `dim` (a breakdown by it is moot)."""
        values = [v for d, v in self.pairs if d == dim]
        if len(values) != 1:
            return False
        if dim in ADDRESS_NAMES:
            return "/" not in values[0] or values[0].endswith(("/32", "/128"))
        return True

    def address(self) -> Optional[tuple]:
        """(dim, address) when the focus is exactly one source or destination address."""
        if (
            len(self.pairs) == 1
            and self.pairs[0][0] in ADDRESS_NAMES
            and self.pins(self.pairs[0][0])
        ):
            dim, value = self.pairs[0]
            return dim, value.split("/")[0]
        return None


@dataclass(frozen=True)
class Row:
    key: str
    count: int
    share: float  # of the entries counted in that breakdown
    delta: Optional[int]  # change against the baseline; None when there is none yet


@dataclass(frozen=True)
class Panel:
    rows: tuple
    distinct: int
    sort: str


@dataclass(frozen=True)
class PairPanel:
    """A breakdown counted per protocol too (state, dport): the exporter's labels."""

    rows: tuple  # ((protocol, key), count), largest first
    total: int  # entries counted in it (dport: those with a port)


def pair_panels(totals, rows: int) -> dict:
    """States per protocol (few: all of them) and the top `rows` ports per protocol, of a
    model.scan.Breakdown."""
    return {
        "state": PairPanel(tuple(totals.top_pairs("state", 0)), totals.pair_total("state")),
        "dport": PairPanel(tuple(totals.top_pairs("dport", rows)), totals.pair_total("dport")),
    }


@dataclass(frozen=True)
class FocusView:
    focus: Focus
    entries: int
    share: float  # of the whole (filtered) table
    delta: Optional[int]
    panels: dict  # dimension -> Panel
    entry_list: tuple  # parsed Entry objects, at most entry_limit
    history: tuple  # (monotonic time, count) per scan


@dataclass(frozen=True)
class ScanView:
    """The last successful table scan, as the screen shows it."""

    seq: int
    finished: float  # monotonic
    taken_at: float  # wall clock
    cost: float  # CPU seconds, including the reading child
    wall_seconds: float
    entries: int
    bad_lines: int
    sample_bad_line: str
    scan_seconds: float  # read + parse + aggregate of the scan, inside the process
    bad_examples: tuple  # up to 5 (line as safe text, reason)
    totals_only: bool  # a recording's aggregates of a big table: no entries behind them
    panels: dict  # dimension -> Panel
    focus: Optional[FocusView]
    # dimension -> PairPanel for state (every pair) and dport (the top rows); empty for
    # a recording's scan, which keeps no pairs.
    pairs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Answers:
    """Everything one poll learnt; immutable, handed from the worker to the UI thread."""

    seq: int
    at: float  # monotonic
    snapshot: Optional[Snapshot]  # counters only (the raw scan is not kept here)
    scan: Optional[ScanView]  # the latest successful scan, maybe from an earlier poll
    scanned: bool  # this poll ran a scan
    table_error: Optional[str]  # why the last scan attempt failed
    error: Optional[str]  # an unexpected failure of this poll
    history: tuple  # (monotonic time, count or None)
    rates: dict  # stats counter -> per second (trend.RATE_COUNTERS), when known
    forecast: Forecast
    interval: float
    next_scan_at: Optional[float]
    baseline_at: Optional[float]  # wall time of the pinned baseline; None: previous scan
    source_label: str
    incident: IncidentView = field(default_factory=IncidentView)
    playback: PlaybackState = field(default_factory=PlaybackState)  # pause, replay frame
    record_error: Optional[str] = None  # why --record stopped; stays shown from then on
    advice: Optional[Advice] = None  # read-only sizing advice from this poll's numbers
    namespaces: Optional[NamespacesView] = None  # every network namespace (--all-netns)
    watched: Watched = field(default_factory=Watched)  # the namespace these numbers are of
    rules: Optional[RulesView] = None  # the firewall rules (--rules, the rules view)

    @property
    def problems(self) -> tuple:
        # A failed recording first: the panels repeat a table error, nothing repeats it.
        out = [self.record_error] if self.record_error else []
        out += list(self.snapshot.errors) if self.snapshot else []
        out += [p for p in (self.table_error, self.error) if p]
        # A vanished namespace fails both reads alike; each line may quote outside text.
        return tuple(dict.fromkeys(safe_line(p) for p in out))
