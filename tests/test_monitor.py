"""Monitor: scan scheduling within the CPU budget, deltas and baseline, focus, errors, replay."""

from __future__ import annotations

import pytest
from test_ui_support import (
    FakeClock,
    FakeSource,
    calm_lines,
    flood_lines,
    tcp_line,
    write_incident,
)

from ctwatch.engine.answers import Focus
from ctwatch.engine.monitor import Monitor, PollCancelled
from ctwatch.sources.base import SourceError
from ctwatch.sources.recording import ReplaySource


def make(lines=None, scan_cpu=0.0, scan_wall=0.0, **kw):
    clock = FakeClock()
    source = FakeSource(calm_lines() if lines is None else lines, clock, scan_cpu, scan_wall)
    return Monitor(source, clock=clock, **kw), source, clock


def run(monitor, clock, seconds, step=1.0):
    """Poll every `step` seconds for `seconds`; the sample list."""
    out = []
    end = clock.t + seconds
    while clock.t < end - 1e-9:
        out.append(monitor.poll())
        clock.advance(step)
    return out


def test_budget_spaces_expensive_scans():
    # A scan costing 0.5 s of CPU at a 10 % budget: the next one no sooner than 5 s later.
    monitor, source, clock = make(scan_cpu=0.5, cpu_budget=0.10)
    samples = run(monitor, clock, 30)
    scan_times = [s.at for s in samples if s.scanned]
    assert len(scan_times) >= 4
    gaps = [b - a for a, b in zip(scan_times, scan_times[1:])]
    assert min(gaps) >= 5.0
    # ...and the counters were read on every tick regardless.
    assert len(samples) == 30
    assert all(s.snapshot.count == len(source.lines) for s in samples)
    used = source.reads * 0.5 / 30
    assert used <= 0.10 + 1e-9


def test_cheap_scans_run_every_tick():
    monitor, source, clock = make(scan_cpu=0.001)
    samples = run(monitor, clock, 10)
    assert all(s.scanned for s in samples)


def test_bigger_budget_scans_more_often():
    slow, s1, c1 = make(scan_cpu=0.4, cpu_budget=0.05)
    fast, s2, c2 = make(scan_cpu=0.4, cpu_budget=0.40)
    run(slow, c1, 40)
    run(fast, c2, 40)
    assert s2.reads > 2 * s1.reads


def test_scan_age_shows_in_sample():
    monitor, source, clock = make(scan_cpu=1.0, cpu_budget=0.1)
    samples = run(monitor, clock, 5)
    assert samples[0].scanned and not samples[-1].scanned
    assert samples[-1].scan.finished == samples[0].scan.finished
    assert samples[-1].next_scan_at >= samples[0].at + 10.0
    assert samples[0].scan.cost == pytest.approx(1.0)


def test_deltas_against_previous_scan():
    monitor, source, clock = make()
    first = monitor.poll()
    states = {r.key: r for r in first.scan.panels["state"].rows}
    assert states["ESTABLISHED"].delta is None  # no baseline yet
    source.lines += flood_lines(30)
    clock.advance(1)
    second = monitor.poll()
    states = {r.key: r for r in second.scan.panels["state"].rows}
    assert states["SYN_SENT"].delta == 30
    assert states["ESTABLISHED"].delta == 0
    source.lines = source.lines[:-10]
    clock.advance(1)
    third = monitor.poll()
    states = {r.key: r for r in third.scan.panels["state"].rows}
    assert states["SYN_SENT"].delta == -10


def test_pinned_baseline_accumulates_until_unpinned():
    monitor, source, clock = make()
    monitor.poll()
    monitor.pin_baseline()
    for _ in range(3):
        source.lines += flood_lines(5, start=len(source.lines))
        clock.advance(1)
        sample = monitor.poll()
    syn = {r.key: r for r in sample.scan.panels["state"].rows}["SYN_SENT"]
    assert syn.delta == 15  # since the pin, not since the last scan
    assert sample.baseline_at is not None
    monitor.pin_baseline(False)
    clock.advance(1)
    sample = monitor.poll()
    syn = {r.key: r for r in sample.scan.panels["state"].rows}["SYN_SENT"]
    assert syn.delta == 0 and sample.baseline_at is None


def test_focus_forces_a_scan_and_reports_the_subset():
    monitor, source, clock = make(scan_cpu=1.0, cpu_budget=0.1)
    source.lines += flood_lines(30)
    monitor.poll()
    clock.advance(1)
    assert not monitor.poll().scanned
    monitor.set_focus(Focus.of(("src", "203.0.113.7")))
    clock.advance(1)
    sample = monitor.poll()
    assert sample.scanned
    view = sample.scan.focus
    assert view.entries == 10
    assert [r.key for r in view.panels["dport"].rows] == ["80"]
    assert len(view.entry_list) == 10
    assert all(e.orig.src == "203.0.113.7" for e in view.entry_list)
    # Its history starts from what the earlier scans saw of it.
    assert [v for _, v in view.history] == [10, 10]
    monitor.set_focus(None)
    clock.advance(1)
    assert monitor.poll().scan.focus is None


def test_focus_by_cidr_and_narrowing():
    focus = Focus.of(("src", "203.0.113.0/24"))
    assert not focus.pins("src") and focus.address() is None
    narrowed = focus.narrow("dport", "80")
    assert narrowed.title == "src 203.0.113.0/24, dport 80"
    assert Focus.of(("dst", "10.0.0.5")).address() == ("dst", "10.0.0.5")
    with pytest.raises(ValueError):
        Focus.of(("src", "not-an-ip"))
    with pytest.raises(ValueError):
        Focus.of(("mark", "1"))


def test_sort_by_name_changes_view_without_rescan():
    monitor, source, clock = make(scan_cpu=1.0, cpu_budget=0.1)
    source.lines += flood_lines(30)
    first = monitor.poll()
    by_count = [r.key for r in first.scan.panels["src"].rows]
    assert by_count[0] == "10.0.0.5"
    assert monitor.toggle_sort("src") == "name"
    clock.advance(1)
    second = monitor.poll()
    assert not second.scanned
    names = [r.key for r in second.scan.panels["src"].rows]
    assert names[:2] == ["10.0.0.5", "192.0.2.10"] and names[-1] == "203.0.113.8"
    assert second.scan.panels["src"].sort == "name"


def test_interval_ladder():
    monitor, _, _ = make()
    assert monitor.step_interval(+1) == 2.0
    assert monitor.step_interval(-1) == 1.0
    assert monitor.step_interval(-1) == 0.5
    assert monitor.step_interval(-1) == 0.5
    monitor.set_interval(60)
    assert monitor.step_interval(+1) == 60


def test_errors_are_reported_and_recovered_from():
    monitor, source, clock = make()
    monitor.poll()
    source.counter_error = SourceError("network namespace 'x' is gone")
    source.table_error = SourceError("conntrack table not found")
    clock.advance(10)
    bad = monitor.poll()
    assert bad.snapshot.count is None
    assert "network namespace 'x' is gone" in bad.problems
    assert bad.scan is not None  # the last good breakdown stays on screen
    source.counter_error = source.table_error = None
    clock.advance(10)
    good = monitor.poll()
    assert good.problems == () and good.snapshot.count == len(source.lines)


def test_unexpected_exception_does_not_stop_polling():
    monitor, source, clock = make()
    source.table_error = RuntimeError("boom")
    sample = monitor.poll()
    assert "RuntimeError: boom" in sample.error
    source.table_error = None
    clock.advance(1)
    assert monitor.poll().error is None


def test_not_root_shows_counters_and_why():
    monitor, source, clock = make()
    source.table_error = SourceError("permission denied reading /proc/net/nf_conntrack: needs root")
    sample = monitor.poll()
    assert sample.snapshot.count == len(source.lines) and sample.snapshot.max == 1024
    assert sample.scan is None and "needs root" in sample.table_error


def test_cancel_stops_the_read_and_closes_it():
    monitor, source, clock = make(lines=calm_lines(2000))
    with pytest.raises(PollCancelled):
        monitor.poll(should_stop=lambda: True)
    assert source.closed_early == 1


def test_reopen_replaces_a_dead_source():
    clock = FakeClock()
    dead = FakeSource(calm_lines(), clock)
    dead.counter_error = SourceError("gone")
    fresh = FakeSource([tcp_line("192.0.2.1", "10.0.0.5", 1, 443)], clock)
    monitor = Monitor(dead, clock=clock, reopen=lambda: fresh)
    for _ in range(7):
        monitor.poll()
        clock.advance(1)
    assert monitor.source is fresh
    assert monitor.poll().snapshot.count == 1


def test_replay_advances_one_frame_per_poll(tmp_path):
    path = write_incident(str(tmp_path / "incident.jsonl.gz"), frames=6)
    source = ReplaySource(path)
    clock = FakeClock()
    monitor = Monitor(source, clock=clock)
    counts = []
    for _ in range(8):
        counts.append(monitor.poll().snapshot.count)
        clock.advance(1)
    expected = [f["count"] for f in source.frames]
    assert counts == expected + expected[:2]  # loops


def test_drop_rate_and_forecast():
    monitor, source, clock = make()
    monitor.poll()
    source.drop = 50
    source.lines += flood_lines(100)
    clock.advance(1)
    sample = monitor.poll()
    assert sample.rates["drop"] == pytest.approx(50)
    assert sample.forecast.kind == "full"


def test_counters_keep_their_tick_during_a_long_scan():
    """A table read that outlasts the interval still yields counter samples in between."""
    from ctwatch.engine.monitor import Monitor
    from ctwatch.sources.base import Counters, Source

    class Clock:
        now = 1000.0

        def monotonic(self):
            return self.now

        def wall(self):
            return self.now

        def cpu(self):
            return 0.0

    clock = Clock()
    line = (
        b"ipv4     2 udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 "
        b"[UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1 mark=0 use=1\n"
    )

    class SlowTable(Source):
        name, label = "fake", "fake"
        reads = 0

        def read_counters(self):
            SlowTable.reads += 1
            return Counters(count=100 + SlowTable.reads, max=1000)

        def table_chunks(self):
            for _ in range(10):
                clock.now += 0.5  # each chunk takes half a second of the 1 s interval
                yield line * 2000

    monitor = Monitor(SlowTable(), interval=1.0, clock=clock)
    ticks = []
    monitor.on_sample = ticks.append
    final = monitor.poll(scan=True)
    assert final.scanned and final.scan.entries == 20000
    assert len(ticks) >= 4  # a 5 s read at a 1 s interval: counters every second
    assert all(not t.scanned for t in ticks)
    counts = [t.snapshot.count for t in ticks]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)
