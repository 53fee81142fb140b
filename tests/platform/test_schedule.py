"""The platform's schedule: due by its clock, every job at its own interval, a failing job
logged and tried again at its next turn without stopping the others."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from ehcert.core.clock import FixedClock
from ehcert.platform.schedule import PeriodicJob, Schedule

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def test_jobs_run_when_due_by_the_platform_clock_and_a_failure_stops_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FixedClock(T0)
    runs: list[tuple[str, dt.datetime]] = []
    failures = iter([True, False, False])

    def hourly(now: dt.datetime) -> int:
        runs.append(("hourly", now))
        return 1

    def flaky(now: dt.datetime) -> int:
        runs.append(("flaky", now))
        if next(failures):
            raise RuntimeError("the database went away")
        return 0

    schedule = Schedule(
        clock,
        [
            PeriodicJob("flaky", dt.timedelta(minutes=10), flaky),
            PeriodicJob("hourly", dt.timedelta(hours=1), hourly),
        ],
    )
    with caplog.at_level(logging.ERROR, logger="ehcert.platform.schedule"):
        assert schedule.run_due() == {"hourly": 1}  # the failed one has no count
    assert "scheduled job flaky failed" in caplog.text
    assert schedule.run_due() == {}  # nothing is due at the same moment
    clock.advance(dt.timedelta(minutes=10))
    assert schedule.run_due() == {"flaky": 0}  # its next turn, not the hourly one's
    clock.advance(dt.timedelta(minutes=50))
    assert schedule.run_due() == {"flaky": 0, "hourly": 1}
    assert [name for name, _ in runs] == ["flaky", "hourly", "flaky", "flaky", "hourly"]
    assert schedule.next_due("hourly") == T0 + dt.timedelta(hours=2)


def test_a_job_needs_a_positive_interval() -> None:
    with pytest.raises(ValueError, match="positive interval"):
        PeriodicJob("never", dt.timedelta(0), lambda _now: 0)
