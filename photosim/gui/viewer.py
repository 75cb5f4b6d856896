"""Space in the grid: the current photo large, or up to four selected photos side by side.

A thumbnail cannot say whether a copy is the sharper one, or what a dark photo shows; opening each in
the system viewer loses the place in the results. The viewer is the Duplicates view's compare view
(one shared zoom and pan, the facts under each picture) over whatever the grid has selected: one
photo with ← → stepping through the grid (and Delete to cull it), or two to four photos compared.
It is a page of the window's stack; Esc or Space returns to the grid where it was.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..core.dupstate import PhotoInfo
from .compare_view import MAX_PANES, CompareView
from .labels import ElidedLabel

SINGLE_HINT = ("← → previous / next · +/− zoom, 0 fit, drag to pan · Enter opens it · Delete to the trash · "
               "Esc or Space back")
COMPARE_HINT = "+/− zoom all together, 0 fit, drag to pan · Esc or Space back"


class PhotoViewer(QWidget):
    """The viewer page.

    Signals:
        back_requested(): Esc, Space or the Back button.
        step_requested(int): ← (-1) or → (+1) while one photo is shown.
        trash_requested(): Delete while one photo is shown.
        open_requested(str): Enter while one photo is shown: open this path in the system's viewer.
    """

    back_requested = Signal()
    step_requested = Signal(int)
    trash_requested = Signal()
    open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("photoViewer")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        bar = QHBoxLayout()
        self.back_button = QPushButton("← Back")
        self.back_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.back_button.clicked.connect(self.back_requested)
        self.title = ElidedLabel()
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        bar.addWidget(self.back_button)
        bar.addWidget(self.title, 1)
        layout.addLayout(bar)
        self.hint = QLabel()
        self.hint.setObjectName("viewerHint")
        layout.addWidget(self.hint)
        self.compare = CompareView()
        layout.addWidget(self.compare, 1)
        self.photos: list[PhotoInfo] = []

    @property
    def single(self) -> bool:
        return len(self.photos) == 1

    def show_photos(self, photos: list[PhotoInfo], position: str = "") -> None:
        """Show one photo, or compare up to four; ``position`` ("3 of 58") names the place of a single
        photo in the grid."""
        self.photos = photos[:MAX_PANES]
        if self.single:
            self.title.setText(f"{self.photos[0].name}" + (f"   ·   {position}" if position else ""))
            self.hint.setText(SINGLE_HINT)
        else:
            self.title.setText(f"Comparing {len(self.photos)} photos")
            self.hint.setText(COMPARE_HINT)
        self.compare.set_photos(self.photos, keeper_id=-1, current_id=None, measure=True)
        for pane in self.compare.panes:  # one photo: the title above already names it
            pane.title.setVisible(not self.single)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Escape, Qt.Key.Key_Space):
            self.back_requested.emit()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and self.single:
            self.step_requested.emit(-1 if key == Qt.Key.Key_Left else 1)
        elif key == Qt.Key.Key_Delete and self.single:
            self.trash_requested.emit()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.single:
            self.open_requested.emit(self.photos[0].path)
        elif not self.compare.handle_key(event):
            super().keyPressEvent(event)
            return
        event.accept()

    def shutdown(self) -> None:
        self.compare.shutdown()
