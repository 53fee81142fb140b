"""Loaded by every Python process of ``make test-future`` and ``make test-clock`` (the
Makefile puts this folder on PYTHONPATH), so that they can run with only the wall clock
moved.

Those targets move the wall clock with libfaketime and leave the monotonic clock alone
(``FAKETIME_DONT_FAKE_MONOTONIC=1``): the monotonic clock counts from boot and carries no
date, and when libfaketime moves it, every timed wait on a lock (``threading.Timer``,
``Event.wait``, a ``Barrier`` timeout, the platform's schedule tick) hands the kernel a
deadline years ahead of the kernel's monotonic clock through ``sem_clockwait``, which
libfaketime 0.9.10 does not translate, and never wakes up.

With the monotonic clock left alone, libfaketime 0.9.10 still shifts the absolute
CLOCK_MONOTONIC deadline given to ``clock_nanosleep`` by the wall-clock offset, making it
negative, and ``time.sleep`` (CPython 3.11+ sleeps with ``clock_nanosleep(CLOCK_MONOTONIC,
TIMER_ABSTIME)``) fails with EINVAL. A relative timeout (``select``) is not shifted, so
``time.sleep`` waits with that instead. Nothing changes outside libfaketime.
"""

from __future__ import annotations

import os
import select
import time


def _sleep(seconds: float) -> None:
    """``time.sleep`` through relative ``select`` timeouts, re-armed after an early wake-up
    (a signal whose handler returns: PEP 475)."""
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        select.select([], [], [], remaining)


if os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1" and "faketime" in os.environ.get(
    "LD_PRELOAD", ""
):
    time.sleep = _sleep
