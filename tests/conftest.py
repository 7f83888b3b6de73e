"""Shared test helpers: the repository root on sys.path and the tiny fixture network / scenario.

The fixtures live in tests/fixtures/: `toy_net.yaml` (one operator, a Y-shaped line L1 with trunk
A-B-C-D and branch C-E-F; pattern `trunk` runs A-D, pattern `branch` A-F) and `toy_scn.yaml` (1,000
commuters, 06:00-09:00, flat profile, every OD pair). Tests copy them into tmp_path before changing
them.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture
def toy_dir(tmp_path: Path) -> Path:
    """A temporary directory holding copies of toy_net.yaml and toy_scn.yaml."""
    for name in ("toy_net.yaml", "toy_scn.yaml"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path
