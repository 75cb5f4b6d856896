"""The photo info panel: what photosim knows about the selected photo (Ctrl+I shows or hides it).

Its labels (the words it can be found by), dimensions, date taken, camera, file size and folder. Read
on the service's query lane, so scrolling through the grid never waits for the catalog.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QVBoxLayout, QWidget

from ..core.paths import display_path
from ..core.progress import format_size
from ..core.service import LibraryService
from .grid import PhotoGrid, PhotoModel


def read_info(photo_id: int) -> Any:
    """A function for the query lane: the photo's info with the lane's own connection."""

    def call(lane: Any) -> Any:
        from ..core.tags import photo_info

        return photo_info(lane.service.library, photo_id, lane.labels.taxonomy, catalog=lane.catalog)

    return call


class InfoPanel(QFrame):
    """Shows one photo's facts. No signals of its own."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("infoPanel")
        self.setMinimumWidth(240)
        self.setMaximumWidth(360)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        title = QLabel("Photo info")
        title.setObjectName("panelTitle")
        layout.addWidget(title)
        self.name = QLabel("No photo selected")
        self.name.setWordWrap(True)
        self.name.setObjectName("infoName")
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.name)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.fields: dict[str, QLabel] = {}
        for key, label in (("tags", "Shows"), ("size", "Size"), ("taken", "Taken"), ("camera", "Camera"),
                           ("file", "File"), ("folder", "Folder")):
            value = QLabel("")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{label}:", value)
            self.fields[key] = value
        layout.addLayout(form)
        layout.addStretch(1)
        self.info: Any = None

    def set_info(self, info: Any) -> None:
        self.info = info
        if info is None:
            self.name.setText("No photo selected")
            for value in self.fields.values():
                value.setText("")
            return
        shown = display_path(info.path)
        self.name.setText(os.path.basename(shown))
        if info.tags:
            self.fields["tags"].setText(", ".join(
                f"{t.name} ({t.probability:.0%})" + (f" — {', '.join(t.broader[:3])}" if t.broader else "")
                for t in info.tags[:3]))
        else:
            self.fields["tags"].setText("not labelled yet" if not info.analysed else "nothing recognised")
        size = f"{info.width} × {info.height} px" if info.width and info.height else "unknown"
        if info.width and info.height:
            size += f" ({info.width * info.height / 1e6:.1f} MP)"
        self.fields["size"].setText(size)
        self.fields["taken"].setText(time.strftime("%Y-%m-%d %H:%M", time.localtime(info.taken_at))
                                     if info.taken_at else "unknown (file modified "
                                     + time.strftime("%Y-%m-%d", time.localtime(info.modified_at)) + ")")
        self.fields["camera"].setText(info.camera or "unknown")
        self.fields["file"].setText(format_size(info.file_size))
        self.fields["folder"].setText(display_path(info.folder))


class _Relay(QObject):
    """Signals:
    loaded(int, object): a photo id and its info (None if it has gone).
    """

    loaded = Signal(int, object)


class InfoPresenter(QObject):
    """Follows the grid's current photo and fills the panel while it is visible.

    Signals:
        shown(object): the panel now shows this info (None: no photo).
    """

    shown = Signal(object)

    def __init__(self, service: LibraryService, grid: PhotoGrid, panel: InfoPanel,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.grid = grid
        self.panel = panel
        self.current: int | None = None
        self._relay = _Relay(self)
        self._relay.loaded.connect(self._loaded)
        grid.selectionModel().currentChanged.connect(self._current_changed)
        grid.model().modelReset.connect(lambda: self._current_changed(grid.currentIndex(), QModelIndex()))

    def set_visible(self, visible: bool) -> None:
        self.panel.setVisible(visible)
        if visible:
            self._current_changed(self.grid.currentIndex(), QModelIndex())

    @Slot(QModelIndex, QModelIndex)
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        photo_id = current.data(PhotoModel.PhotoIdRole) if current.isValid() else None
        self.current = int(photo_id) if photo_id is not None else None
        if not self.panel.isVisible():
            return
        if self.current is None:
            self.panel.set_info(None)
            self.shown.emit(None)
            return
        wanted = self.current
        future = self.service.submit_call(read_info(wanted))
        future.add_done_callback(lambda f: self._relay.loaded.emit(wanted, _result(f)))

    @Slot(int, object)
    def _loaded(self, photo_id: int, info: object) -> None:
        if photo_id != self.current:
            return  # the selection moved on
        self.panel.set_info(info)
        self.shown.emit(info)


def _result(future: Future[Any]) -> Any:
    try:
        return future.result()
    except Exception:
        return None
