"""The results presenter: what the grid shows (the library, or a query's results) and the header above it.

It owns the query token (a newer query makes an older answer stale), the query itself (so a region
of it can be searched again), its preview and label, the library's scroll position while results are
shown, the download of a dropped or pasted image link, and applying library snapshots to the grid.
Queries run in the service's query lane; this presenter only submits them and shows the answers:
copies of the query first, then similar photos down to where they stop being meaningful for this
query, and "Show N more" for the rest.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QCheckBox, QWidget

from ..core.cleanup import ActionResult
from ..core.fetch import FetchError, fetch_image
from ..core.paths import display_path, is_within
from ..core.results import remap_results
from ..core.service import LibraryService, Query
from ..core.snapshot import LibrarySnapshot
from .bridge import ServiceBridge
from .drops import load_picture, load_preview
from .grid import PhotoGrid, PhotoModel
from .header import QueryHeader, RegionDialog

REGION_PICTURE = 720
"""Longest side of the query picture in the region picker."""

_ABOUT = re.compile(r"^\s*(?:(?:a|an|the|my|our|some|all)\s+)?(?:photos?|pictures?|images?|pics?|shots?)\s+(?:of|with)\s+",
                    re.IGNORECASE)


def _subject(typed: str) -> str:
    """What a word search is about, for its title: "photos of a cat" -> "a cat" (the title says
    "Photos of" already; it read "Photos of photos of a cat")."""
    return _ABOUT.sub("", typed).strip() or typed


@dataclasses.dataclass(frozen=True)
class _BeforeTrash:
    """The answer on screen before a clean-up took photos out of it, for that action's undo."""

    batch: int | None
    token: int
    answer: Any
    gone: tuple[int, ...]


class _FetchRelay(QObject):
    """Carries a link download's progress and outcome to the GUI thread.

    Signals:
        progressed(int, int, object): token, bytes so far, total bytes (None when unknown).
        finished(int, object, str): token, the image bytes (None on failure), the error message.
    """

    progressed = Signal(int, int, object)
    finished = Signal(int, object, str)


class ResultsPresenter(QObject):
    """Switches the grid between the library and query results and keeps the header in step.

    Signals:
        results_shown(list): a query's results on screen (copies first, best first).
        query_failed(str): a query could not be answered; the message was shown.
        library_refreshed(int): the library view shows a new snapshot with this many photos.
        all_folders_requested(): Esc or "All photos" in one folder's view: the folders panel should
            drop its choice (which then calls :meth:`show_folder` with None).
    """

    results_shown = Signal(list)
    query_failed = Signal(str)
    library_refreshed = Signal(int)
    all_folders_requested = Signal()

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
        dialog_parent: QWidget | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.model = model
        self.grid = grid
        self.header = header
        self.results_count = results_count
        self.message = message
        self.dialog_parent = dialog_parent
        self.token = 0
        self.snapshot: LibrarySnapshot | None = None
        self.query: Query | None = None
        self.answer: Any = None
        self._preview: QPixmap | None = None
        self._label = ""
        self._library_scroll = 0
        self.folder: str | None = None
        """The folder whose photos the library view shows, a watched one or one inside it (None: all)."""
        self._all_shown = False  # "Show N more" was clicked for the answer on screen
        self._before_trash: _BeforeTrash | None = None
        self._fetch_cancel: threading.Event | None = None
        self._fetch_thread: threading.Thread | None = None
        self._relay = _FetchRelay(self)
        self._relay.progressed.connect(self._fetch_progressed)
        self._relay.finished.connect(self._fetch_finished)
        bridge.snapshot_published.connect(self.apply_snapshot)
        bridge.query_answered.connect(self._answered)
        bridge.query_failed.connect(self._failed)
        bridge.cleaned_up.connect(self.photos_cleaned_up)
        self._scoped = False  # "Only in <folder>" ticked: queries asked while a folder is picked search it
        self.scope_box = QCheckBox()
        self.scope_box.setObjectName("folderScope")
        header.add_tool(self.scope_box, in_query_only=True)
        self.scope_box.hide()
        self.scope_box.toggled.connect(self._scope_toggled)
        header.back_requested.connect(self.back_to_library)
        header.more_requested.connect(self.show_more)
        header.region_requested.connect(self.pick_region)

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

    def find_by_words(self, text: str) -> int | None:
        """Photos labelled like the words ("dog", "beach", "golden retriever"); all words must match."""
        words = text.split()
        if not words:
            return None
        return self.start(Query("text", words, text), None)

    def narrow(self, word: str | None) -> int | None:
        """Run the current query again keeping only photos labelled like ``word`` (None: all of them)."""
        if self.query is None or self.query.only == word:
            return None
        return self.start(dataclasses.replace(self.query, only=word), self._preview)

    def start(self, query: Query, preview: QPixmap | None) -> int:
        """Submit a query; the grid keeps its content until the answer arrives. With a folder picked
        in the panel and "Only in <folder>" chosen before, the query searches that folder."""
        self._cancel_fetch()
        if not self.model.is_results and not self.header.in_query:
            self._library_scroll = self.grid.verticalScrollBar().value()
        if self.folder is not None and self._scoped and query.folder is None:
            query = dataclasses.replace(query, folder=self.folder)
        self.query = query
        self._preview = preview
        self._label = query.label if query.crop is None else f"a region of {query.label}"
        words = query.kind == "text"
        title = f"Photos of {_subject(query.label)}" if words else None
        if query.folder:
            title = (title or f"Similar to {self._label}") + f" in {_folder_name(query.folder)}"
        if query.only:
            title = (title or f"Similar to {self._label}") + f", only {query.only}"
        # No region to draw on a picture that cannot be shown (a photo of an offline folder, whose
        # stored vector still answers "Find similar").
        can_pick = not words and preview is not None and not preview.isNull()
        self.header.show_query(preview, self._label, "Searching…", can_pick_region=can_pick, title=title)
        self._show_scope(query)
        token, _future = self.service.submit_query(query, self.results_count())
        self.token = token
        return token

    # -- the whole library or the folder picked in the panel ---------------------------------------
    def _show_scope(self, query: Query) -> None:
        """"Only in <folder>" beside the results while a folder is picked in the panel, ticked when
        the results come from it."""
        folder = query.folder or self.folder
        self.scope_box.setVisible(folder is not None)
        if folder is not None:
            self.scope_box.blockSignals(True)
            self.scope_box.setText(f"Only in {_folder_name(folder)}")
            self.scope_box.setToolTip(f"Search only the photos in {display_path(folder)} (and its folders); "
                                      "unticked: the whole library")
            self.scope_box.setChecked(query.folder is not None)
            self.scope_box.blockSignals(False)

    @Slot(bool)
    def _scope_toggled(self, only_folder: bool) -> None:
        """Ask the same again in the folder (or in the whole library); the choice holds for the next
        queries while a folder is picked."""
        self._scoped = only_folder
        if self.query is None:
            return
        folder = (self.query.folder or self.folder) if only_folder else None
        if folder != self.query.folder:
            self.start(dataclasses.replace(self.query, folder=folder), self._preview)

    @Slot(int, object)
    def _answered(self, token: int, answer: Any) -> None:
        if token != self.token or not self.header.in_query:
            return  # stale: a newer query was asked, or the user went back to the library
        self.answer = answer
        self._all_shown = False
        self._before_trash = None
        shown = list(getattr(answer, "shown", answer))
        more = int(getattr(answer, "more", 0))
        self.model.show_results(chip_kinds(answer, shown))
        text, offered = self._state_line(answer)
        self.header.set_state(text, offered)
        if getattr(answer, "message", None):  # a word search that found nothing says why
            self.message(answer.header(), 8000)
        self.header.set_more(more)
        self.grid.scrollToTop()
        if shown:
            self.grid.setCurrentIndex(self.model.index(0))
        self.grid.setFocus()
        self.results_shown.emit(shown)

    @Slot()
    def show_more(self) -> None:
        """Show the results beyond the query's cutoff as well."""
        if self.answer is None or not hasattr(self.answer, "results"):
            return
        everything = list(self.answer.results)
        self._all_shown = True
        self.model.show_results(chip_kinds(self.answer, everything))
        self.header.set_more(0)
        self.header.set_state(*self._state_line(self.answer))
        self.results_shown.emit(everything)

    # -- photos leaving and coming back while their results are on screen -------------------------
    @Slot(object)
    def photos_cleaned_up(self, result: ActionResult) -> None:
        """A clean-up action (here or on the Duplicates page) or its undo: the results follow.

        Photos moved to the trash (or out of the library) leave the results at once, the others keep
        their places, and the copy and similar counts in the header follow. The undo of that action
        puts them back where they were (under the ids the library gives them back).
        """
        answer = self.answer
        if not self.showing_results or answer is None or not hasattr(answer, "results"):
            return
        if result.action == "undo":
            before, self._before_trash = self._before_trash, None
            if before is None or before.batch != result.batch or before.token != self.token:
                return
            rows = self.service.photo_rows(list(result.photo_ids)) if result.photo_ids else {}
            back = {row.path: photo_id for photo_id, row in rows.items()}
            gone = set(before.gone)
            restored = remap_results(before.answer, lambda r: (
                dataclasses.replace(r, photo_id=back[r.path]) if r.photo_id in gone and r.path in back
                else None if r.photo_id in gone else r))
            if any(r.photo_id in back.values() for r in restored.results):
                self._show_in_place(restored)
                row = next((i for i, photo_id in enumerate(self.model.ids) if int(photo_id) in back.values()), -1)
                if row >= 0:  # the photo that came back is the one selected, as it was when it left
                    self.grid.setCurrentIndex(self.model.index(row))
            return
        gone = set(result.photo_ids)
        if not gone or not any(r.photo_id in gone for r in answer.results):
            return
        self._before_trash = _BeforeTrash(result.batch, self.token, answer, tuple(gone))
        self._show_in_place(remap_results(answer, lambda r: None if r.photo_id in gone else r))

    def _state_line(self, answer: Any) -> tuple[str, Sequence[str]]:
        """The header's line for an answer, and the words it offers as links."""
        shown = list(getattr(answer, "shown", answer))
        header = answer.header() if hasattr(answer, "header") else f"{len(shown)} similar photos"
        if getattr(answer, "message", None):  # a word search that found nothing: why, and the words it may have meant
            return f"{header}. Esc goes back to the library.", tuple(getattr(answer, "suggestions", ()))
        found_by = f" ({found_by_text(answer.variant)})" if getattr(answer, "variant", "") else ""
        # words left out ("red flower") are named, with the words they may have meant as links
        offered = tuple(getattr(answer, "suggestions", ())) if getattr(answer, "note", None) else ()
        more = int(getattr(answer, "more", 0))
        order = f", then {more:,} more that are less alike" if self._all_shown and more else ", best first"
        if not shown and not (self._all_shown and more):
            order = ""  # "No similar photos. Esc…", not "No similar photos, best first"
        return f"{header}{found_by}{order}. Esc goes back to the library.", offered

    def _show_in_place(self, answer: Any) -> None:
        """Show a changed answer to the same query: the grid keeps its scroll position and its
        current place (the photo there, or the one that took the place of a photo that left)."""
        current = self.grid.currentIndex()
        current_id = current.data(PhotoModel.PhotoIdRole)
        current_row = current.row()
        scroll = self.grid.verticalScrollBar().value()
        self.answer = answer
        rows = list(answer.results) if self._all_shown else list(answer.shown)
        self.model.show_results(chip_kinds(answer, rows))
        more = 0 if self._all_shown else int(getattr(answer, "more", 0))
        self.header.set_more(more)
        self.header.set_state(*self._state_line(answer))
        row = self.model.row_of(int(current_id)) if current_id is not None else -1
        if row < 0 and current_row >= 0 and rows:
            row = min(current_row, len(rows) - 1)
        if row >= 0:
            self.grid.setCurrentIndex(self.model.index(row))
        self.grid.verticalScrollBar().setValue(scroll)

    @Slot(int, str, str)
    def _failed(self, token: int, message: str, details: str) -> None:
        if token != self.token or not self.header.in_query:
            return
        self.header.set_state(f"Cannot search: {message}")
        self.message(message, 10000)
        self.query_failed.emit(message)

    # -- a region of the query -------------------------------------------------------------------
    @Slot()
    def pick_region(self) -> None:
        """Show the query picture large; a rectangle drawn on it searches again with that region."""
        query = self.query
        if query is None:
            return
        base = dataclasses.replace(query, crop=None)
        source = self._picture_source(base)
        if source is None:
            return
        picture, full = load_picture(source, REGION_PICTURE)
        if picture.isNull():
            self.message("This picture cannot be shown to pick a region.", 6000)
            return
        dialog = RegionDialog(picture, full, query.label, self.dialog_parent)
        if dialog.exec() and dialog.region is not None:
            self.search_region(dialog.region)

    def search_region(self, region: tuple[int, int, int, int]) -> int | None:
        """Search again with a region (x, y, w, h in pixels of the upright query picture)."""
        if self.query is None:
            return None
        crop = tuple(int(v) for v in region)
        query = dataclasses.replace(self.query, crop=crop)
        return self.start(query, self._region_preview(query, crop) or self._preview)

    def _region_preview(self, query: Query, crop: tuple[int, ...]) -> QPixmap | None:
        """The header's preview of a region query shows the region, not the whole picture."""
        source = self._picture_source(dataclasses.replace(query, crop=None))
        if source is None:
            return None
        picture, full = load_picture(source, 480)
        if picture.isNull() or full.width() <= 0:
            return None
        sx, sy = picture.width() / full.width(), picture.height() / full.height()
        x, y, w, h = crop
        return picture.copy(round(x * sx), round(y * sy), max(1, round(w * sx)), max(1, round(h * sy)))

    def _picture_source(self, query: Query) -> str | bytes | None:
        if query.kind == "bytes":
            return bytes(query.value)
        if query.kind == "file":
            return str(query.value)
        row = self.service.photo(int(query.value))
        return row.path if row is not None else None

    # -- image links -----------------------------------------------------------------------------
    def find_similar_to_link(self, url: str) -> None:
        """Download a dropped or pasted image link (size and time limits), then search with it."""
        self._cancel_fetch()
        if not self.model.is_results and not self.header.in_query:
            self._library_scroll = self.grid.verticalScrollBar().value()
        self.token += 1_000_000  # answers of earlier queries are stale from now on
        token = self.token
        self.query = None
        self._label = url if len(url) <= 60 else url[:57] + "…"
        self.header.show_query(None, self._label, "Downloading…", can_pick_region=False)
        cancel = threading.Event()
        self._fetch_cancel = cancel

        def work() -> None:
            try:
                fetched = fetch_image(url, progress=lambda done, total: self._relay.progressed.emit(token, done, total),
                                      cancel=cancel)
            except FetchError as exc:
                self._relay.finished.emit(token, None, str(exc))
            except Exception as exc:  # an unexpected failure is the download's, not the app's
                self._relay.finished.emit(token, None, f"the download failed: {type(exc).__name__}: {exc}")
            else:
                self._relay.finished.emit(token, fetched.data, "")

        self._fetch_thread = threading.Thread(target=work, name="photosim-fetch", daemon=True)
        self._fetch_thread.start()

    def _cancel_fetch(self) -> None:
        if self._fetch_cancel is not None:
            self._fetch_cancel.set()
            self._fetch_cancel = None

    @Slot(int, int, object)
    def _fetch_progressed(self, token: int, done: int, total: object) -> None:
        if token != self.token:
            return
        of = f" of {int(total) / 1e6:.1f} MB" if isinstance(total, int) and total > 0 else ""
        self.header.set_state(f"Downloading… {done / 1e6:.1f} MB{of}")

    @Slot(int, object, str)
    def _fetch_finished(self, token: int, data: object, error: str) -> None:
        if token != self.token or not self.header.in_query:
            return
        self._fetch_cancel = None
        if data is None:
            self.header.set_state(f"Cannot search: {error}")
            self.message(error, 10000)
            self.query_failed.emit(error)
            return
        self.find_similar_to_bytes(bytes(data), self._label)

    # -- the library view ------------------------------------------------------------------------
    def library_ids(self) -> np.ndarray:
        """What the library view shows: every photo, or the chosen folder's, newest first."""
        if self.snapshot is None:
            return np.zeros(0, dtype=np.int64)
        return self.snapshot.ids if self.folder is None else self.snapshot.ids_in(self.folder)

    def _folder_note(self) -> str:
        """What the header adds for the chosen folder: why it is offline (its photos cannot be shown),
        else nothing (the header says where the folder is)."""
        if self.folder is None or self.snapshot is None:
            return ""
        for state in self.snapshot.folders:
            # the watched folder itself or a folder inside it, at any depth (watched folders never nest)
            if is_within(self.folder, state.path) and not state.online:
                return f"Offline: {state.note or 'the folder cannot be reached'}."
        return ""

    @Slot(object)
    def show_folder(self, folder: str | None) -> None:
        """Show one folder's photos (None: all of them); from results, go back to the library, or, with
        "Only in <folder>" ticked, ask the same inside the folder now picked."""
        if folder == self.folder and not self.showing_results:
            return
        rescope = (self.showing_results and self._scoped and self.query is not None and folder is not None
                   and folder != self.folder)
        self.folder = folder
        if rescope:
            assert self.query is not None and folder is not None
            self.start(dataclasses.replace(self.query, folder=folder), self._preview)
            return
        if self.showing_results:
            self.back_to_library()
            return
        ids = self.library_ids()
        self.model.show_library(ids)
        self.header.show_library(len(ids), self._folder_note(), folder=self.folder)
        self.grid.verticalScrollBar().setValue(0)
        self.library_refreshed.emit(len(ids))

    @Slot()
    def back_to_library(self) -> None:
        """Esc and the header's button: from results to the library view; from one folder to all."""
        if not self.showing_results:
            if self.folder is not None:
                self.all_folders_requested.emit()
            return
        self._cancel_fetch()
        self.token += 1  # a query still running is now stale
        self.query = None
        self.answer = None
        ids = self.library_ids()
        self.model.show_library(ids)
        self.header.show_library(len(ids), self._folder_note(), folder=self.folder)
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
        ids = self.library_ids()
        if not np.array_equal(ids, self.model.ids):
            current = self.grid.currentIndex().data(PhotoModel.PhotoIdRole)
            current_row = self.grid.currentIndex().row()
            scroll = self.grid.verticalScrollBar().value()
            self.model.show_library(ids)
            if current is not None:
                row = self.model.row_of(current)
                if row < 0 and len(ids):  # it left (the trash): the photo now in its place
                    row = min(current_row, len(ids) - 1)
                if row >= 0:
                    self.grid.setCurrentIndex(self.model.index(row))
            self.grid.verticalScrollBar().setValue(scroll)
        elif previous is not None and previous.counts != snapshot.counts:
            self.model.forget_rows()
        self.header.show_library(len(ids), self._folder_note(), folder=self.folder)
        self.library_refreshed.emit(len(ids))


def _folder_name(folder: str) -> str:
    """A folder as the header names it: its last part ("Trip"), shown, never raw bytes."""
    return os.path.basename(display_path(folder).rstrip("/\\")) or display_path(folder)


def found_by_text(variant: str) -> str:
    """How the header names the form of the query that found its copies: "found turned 90°", "found
    by its top left quarter" (stickers over the rest), "found by its middle region" (a screenshot)."""
    if variant.startswith("turned "):
        return f"found {variant}°"
    return f"found by its {variant}"


def chip_kinds(answer: Any, rows: list[Any]) -> list[Any]:
    """The rows as the grid labels them. A list of look-alikes holds two scales: its *near copies*
    (``answer.near`` rows after the copies, scored by the copy vector: close in layout and colour) and
    its look-alikes (scored by the look-alike vector: the same kind of thing). Their chips say which
    ("close 0.36", "alike 0.55"), so a lower number before a higher one does not read as a mistake."""
    if not getattr(answer, "look_alikes", False):
        return rows
    same, near = int(getattr(answer, "same", 0)), int(getattr(answer, "near", 0))
    out = []
    for i, row in enumerate(rows):
        if i < same or getattr(row, "match", None) == "same":
            out.append(row)
        else:
            out.append(dataclasses.replace(row, match="near" if i < same + near else "alike"))
    return out
