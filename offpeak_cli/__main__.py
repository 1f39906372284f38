"""`python -m offpeak_cli`: the same command line as the `tesla-offpeak` console script."""

from __future__ import annotations

import sys

from offpeak_cli.main import main

if __name__ == "__main__":
    sys.exit(main())
