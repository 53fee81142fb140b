"""Prepared GetEtk answers: kept for one audit head, until their end, bounded in number."""

from __future__ import annotations

import datetime as dt

import pytest

from ehcert.etkdepot.prepared import LIFETIME, PreparedAnswers

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def test_an_answer_holds_for_its_head_only() -> None:
    kept: PreparedAnswers[str] = PreparedAnswers()
    kept.put("q", (1, "a"), T0, "answer", [])
    assert kept.get("q", (1, "a"), T0 + dt.timedelta(seconds=1)) == "answer"
    assert kept.get("q", (2, "b"), T0) is None
    assert kept.get("q", (1, "a"), T0) is None  # dropped when found stale
    assert len(kept) == 0


def test_an_answer_ends_at_its_earliest_end_and_never_outlives_the_lifetime() -> None:
    kept: PreparedAnswers[str] = PreparedAnswers()
    end = T0 + dt.timedelta(seconds=5)
    kept.put("q", 1, T0, "answer", [end, T0 + dt.timedelta(days=3)])
    assert kept.get("q", 1, end - dt.timedelta(microseconds=1)) == "answer"
    assert kept.get("q", 1, end) is None
    kept.put("q", 1, T0, "answer", [T0 + dt.timedelta(days=3)])
    assert kept.get("q", 1, T0 + LIFETIME) is None


def test_an_answer_made_later_is_not_served_to_an_earlier_clock() -> None:
    kept: PreparedAnswers[str] = PreparedAnswers()
    kept.put("q", 1, T0, "answer", [])
    assert kept.get("q", 1, T0 - dt.timedelta(seconds=1)) is None


def test_the_least_recently_used_answer_goes_first() -> None:
    kept: PreparedAnswers[int] = PreparedAnswers(max_entries=2)
    kept.put("a", 1, T0, 1, [])
    kept.put("b", 1, T0, 2, [])
    assert kept.get("a", 1, T0) == 1  # "a" is now the most recent
    kept.put("c", 1, T0, 3, [])
    assert kept.get("b", 1, T0) is None
    assert (kept.get("a", 1, T0), kept.get("c", 1, T0)) == (1, 3)
    with pytest.raises(ValueError, match="positive"):
        PreparedAnswers(max_entries=0)
