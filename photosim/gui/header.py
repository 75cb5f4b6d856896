"""The strip above the grid: what the grid shows (the library, or the results for a query image)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

PREVIEW = 88


class QueryHeader(QFrame):
    """Shows the library summary, or the query image with the state of its search and a way back.

    Signals:
        back_requested(): the user wants the library again (the button; Escape is a window shortcut).
    """

    back_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queryHeader")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(14)
        self.preview = QLabel()
        self.preview.setObjectName("queryPreview")
        self.preview.setFixedSize(PREVIEW, PREVIEW)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.preview)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        self.title = QLabel()
        self.title.setObjectName("headerTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle = QLabel()
        self.subtitle.setObjectName("headerSubtitle")
        self.subtitle.setWordWrap(True)
        texts.addStretch(1)
        texts.addWidget(self.title)
        texts.addWidget(self.subtitle)
        texts.addStretch(1)
        layout.addLayout(texts, 1)
        self.back_button = QPushButton("← Back to library")
        self.back_button.setToolTip("Show the whole library again (Esc)")
        self.back_button.clicked.connect(self.back_requested)
        layout.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.in_query = False
        self.show_library(0)

    def show_library(self, count: int, note: str = "") -> None:
        self.in_query = False
        self.preview.hide()
        self.back_button.hide()
        self.title.setText("All photos")
        hint = "Drop a photo here, paste one (Ctrl+V) or right-click a thumbnail to find similar photos."
        summary = f"{count:,} photo{'s' if count != 1 else ''}, newest first" if count else "No photos indexed yet"
        self.subtitle.setText(f"{summary}. {note or hint}")

    def show_query(self, preview: QPixmap | None, label: str, state: str) -> None:
        self.in_query = True
        if preview is not None and not preview.isNull():
            self.preview.setPixmap(preview.scaled(PREVIEW, PREVIEW, Qt.AspectRatioMode.KeepAspectRatio,
                                                  Qt.TransformationMode.SmoothTransformation))
        else:
            self.preview.setPixmap(QPixmap())
            self.preview.setText("?")
        self.preview.show()
        self.back_button.show()
        self.title.setText(f"Similar to {label}")
        self.subtitle.setText(state)

    def set_state(self, state: str) -> None:
        self.subtitle.setText(state)
