"""The progress bar on a real (pseudo-)terminal: never a negative percentage or time left, never
tqdm's "clamping frac" warning, and every log message on its own line above the bar."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import sys
import termios
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # make test-all

REPO = Path(__file__).resolve().parents[2]


def on_terminal(argv: list[str], rows: int = 40, cols: int = 140) -> str:
    """Run the command line in a pseudo-terminal of `rows` x `cols`; everything it printed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: file descriptors 0, 1 and 2 are the terminal
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.chdir(REPO)
            os.execv(sys.executable, [sys.executable, "run_sim.py", *argv])
        finally:
            os._exit(127)  # never back into the test runner
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out.decode(errors="replace")
    return out.decode("utf-8", errors="replace")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals as on Linux")
def test_the_bar_stays_within_0_and_100_percent_and_warnings_get_their_own_lines(tmp_path):
    text = on_terminal(["run", "scenarios/baseline.yaml", "--set", "demand.total=30000", "--out",
                        str(tmp_path / "out"), "--no-plots"])
    percents = [int(p) for p in re.findall(r"baseline:\s+(-?\d+)%", text)]
    assert len(percents) > 2 and min(percents) >= 0 and max(percents) <= 100
    shown = [p for p in percents if p]  # redrawn after a message: 0 % again is the bar's first frame
    assert shown == sorted(shown)
    assert "clamping frac" not in text and "<-" not in text  # no negative time left
    warnings = [ln for ln in text.split("\n") if "WARNING:" in ln]
    assert warnings, "the baseline prints warnings: the check below must see some"
    for ln in warnings:
        visible = ln.rstrip("\r").split("\r")[-1]  # what a terminal shows: the text after the last return
        assert visible.startswith("WARNING:"), repr(ln)
