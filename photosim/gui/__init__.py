"""The photosim desktop app (PySide6). Only this package imports Qt; it calls :mod:`photosim.core`."""
