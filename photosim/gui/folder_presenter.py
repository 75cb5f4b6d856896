"""The folders presenter: the watched folders panel, the first-run welcome view, adding and removing folders."""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ..core.paths import display_path
from ..core.service import LibraryService
from ..core.snapshot import LibrarySnapshot
from .bridge import ServiceBridge
from .folders import FoldersPanel
from .welcome import WelcomeView


class FoldersPresenter(QObject):
    """Keeps the folders panel true to the service's snapshots and turns the user's choices into requests.

    Signals:
        has_folders_changed(bool): the library went from no folders to some, or back (welcome view or grid).
        message(str, int): a status-bar message and how long to show it (ms).
    """

    has_folders_changed = Signal(bool)
    message = Signal(str, int)

    def __init__(self, service: LibraryService, bridge: ServiceBridge, panel: FoldersPanel, welcome: WelcomeView,
                 dialog_parent: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.panel = panel
        self.dialog_parent = dialog_parent
        self.has_folders: bool | None = None
        self._snapshot: LibrarySnapshot | None = None
        bridge.snapshot_published.connect(self.apply_snapshot)
        bridge.folders_changed.connect(self._folders_changed)
        panel.add_requested.connect(self.choose_folders)
        panel.folders_dropped.connect(self.add_folders)
        panel.remove_requested.connect(self.remove_folder)
        welcome.pictures_chosen.connect(lambda path: self.add_folders([path]))
        welcome.choose_requested.connect(self.choose_folders)

    @Slot(object)
    def apply_snapshot(self, snapshot: LibrarySnapshot) -> None:
        """The panel follows the library; a folder on screen that was renamed or moved (its photos now
        in another folder, at the same places below it) stays on screen under its new name."""
        chosen, before = self.panel.chosen, self._snapshot
        follow = None
        if chosen is not None and before is not None and not len(snapshot.ids_in(chosen)):
            follow = snapshot.renamed(chosen, before)
        self._snapshot = snapshot
        self.panel.set_folders(snapshot.folders, follow=follow)
        self._set_has_folders(bool(snapshot.folders))

    @Slot(object)
    def _folders_changed(self, folders: tuple[str, ...]) -> None:
        self._set_has_folders(bool(folders))

    def _set_has_folders(self, value: bool) -> None:
        if value != self.has_folders:
            self.has_folders = value
            self.has_folders_changed.emit(value)

    @Slot()
    def choose_folders(self) -> None:
        # from the home folder, not the folder photosim was started from (`make run`: the source tree)
        path = QFileDialog.getExistingDirectory(self.dialog_parent, "Add a folder to the library",
                                                os.path.expanduser("~"))
        if path:
            self.add_folders([path])

    @Slot(object)
    def add_folders(self, paths: list[str]) -> None:
        for path in paths:
            if path and os.path.isdir(path):
                self.service.add_folder(path)
                self.message.emit(f"Adding {display_path(path)}…", 5000)

    @Slot(object)
    def remove_folder(self, path: str, confirm: bool = True) -> None:
        if confirm:
            answer = QMessageBox.question(
                self.dialog_parent, "Remove folder",
                f"Stop watching {display_path(path)}?\n\nIts photos leave the library "
                "(the files themselves are not touched).",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.service.remove_folder(path)
