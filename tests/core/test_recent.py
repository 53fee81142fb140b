"""A recent value is read again only once its reading is older than its bound."""

from __future__ import annotations

from ehcert.core.recent import RecentValue


class _Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_value_is_read_again_only_once_its_reading_is_old_enough() -> None:
    ticks, readings = _Ticks(), []

    def read() -> int:
        readings.append(ticks.now)
        return len(readings)

    recent = RecentValue(read, max_age=0.001, monotonic=ticks)
    assert recent.get() == 1
    ticks.now += 0.0009
    assert recent.get() == 1  # younger than the bound: not read
    ticks.now += 0.0001
    assert recent.get() == 2  # as old as the bound: read again
    assert readings == [100.0, 100.001]


def test_forget_makes_the_next_get_read_and_none_is_a_value_like_any_other() -> None:
    ticks, readings = _Ticks(), []

    def read() -> None:
        readings.append(ticks.now)

    recent = RecentValue(read, max_age=10.0, monotonic=ticks)
    assert recent.get() is None
    assert recent.get() is None
    assert len(readings) == 1  # a None reading is kept, not taken for "never read"
    recent.forget()
    recent.get()
    assert len(readings) == 2
