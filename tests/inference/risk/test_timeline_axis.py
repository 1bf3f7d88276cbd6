"""The risk timeline's time axis: round, labelled ticks in a sensible number, points placed by time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inference.risk.selectors import _time_layout, time_ticks

T0 = datetime(2026, 5, 1, 7, 20, tzinfo=UTC)


def test_ticks_are_round_instants_within_the_span_and_few():
    for span in (timedelta(minutes=50), timedelta(hours=8), timedelta(days=3), timedelta(days=40), timedelta(days=900)):
        ticks = time_ticks(T0, T0 + span)
        assert 1 <= len(ticks) <= 7, (span, ticks)
        assert all(T0 <= t <= T0 + span for t in ticks)
        assert all(t.second == 0 and t.minute % 15 == 0 for t in ticks)
    assert time_ticks(T0, T0) == [T0]


def test_points_follow_time_and_a_notes_phrases_spread_without_passing_the_next_note():
    times = [T0] * 3 + [T0 + timedelta(days=1)] * 2 + [T0 + timedelta(days=4)] * 4
    xs, ticks = _time_layout(times, 40.0, 860.0)
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert xs[0] == 40.0 and max(xs) <= 860.0
    assert ticks and all(40.0 <= t.x <= 860.0 for t in ticks)
    assert [t.label for t in ticks][:2] == ["02 May 2026", "03 May"]


def test_phrases_all_at_one_time_sit_around_the_middle():
    xs, ticks = _time_layout([T0] * 3, 40.0, 860.0)
    assert xs == [442.0, 450.0, 458.0] and len(ticks) == 1
