"""Test helpers for the monitor and UI tests: fake clock and source, tables, a small recording."""

from __future__ import annotations

from typing import Optional

from ctwatch.sources.base import Counters, Source
from ctwatch.sources.recording import Recorder

MAX = 1024
BUCKETS = 256
STATS_HEADER = "entries searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error expect_new expect_create expect_delete search_restart"  # noqa: E501


def tcp_line(
    src: str, dst: str, sport: int, dport: int, state: str = "ESTABLISHED", timeout: int = 431999
) -> str:
    flag = "[UNREPLIED] " if state == "SYN_SENT" else ""
    tail = "" if flag else "[ASSURED] "
    return (
        f"ipv4     2 tcp      6 {timeout} {state} src={src} dst={dst} sport={sport} "
        f"dport={dport} {flag}src={dst} dst={src} sport={dport} dport={sport} {tail}"
        "mark=0 zone=0 use=2"
    )


def udp_line(src: str, dst: str, sport: int, dport: int, timeout: int = 29) -> str:
    return (
        f"ipv4     2 udp      17 {timeout} src={src} dst={dst} sport={sport} dport={dport} "
        f"[UNREPLIED] src={dst} dst={src} sport={dport} dport={sport} mark=0 zone=0 use=2"
    )


def calm_lines(n: int = 120) -> list:
    """A quiet web server: established HTTPS from clients, some DNS lookups."""
    lines = []
    for i in range(n):
        if i % 4 == 3:
            lines.append(udp_line("10.0.0.5", "10.0.0.53", 40000 + i, 53, timeout=20 + i % 9))
        else:
            client = f"192.0.2.{10 + i % 7}"
            lines.append(tcp_line(client, "10.0.0.5", 30000 + i, 443, timeout=400000 + i))
    return lines


def flood_lines(n: int, start: int = 0) -> list:
    """SYN flood from three sources at port 80."""
    attackers = ("203.0.113.7", "203.0.113.8", "198.51.100.23")
    return [
        tcp_line(
            attackers[i % 3],
            "10.0.0.5",
            1024 + (start + i) % 60000,
            80,
            "SYN_SENT",
            timeout=60 + i % 60,
        )
        for i in range(n)
    ]


def table_bytes(lines: list) -> bytes:
    return ("\n".join(lines) + "\n").encode() if lines else b""


def stats_text(count: int, drop: int = 0, cpus: int = 2) -> str:
    names = STATS_HEADER.split()
    rows = []
    for cpu in range(cpus):
        values = []
        for name in names:
            if name == "entries":
                values.append(count)
            elif name == "drop":
                values.append(drop if cpu == 0 else 0)
            else:
                values.append(cpu)
        rows.append(" ".join(f"{v:08x}" for v in values))
    return STATS_HEADER + "\n" + "\n".join(rows) + "\n"


class FakeClock:
    """Monotonic, wall and CPU clocks that move only when told to."""

    def __init__(self, start: float = 1000.0, wall_offset: float = 1_700_000_000.0) -> None:
        self.t = start
        self.cpu_seconds = 0.0
        self.wall_offset = wall_offset

    def monotonic(self) -> float:
        return self.t

    def wall(self) -> float:
        return self.wall_offset + self.t

    def cpu(self) -> float:
        return self.cpu_seconds

    def advance(self, seconds: float) -> None:
        self.t += seconds


class FakeSource(Source):
    """A table in memory; each full read costs `scan_cpu` on the fake clock."""

    name = "fake"
    label = "fake table"

    def __init__(
        self,
        lines: list,
        clock: Optional[FakeClock] = None,
        scan_cpu: float = 0.0,
        scan_wall: float = 0.0,
        max_entries: int = MAX,
    ) -> None:
        self.lines = list(lines)
        self.clock = clock
        self.scan_cpu = scan_cpu
        self.scan_wall = scan_wall
        self.max = max_entries
        self.drop = 0
        self.counter_error: Optional[Exception] = None
        self.table_error: Optional[Exception] = None
        self.reads = 0
        self.closed_early = 0

    def read_counters(self) -> Counters:
        if self.counter_error is not None:
            raise self.counter_error
        return Counters(
            count=len(self.lines),
            max=self.max,
            buckets=BUCKETS,
            stats={"drop": self.drop, "early_drop": 0, "insert_failed": 0},
        )

    def table_chunks(self):
        if self.table_error is not None:
            raise self.table_error
        self.reads += 1
        if self.clock is not None:
            self.clock.cpu_seconds += self.scan_cpu
            self.clock.advance(self.scan_wall)
        data = table_bytes(self.lines)
        return self._chunks([data[i : i + 4096] for i in range(0, len(data), 4096)])

    def _chunks(self, parts: list):
        done = False
        try:
            yield from parts
            done = True
        finally:
            if not done:
                self.closed_early += 1


def write_incident(path: str, frames: int = 24) -> str:
    """A small recorded incident: calm, a SYN flood filling the table, drops, recovery."""
    rec = Recorder(path, label="test incident", source="proc")
    calm = calm_lines()
    drop = 0
    for i in range(frames):
        phase = i / max(1, frames - 1)
        flood = 0 if phase < 0.25 else min(MAX - len(calm), int((phase - 0.25) * 2.2 * MAX))
        if phase > 0.85:
            flood = flood // 3
        lines = calm + flood_lines(flood)
        if len(lines) >= MAX:
            drop += 150
        counters = Counters(
            count=len(lines),
            max=MAX,
            buckets=BUCKETS,
            stats={
                "entries": len(lines),
                "drop": drop,
                "early_drop": 0,
                "insert_failed": 0,
                "invalid": 0,
            },
        )
        rec.write(1_700_000_000.0 + i, counters, table=table_bytes(lines))
    rec.close()
    return path


def screen_text(app) -> str:
    """What the terminal shows, as plain text lines (no colours)."""
    update = app.screen._compositor.render_full_update(simplify=True)
    return "\n".join("".join(strip.text for strip in line).rstrip() for line in update.strips)


async def wait_for(pilot, predicate, timeout: float = 5.0) -> None:
    """Let the app run until `predicate()` holds (polls run in a thread)."""
    import time as _time

    end = _time.monotonic() + timeout
    while not predicate():
        if _time.monotonic() > end:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)
    await pilot.pause()


def make_app(lines=None, source_class=None, **kw):
    """An app on a fake source and clock that polls only when a test asks."""
    from ctwatch.faces.ui.app import create_app

    clock = FakeClock()
    lines = calm_lines() + flood_lines(60) if lines is None else lines
    source = (source_class or FakeSource)(lines, clock)
    app = create_app(source, clock=clock, host="lab", autopoll=False, **kw)
    return app, source, clock


async def started(pilot, app):
    await wait_for(pilot, lambda: app.latest is not None and app.latest.scan is not None)


async def poll(pilot, app, clock, seconds: float = 1.0):
    """One more poll, `seconds` later on the fake clock; waits until it is on screen."""
    seen = app.samples_received
    clock.advance(seconds)
    app.request_poll()
    await wait_for(pilot, lambda: app.samples_received > seen)
