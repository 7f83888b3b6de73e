"""The README as a new user follows it: every shell command of its ```sh blocks, in order, on a
fresh copy of the project, must exit 0; and its Python snippets must run from another directory.

Blocks marked ```text are examples that need what a fresh copy does not have (a cluster, a feed
you download); `make test` and `make test-all` are left out here (this test is part of them). The
commands run with YRD_SIM_DEMAND_TOTAL set, so that every run is small (the README says so).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the README's whole sequence, sweeps included: make test-all

REPO = Path(__file__).resolve().parents[2]
DEMAND = "1500"


def shell_commands(text: str) -> list[str]:
    """The commands of the ```sh blocks, in order: continuation lines joined, comments dropped."""
    out = []
    for block in re.findall(r"^\s*```sh\n(.*?)^\s*```", text, re.S | re.M):
        for command in re.sub(r"\\\n\s*", " ", block).splitlines():
            command = command.strip()
            if command and not command.startswith("#"):
                out.append(command)
    return out


def fresh_copy(dest: Path) -> Path:
    """The project's tracked files (as a fresh clone has them) in `dest`, sharing this .venv."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        rel = Path(os.fsdecode(name))
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    (dest / ".venv").symlink_to(Path(sys.executable).resolve().parents[1] if not (REPO / ".venv").exists()
                                else (REPO / ".venv").resolve())
    return dest


def test_every_readme_command_runs_in_order_on_a_fresh_copy(tmp_path):
    commands = [c for c in shell_commands((REPO / "README.md").read_text(encoding="utf-8"))
                if not re.match(r"make test(-all)?\b", c)]
    assert len(commands) > 15 and any(c.startswith("make run") for c in commands)
    work = fresh_copy(tmp_path / "clone")
    env = {**os.environ, "YRD_SIM_DEMAND_TOTAL": DEMAND}
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr, command


def test_the_python_snippets_run_from_another_directory(tmp_path):
    text = (REPO / "README.md").read_text(encoding="utf-8")
    snippet = next(s for s in re.findall(r"```python\n(.*?)```", text, re.S) if "sim.load_scenario" in s)
    snippet = snippet.replace("200_000", DEMAND)  # small, as the commands above
    lines = [ln for ln in snippet.splitlines() if "load_results" not in ln]  # needs `make run` first
    done = subprocess.run([sys.executable, "-c", "\n".join(lines)], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
