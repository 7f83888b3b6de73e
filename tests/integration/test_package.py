"""Packaging: `pip install -e .` in a fresh virtual environment makes `import sim` work from any
directory and installs the `yrd-sim` command; `python -m sim` runs the same command line. Only the
`sim` package is installed (not tests or bench).

To stay fast and work offline, the fresh environment sees the test interpreter's packages (the
dependencies, pip, setuptools) through a .pth file instead of downloading them, and the repository
is installed without build isolation when the test interpreter can build it (setuptools 70.1 or
later, or an older setuptools with `wheel`). Otherwise pip fetches the build requirements from the
package index (the test is skipped if that is not reachable) and installs a copy of the project
files, because setuptools then writes `yrd_sim.egg-info` into the source tree.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest

import sim
from sim.cli import main

pytestmark = pytest.mark.slow  # installs into a fresh environment: make test-all

ROOT = Path(__file__).resolve().parents[2]


def offline_build_problem() -> str | None:
    """Why the test interpreter cannot build the package without downloading anything (None: it can)."""
    try:
        version = metadata.version("setuptools")
    except metadata.PackageNotFoundError:
        return "setuptools is not installed"
    release = tuple(int(x) for x in re.findall(r"\d+", version)[:2])
    if release < (64, 0):
        return f"setuptools {version} cannot build editable installs (64 or later needed)"
    if release < (70, 1) and importlib.util.find_spec("wheel") is None:
        return f"setuptools {version} needs the 'wheel' package to build (70.1 and later do not)"
    return None


def outer_site_dirs() -> list[str]:
    """Directories of the test interpreter's installed packages (not the repository's own paths)."""
    dirs = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    for name in ("pip", "setuptools", "wheel"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            dirs.add(str(Path(spec.origin).resolve().parent.parent))
    return sorted(d for d in dirs if Path(d).is_dir() and Path(d).resolve() != ROOT)


def test_editable_install_in_a_fresh_environment(tmp_path):
    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is not available to the test interpreter")
    if sys.platform == "win32":
        pytest.skip("the test builds POSIX virtual-environment paths")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}  # no PYTHONPATH from outside
    env.update(PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, env=env, timeout=60).stdout.strip()
    (Path(site) / "_test_interpreter_packages.pth").write_text("\n".join(outer_site_dirs()) + "\n", encoding="utf-8")

    problem = offline_build_problem()
    if problem is None:
        project = ROOT
        options = ["--no-build-isolation"]
    else:  # pip gets setuptools from the index; keep the egg-info setuptools writes out of the checkout
        project = tmp_path / "project"
        for name in ("sim", "networks", "scenarios"):
            shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, project / name)
        options = ["--retries", "0", "--timeout", "20"]
    before = set(os.listdir(ROOT))
    done = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", *options, "-e", str(project)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    if done.returncode != 0 and problem is not None and "from versions: none" in output:
        pytest.skip(f"cannot build the package offline ({problem}) and the package index is not reachable")
    assert done.returncode == 0, output
    made = {n for n in set(os.listdir(ROOT)) - before if n.endswith(".egg-info") or n in ("build", "dist")}
    assert not made, f"the install left build files in the repository: {sorted(made)}"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*args: str | Path) -> subprocess.CompletedProcess:
        return subprocess.run([str(a) for a in args], cwd=elsewhere, env=env, capture_output=True, text=True,
                              timeout=120)

    probe = run(py, "-c", "import importlib.metadata as m, sim; print(sim.__file__); print(m.version('yrd-sim'))")
    assert probe.returncode == 0, probe.stderr
    file, version = probe.stdout.split()
    assert Path(file).resolve() == project / "sim" / "__init__.py"  # editable: the project's own files
    assert version == sim.__version__
    for other in ("bench", "tests", "toynet", "run_sim"):  # only the sim package is installed
        assert run(py, "-c", f"import {other}").returncode != 0, f"'{other}' should not be importable"

    yrd_sim = venv / "bin" / "yrd-sim"
    for command in ([yrd_sim], [py, "-m", "sim"]):
        listing = run(*command, "list")
        assert listing.returncode == 0, listing.stderr
        assert "scenarios/baseline.yaml" in listing.stdout and "networks/yrd_today.yaml" in listing.stdout
        wrong = run(*command, "frobnicate")  # a user error: exit code 2 reaches the shell
        assert wrong.returncode == 2, wrong.stderr
        assert "error: arguments: argument command: invalid choice" in wrong.stderr
        assert "Traceback" not in wrong.stderr



def test_output_into_a_closed_pipe_is_not_an_error(tmp_path, monkeypatch, capsys):
    """`yrd-sim list | head -1`: the reader stops early; no traceback, exit 0."""
    class ClosedPipe:
        def __init__(self):
            self.fd = os.open(tmp_path / "sink", os.O_WRONLY | os.O_CREAT)

        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

        def fileno(self):
            return self.fd

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["list"]) == 0
    assert "Traceback" not in capsys.readouterr().err
