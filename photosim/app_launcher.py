"""Launching the desktop app from the command line (bare ``photosim``).

Kept apart from :mod:`photosim.cli` so the command line never imports Qt unless the app is wanted.
"""

from __future__ import annotations

import argparse
import sys


def launch_app(args: argparse.Namespace) -> int:
    try:
        from .gui.app import run_app
    except ImportError as exc:
        print(f"photosim: error: the desktop app is not available ({exc}); "
              "use 'photosim --help' for the command line", file=sys.stderr)
        return 2
    return run_app(data_dir=args.data_dir, verbose=args.verbose)
