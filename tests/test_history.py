"""History ring: bounded, windows, min/max, rate, resampling for the graph."""

from __future__ import annotations

import pytest

from ctwatch.model.history import History, resample


def test_ring_is_bounded():
    h = History(maxlen=5)
    for t in range(10):
        h.append(float(t), t * 10)
    assert len(h) == 5
    assert [v for _, v in h] == [50, 60, 70, 80, 90]
    assert h.last() == (9.0, 90)


def test_window_span_and_rate():
    h = History()
    for t in range(60):
        h.append(float(t), 1000 + 10 * t)
    window = h.window(10)
    assert window[0][0] == 49.0 and window[-1][0] == 59.0
    assert h.span(10) == (1490, 1590)
    assert h.rate(30) == pytest.approx(10.0)


def test_gaps_are_skipped():
    h = History()
    h.append(0.0, 5)
    h.append(1.0, None)
    h.append(2.0, 9)
    assert h.span(10) == (5, 9)
    assert h.rate(10) == pytest.approx(2.0)
    empty = History()
    assert empty.span(10) is None and empty.rate(10) is None and empty.window(5) == []


def test_resample_takes_the_peak_per_column():
    samples = [(float(t), v) for t, v in enumerate([1, 5, 2, 2, 9, 3, None, 4])]
    assert resample(samples, 0.0, 8.0, 4) == [5, 2, 9, 4]
    # Columns without samples stay empty rather than inventing values.
    assert resample([(0.0, 3), (7.9, 4)], 0.0, 8.0, 4) == [3, None, None, 4]
    assert resample(samples, 0.0, 8.0, 0) == []


def test_snapshot_is_a_copy():
    h = History()
    h.append(0.0, 1)
    snap = h.snapshot()
    h.append(1.0, 2)
    assert snap == ((0.0, 1),)
