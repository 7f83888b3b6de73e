"""Charts drawn by forked processes: a drawing process that waits for ever (a lock it inherited held)
is ended, also with a Python SIGTERM handler installed as the command line does, and its charts are
drawn in this process instead."""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time

import pytest

import sim.report.charts as charts

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")

HELD = threading.Lock()


def _fine() -> str:
    return "drawn"


def _stuck() -> str:
    if multiprocessing.current_process().name != "MainProcess":
        HELD.acquire()
        HELD.acquire()  # never returns in a forked process
    return "drawn here"


def test_a_stuck_drawing_process_is_ended_and_its_charts_drawn_here(monkeypatch):
    monkeypatch.setattr(charts, "FORKED_CHARTS_TIMEOUT_S", 2.0)
    previous = signal.signal(signal.SIGTERM, lambda *_: None)  # a Python handler, as the command line installs
    try:
        t0 = time.perf_counter()
        out = charts.render([_fine, _stuck, _fine, _fine])
        elapsed = time.perf_counter() - t0
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert out == ["drawn", "drawn here", "drawn", "drawn"]
    assert 2.0 <= elapsed < 30.0
