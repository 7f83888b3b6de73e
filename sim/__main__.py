"""`python -m sim` and the `yrd-sim` command: the command line of sim.cli, exit code passed on."""

import sys
from pathlib import Path

from .cli import main


def console() -> None:
    """Entry point of the `yrd-sim` console script."""
    name = Path(sys.argv[0]).name
    raise SystemExit(main(prog="yrd-sim" if name == "yrd-sim" else "python -m sim"))


if __name__ == "__main__":
    console()
