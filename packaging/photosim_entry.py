"""Entry point of the frozen app (PyInstaller): the same as the ``photosim`` console script.

With no arguments it opens the desktop app; ``--self-test`` checks the installation; every command of
the command line works too (``photosim search ...``).
"""

import multiprocessing
import sys

from photosim.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # harmless today; keeps a future process pool from re-running main
    sys.exit(main())
