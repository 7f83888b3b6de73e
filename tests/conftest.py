"""Shared test set-up: the repository root on sys.path (so `import sim` works from any directory).

Fixture files live in tests/fixtures/: `toy_net.yaml` (one operator, a Y-shaped line L1 with trunk
A-B-C-D and branch C-E-F; pattern `trunk` runs A-D, pattern `branch` A-F) and `toy_scn.yaml` (1,000
commuters, 06:00-09:00, flat profile, every OD pair). Tests copy them into tmp_path before changing
or running them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# helper modules whose checks assert: their failures explained as in the tests themselves
pytest.register_assert_rewrite("gtfs_feed", "toy_text")

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
