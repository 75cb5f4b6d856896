"""photosim: find similar photos in your own photo library.

The package has two worlds: :mod:`photosim.core` (catalog, vector index, image loading, embedder,
indexing pipeline, search) imports no Qt and serves the CLI, the tests and the GUI alike;
:mod:`photosim.gui` is the Qt desktop app and only calls the core.
"""

__version__ = "0.1.0"
