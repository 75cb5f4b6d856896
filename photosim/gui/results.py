"""The results presenter: what the grid shows (the library, or a query's results) and the header above it.

It owns the query token (a newer query makes an older answer stale), the query's preview and label,
the library's scroll position while results are shown, and applying library snapshots to the grid.
Queries run in the service's query lane; this presenter only submits them and shows the answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QPixmap

from ..core.paths import display_path
from ..core.service import LibraryService, Query
from ..core.snapshot import LibrarySnapshot
from .bridge import ServiceBridge
from .drops import load_preview
from .grid import PhotoGrid, PhotoModel
from .header import QueryHeader


class ResultsPresenter(QObject):
    """Switches the grid between the library and query results and keeps the header in step.

    Signals:
        results_shown(list): a query's results (best first) are in the grid.
        query_failed(str): a query could not be answered; the message was shown.
        library_refreshed(int): the library view shows a new snapshot with this many photos.
    """

    results_shown = Signal(list)
    query_failed = Signal(str)
    library_refreshed = Signal(int)

    def __init__(
        self,
        service: LibraryService,
        bridge: ServiceBridge,
        model: PhotoModel,
        grid: PhotoGrid,
        header: QueryHeader,
        *,
        results_count: Callable[[], int],
        message: Callable[[str, int], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.model = model
        self.grid = grid
        self.header = header
        self.results_count = results_count
        self.message = message
        self.token = 0
        self.snapshot: LibrarySnapshot | None = None
        self._preview: QPixmap | None = None
        self._label = ""
        self._library_scroll = 0
        bridge.snapshot_published.connect(self.apply_snapshot)
        bridge.query_answered.connect(self._answered)
        bridge.query_failed.connect(self._failed)
        header.back_requested.connect(self.back_to_library)

    @property
    def showing_results(self) -> bool:
        return self.model.is_results or self.header.in_query

    # -- queries ---------------------------------------------------------------------------------
    def find_similar_to_file(self, path: str) -> None:
        self.start(Query("file", path, os.path.basename(display_path(path))), load_preview(path))

    def find_similar_to_bytes(self, data: bytes, label: str = "the dropped image") -> None:
        self.start(Query("bytes", data, label), load_preview(data))

    def find_similar_to_photo(self, photo_id: int) -> None:
        row = self.service.photo(photo_id)
        if row is None:
            self.message("That photo is no longer in the library.", 5000)
            return
        self.start(Query("photo", photo_id, os.path.basename(display_path(row.path))), load_preview(row.path))

    def start(self, query: Query, preview: QPixmap | None) -> int:
        """Submit a query; the grid keeps its content until the answer arrives."""
        if not self.model.is_results:
            self._library_scroll = self.grid.verticalScrollBar().value()
        self._preview = preview
        self._label = query.label
        self.header.show_query(preview, query.label, "Searching…")
        token, _future = self.service.submit_query(query, self.results_count())
        self.token = token
        return token

    @Slot(int, object)
    def _answered(self, token: int, results: Any) -> None:
        if token != self.token or not self.header.in_query:
            return  # stale: a newer query was asked, or the user went back to the library
        results = list(results)
        self.model.show_results(results)
        best = f" (best match {results[0].score:.2f})" if results else ""
        n = len(results)
        self.header.show_query(self._preview, self._label,
                               f"{n} similar photo{'s' if n != 1 else ''}, best first{best}. "
                               "Esc goes back to the library.")
        self.grid.scrollToTop()
        if results:
            self.grid.setCurrentIndex(self.model.index(0))
        self.grid.setFocus()
        self.results_shown.emit(results)

    @Slot(int, str, str)
    def _failed(self, token: int, message: str, details: str) -> None:
        if token != self.token or not self.header.in_query:
            return
        self.header.set_state(f"Cannot search: {message}")
        self.message(message, 10000)
        self.query_failed.emit(message)

    # -- the library view ------------------------------------------------------------------------
    @Slot()
    def back_to_library(self) -> None:
        if not self.showing_results:
            return
        self.token = 0  # a query still running is now stale
        ids = self.snapshot.ids if self.snapshot is not None else np.zeros(0, dtype=np.int64)
        self.model.show_library(ids)
        self.header.show_library(len(ids))
        self.grid.verticalScrollBar().setValue(self._library_scroll)

    @Slot(object)
    def apply_snapshot(self, snapshot: LibrarySnapshot) -> None:
        """Show a new snapshot in the library view (results on screen are left alone)."""
        previous = self.snapshot
        self.snapshot = snapshot
        if self.showing_results:
            if previous is None or not np.array_equal(previous.ids, snapshot.ids):
                self.model.forget_rows()  # files may have moved: re-read the rows on screen
            return
        ids = snapshot.ids
        if not np.array_equal(ids, self.model.ids):
            current = self.grid.currentIndex().data(PhotoModel.PhotoIdRole)
            scroll = self.grid.verticalScrollBar().value()
            self.model.show_library(ids)
            if current is not None:
                row = self.model.row_of(current)
                if row >= 0:
                    self.grid.setCurrentIndex(self.model.index(row))
            self.grid.verticalScrollBar().setValue(scroll)
        elif previous is not None and previous.counts != snapshot.counts:
            self.model.forget_rows()
        self.header.show_library(len(ids))
        self.library_refreshed.emit(len(ids))
