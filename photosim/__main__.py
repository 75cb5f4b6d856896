"""``python -m photosim``: the same entry point as the ``photosim`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
