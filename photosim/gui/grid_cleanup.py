"""Move to trash and Undo for the photos selected in the grid (the library, a folder, or results).

"Find similar" shows the copies of a photo with a chip that says so; the next thing a person wants
is to get rid of the ones they do not need, there, without opening the Duplicates page. The actions
are the Duplicates page's (:class:`~photosim.core.cleanup.Cleanup` through the service): the files go
to the system trash, never deleted; a photo inside a reference folder is refused with the reason;
each action is journalled, so Ctrl+Z puts the files and the photos back, whichever page moved them.
The views follow the service's ``CleanedUp`` event (the results presenter drops the photos at once
and puts them back on undo; the library view follows the next snapshot), so this presenter only
asks, confirms large requests, and says what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from ..core.cleanup import NOT_DUPLICATES, TRASH, ActionResult, JournalEntry
from ..core.service import LibraryService
from .duplicates_presenter import action_outcome
from .grid import PhotoGrid, PhotoModel

CONFIRM_FROM = 10
"""Asking before this many photos or more go to the trash at once (a Ctrl+A then Delete by mistake
would otherwise move a whole library; the trash and Ctrl+Z would bring it back, slowly)."""

_VERBS = {TRASH: "move to trash", "move": "move", NOT_DUPLICATES: "not duplicates", "keep_all": "keep all"}


def trash_text(count: int) -> str:
    """The menus' name for the action on ``count`` selected photos."""
    return f"Move {count:,} photos to trash" if count > 1 else "Move to trash"


def undo_text(journal: list[JournalEntry]) -> str | None:
    """What Edit > Undo would undo ("Undo move to trash (3 photos)"), from the journal newest first;
    None when nothing is left to undo."""
    pending = [e for e in journal if not e.undone]
    if not pending:
        return None
    batch = pending[0].batch
    entries = [e for e in pending if e.batch == batch]
    verb = _VERBS.get(entries[0].action, entries[0].action.replace("_", " "))
    files = [e for e in entries if e.path]
    if not files:
        return f"Undo {verb}"
    return f"Undo {verb} ({len(files)} photo{'' if len(files) == 1 else 's'})"


class GridCleanup(QObject):
    """The grid's clean-up actions.

    Signals:
        message(str, int): a line for the status bar and how long to show it (ms).
        finished(object): an action's (or an undo's) :class:`ActionResult` came back.
    """

    message = Signal(str, int)
    finished = Signal(object)
    _future_done = Signal(object)

    def __init__(self, service: LibraryService, grid: PhotoGrid, model: PhotoModel,
                 confirm: Callable[[int], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.grid = grid
        self.model = model
        self.confirm = confirm
        """Asked with the number of photos before :data:`CONFIRM_FROM` or more go to the trash."""
        self._closed = False
        self._future_done.connect(self._done)

    def selected_rows(self) -> list[int]:
        """The grid rows selected, in order (the current one when nothing is selected)."""
        # by ranges, not selectedIndexes(): Ctrl+A on 100,000 photos is one range, not 100,000 objects
        rows: set[int] = set()
        for span in self.grid.selectionModel().selection():
            rows.update(range(span.top(), span.bottom() + 1))
        if not rows and self.grid.currentIndex().isValid():
            rows = {self.grid.currentIndex().row()}
        return [row for row in sorted(rows) if 0 <= row < len(self.model.ids)]

    def selected_ids(self) -> list[int]:
        """The selected photos in grid order (the current one when nothing is selected)."""
        ids = self.model.ids
        return [int(ids[row]) for row in self.selected_rows()]

    @Slot()
    def trash_selected(self) -> bool:
        """Delete: the selected photos to the trash; False when nothing was asked for."""
        ids = self.selected_ids()
        if not ids:
            self.message.emit("Select the photos to move to the trash first.", 5000)
            return False
        if len(ids) >= CONFIRM_FROM and not self.confirm(len(ids)):
            return False
        if len(ids) > 1:  # many files take a while (each one moved and journalled): say it started
            self.message.emit(f"Moving {len(ids):,} photos to the trash…", 60_000)
        self._watch(self.service.trash_photos(ids))
        return True

    @Slot()
    def undo(self) -> None:
        """Ctrl+Z: reverse the latest clean-up, from this grid or the Duplicates page."""
        self._watch(self.service.undo_last())

    def undo_text(self) -> str | None:
        try:
            return undo_text(self.service.journal(50))
        except Exception:  # a closing or damaged library: the menu just says "Undo"
            return "Undo"

    def shutdown(self) -> None:
        self._closed = True

    # -- results back on the GUI thread ----------------------------------------------------------
    def _watch(self, future: Future[ActionResult]) -> None:
        future.add_done_callback(self._future_done.emit)

    @Slot(object)
    def _done(self, future: Future[Any]) -> None:
        if self._closed:
            return
        result, text, ms = action_outcome(future)
        if result is not None and result.action == TRASH and result.done:
            text += " Ctrl+Z puts them back." if len(result.done) > 1 else " Ctrl+Z puts it back."
        self.message.emit(text, ms)
        if result is not None:
            self.finished.emit(result)
