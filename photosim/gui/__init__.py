"""The Qt desktop app. It only calls :mod:`photosim.core`; nothing in the core imports this package."""
