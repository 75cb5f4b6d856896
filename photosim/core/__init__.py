"""The photo library engine: everything that turns folders of photos into a searchable index.

Nothing in this package imports Qt (an import-linter contract in pyproject.toml keeps it so).
"""
