"""YAML text pieces shared by tests that edit the toy network file as text."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NET = (FIXTURES / "toy_net.yaml").read_text(encoding="utf-8")
SCN = (FIXTURES / "toy_scn.yaml").read_text(encoding="utf-8")

_PART = (FIXTURES / "line2.yaml.part").read_text(encoding="utf-8")
EXTRA_STATIONS = _PART.split("# stations:\n")[1].split("# lines:\n")[0]
"""Stations G and H, to insert in the toy network's station list."""
LINE_2 = _PART.split("# lines:\n")[1]
"""Line L2 (G-H), to append to the toy network's line list."""
