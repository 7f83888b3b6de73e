"""Command line of the Yangtze Delta commuting-circle transit simulator (see README.md)."""

import sys

from sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
