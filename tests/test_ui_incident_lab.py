"""The incident answers on real kernel tables: drops, the kernel log, time to full, delete."""

from __future__ import annotations

import os
import time

import pytest
from lab import SOURCES, Lab, global_conntrack_max, lab_unavailable_reason
from test_lab_live import conntrack_rows
from test_ui_support import screen_text, wait_for

from ctwatch.engine.answers import Focus
from ctwatch.engine.monitor import Monitor
from ctwatch.faces.ui.app import create_app
from ctwatch.faces.ui.screens.delete_modal import DeleteConfirm
from ctwatch.faces.ui.screens.kernel_screen import KernelLogScreen
from ctwatch.sources.kmsg import KernelLog
from ctwatch.sources.netns import NetnsSource

pytestmark = pytest.mark.lab

# Paced UDP: RATE new flows a second to distinct 127.1.x.y:port, TOTAL in all.
PACED = """
import socket, sys, time
rate, total = float(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("ready", flush=True)
start = time.monotonic()
for i in range(total):
    wait = start + i / rate - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    try:
        s.sendto(b"x", ("127.1.%d.%d" % (i // 250 % 250, 1 + i % 250), 9000 + i % 7))
    except OSError:
        pass
time.sleep(3600)
"""


@pytest.fixture
def lab_name():
    reason = lab_unavailable_reason()
    if reason:
        pytest.skip(f"lab unavailable: {reason}")


async def poll(pilot, app) -> None:
    seen = app.samples_received
    app.request_poll()
    await wait_for(pilot, lambda: app.samples_received > seen, timeout=15)


async def test_real_drops_light_up_the_drop_line_and_the_kernel_log(lab_name):
    with Lab("ctwinc") as lab:
        source = NetnsSource(lab.name)
        klog = KernelLog("/", dmesg="")
        app = create_app(source, host="lab", autopoll=False, kernel_log=klog)
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                await wait_for(pilot, lambda: app.latest is not None and app.latest.scan)
                await poll(pilot, app)
                assert app.latest.incident.last_drop is None
                with global_conntrack_max(512):
                    lab.fill_udp(800)
                    time.sleep(0.3)  # a rate needs a span (Monitor.MIN_RATE_SPAN)
                    await poll(pilot, app)
                    dropping = app.latest
                    names = app.latest.incident.kernel.namespaces
                    if lab.name not in names and klog.problem is None:
                        # The kernel logs ~10 such lines per 5 s machine-wide: try again.
                        time.sleep(5.5)
                        lab.fill_udp(800)
                        await poll(pilot, app)
                assert dropping.snapshot.count == 512
                drops = sum(
                    dropping.rates.get(n, 0) for n in ("drop", "early_drop", "insert_failed")
                )
                assert drops > 0, dropping.rates
                assert dropping.incident.last_drop == dropping.snapshot.taken_at
                text = screen_text(app)
                assert "last drop " in text and "FULL, dropping" in text
                if klog.problem is None:
                    kernel = app.latest.incident.kernel
                    assert lab.name in kernel.namespaces, kernel
                    assert "table-full logged" in screen_text(app)
                    await pilot.press("k")
                    assert isinstance(app.screen, KernelLogScreen)
                    await poll(pilot, app)
                    assert lab.name in screen_text(app)
        finally:
            source.close()
            klog.close()


def test_time_to_full_on_a_steady_fill(lab_name):
    rate, limit = 250.0, 4000
    with Lab("ctwinc") as lab:
        lab.sysctl("net.netfilter.nf_conntrack_udp_timeout", 600)
        source = NetnsSource(lab.name)
        monitor = Monitor(source, interval=0.5)
        try:
            with global_conntrack_max(limit):
                filler = lab.popen([__import__("sys").executable, "-c", PACED, str(rate), "20000"])
                filler.wait_ready()
                started = time.monotonic()
                samples = []
                while time.monotonic() - started < 8:
                    samples.append(monitor.poll(scan=False))
                    time.sleep(0.5)
                at, forecast, count = time.monotonic(), samples[-1].forecast, lab.count()
                while lab.count() < limit and time.monotonic() - at < 60:
                    time.sleep(0.2)
                actual = time.monotonic() - at
                filler.stop()
        finally:
            source.close()
    assert forecast.kind == "filling", forecast
    expected = (limit - count) / rate
    assert 0.5 * expected <= forecast.seconds <= 2 * expected, (forecast, expected)
    assert 0.5 * actual <= forecast.seconds <= 2 * actual, (forecast, actual)
    assert abs(forecast.slope - rate) < 0.25 * rate, forecast
    assert forecast.describe().startswith("full in ")


async def test_allow_delete_removes_exactly_that_source(lab_name, tmp_path):
    with Lab("ctwinc") as lab:
        lab.long_timeouts()
        lab.drop_udp(5301)
        lab.traffic("udp", "--n", "12", "--port", "5301", "--src", SOURCES)
        lab.traffic("udp", "--n", "5", "--port", "5301")
        before = conntrack_rows(lab)
        victim = "127.0.0.3"
        mine = [r for r in before if r["src"] == victim]
        assert mine and len(mine) < len(before)
        source = NetnsSource(lab.name)
        app = create_app(
            source, host="lab", autopoll=False, allow_delete=True,
            log_path=str(tmp_path / "ctwatch.log"),
        )  # fmt: skip
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                await wait_for(pilot, lambda: app.latest is not None and app.latest.scan)
                app.open_focus(Focus.of(("src", victim)))
                await wait_for(pilot, lambda: app.latest.scan.focus is not None, timeout=10)
                await pilot.press("D")
                assert isinstance(app.screen, DeleteConfirm)
                await pilot.pause()
                text = screen_text(app)
                assert f"saw {len(mine)} entries" in text
                assert f"ip netns exec {lab.name} conntrack -D -s {victim}" in text
                await pilot.press("n")
                await pilot.pause(0.5)
                assert sorted(map(str, conntrack_rows(lab))) == sorted(map(str, before))
                await pilot.press("D")
                await pilot.press("y")
                await wait_for(pilot, lambda: getattr(app, "last_delete", None), timeout=30)
                assert app.last_delete.deleted == len(mine)
        finally:
            source.close()
        after = conntrack_rows(lab)
        rest = [r for r in before if r["src"] != victim]
        assert sorted(map(str, after)) == sorted(map(str, rest))
        log = (tmp_path / "ctwatch-delete.log").read_text()
        assert f"delete src={victim} netns={lab.name} deleted={len(mine)}" in log
        assert os.stat(tmp_path / "ctwatch-delete.log").st_mode & 0o077 == 0
