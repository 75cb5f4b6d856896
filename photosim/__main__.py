"""``python -m photosim``: the same entry point as the ``photosim`` command."""

from .cli import run

if __name__ == "__main__":
    run()
