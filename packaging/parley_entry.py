"""The bundle's entry point: the same `main` as the `parley` console script."""

import sys

from app.cli.launch import main

if __name__ == "__main__":
    sys.exit(main())
