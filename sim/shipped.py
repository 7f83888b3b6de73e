"""Where the shipped networks, scenarios and sweeps are, and where results go by default: the
clone's folders when the package runs from a clone (run_sim.py, an editable install), else the
current directory's (a plain package install). A bare name (`baseline`) that is not a file stands
for the shipped scenario or sweep of that name, and for the run directory of that name under
results/."""

from __future__ import annotations

from pathlib import Path

_CLONE = Path(__file__).resolve().parent.parent
ROOT = _CLONE if (_CLONE / "networks").is_dir() else Path.cwd()
"""The folder holding networks/, scenarios/ and the default results/."""


def _bare(path: Path) -> bool:
    return not path.exists() and not path.suffix and len(path.parts) == 1


def scenario_path(path: str | Path) -> Path:
    """`path` as given, or for a bare name the shipped scenarios/<name>.yaml when it exists."""
    path = Path(path)
    candidate = ROOT / "scenarios" / f"{path.name}.yaml"
    return candidate if _bare(path) and candidate.is_file() else path


def results_path(path: str | Path) -> Path:
    """`path` as given, or for a bare name results/<name> under ROOT when it exists."""
    path = Path(path)
    candidate = ROOT / "results" / path.name
    return candidate if _bare(path) and candidate.is_dir() else path
