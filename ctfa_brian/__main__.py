"""Run the ``ctfa`` command line: ``python -m ctfa_brian train ...``."""

import sys

from ctfa_brian.cli import main

if __name__ == "__main__":
    sys.exit(main())
