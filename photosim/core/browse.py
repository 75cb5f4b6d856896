"""Browsing the library in the order people expect: newest first.

The grid shows a library of any size as rows of photo ids; it needs all ids in display order (cheap:
8 bytes each) but fetches the rest of each row (path, size, date) only for the rows on screen, a page
at a time, with :meth:`Catalog.get_many`.
"""

from __future__ import annotations

import numpy as np

from .catalog import Catalog

_NEWEST_FIRST = (
    "SELECT id FROM photos WHERE state = 'indexed' "
    "ORDER BY COALESCE(taken_at, mtime_ns / 1e9) DESC, id DESC"
)


def newest_first_ids(catalog: Catalog) -> np.ndarray:
    """Ids of every indexed photo, in the same order as :meth:`Catalog.library_page`."""
    rows = catalog.db.execute(_NEWEST_FIRST).fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
