"""Browsing the library in the order people expect: newest first.

The grid shows a library of any size as rows of photo ids; it needs all ids in display order (cheap:
8 bytes each) but fetches the rest of each row (path, size, date) only for the rows on screen, a page
at a time, with :meth:`Catalog.get_many`.
"""

from __future__ import annotations

import numpy as np

from .catalog import Catalog


def newest_first_ids(catalog: Catalog) -> np.ndarray:
    """Ids of every indexed photo, in the same order as :meth:`Catalog.library_page`."""
    return catalog.newest_first_ids()
