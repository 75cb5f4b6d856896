"""The first-run view: offer the user's Pictures folder, or let them choose folders."""

from __future__ import annotations

import os

import platformdirs
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


def pictures_folder() -> str | None:
    """The platform's Pictures folder, if it exists."""
    try:
        path = platformdirs.user_pictures_dir()
    except Exception:  # pragma: no cover - platformdirs quirks on exotic systems
        return None
    return path if path and os.path.isdir(path) else None


class WelcomeView(QWidget):
    """Shown while the library has no folders.

    Signals:
        pictures_chosen(str): the user accepted the Pictures folder.
        choose_requested(): the user wants to pick folders with the folder dialog.
    """

    pictures_chosen = Signal(str)
    choose_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        title = QLabel("Find similar photos in your own library")
        title.setObjectName("welcomeTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setWordWrap(True)
        layout.addWidget(title)
        self.title = title
        text = QLabel(
            "photosim looks at the photos in the folders you choose, on this computer only, and then finds "
            "the ones that look alike: drop a photo on the window, paste one, or right-click any thumbnail."
        )
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setWordWrap(True)  # wraps where the window is narrow instead of setting its least width
        self.text = text
        text.setObjectName("hint")
        layout.addWidget(text)
        layout.addSpacing(18)
        self.pictures = pictures_folder()
        self.pictures_button = QPushButton(
            f"Watch my Pictures folder ({self.pictures})" if self.pictures else "No Pictures folder found"
        )
        self.pictures_button.setObjectName("primary")
        self.pictures_button.setEnabled(self.pictures is not None)
        self.pictures_button.clicked.connect(lambda: self.pictures_chosen.emit(self.pictures or ""))
        self.choose_button = QPushButton("Choose folders…")
        self.choose_button.clicked.connect(self.choose_requested)
        if self.pictures is None:
            # No Pictures folder: a greyed-out primary button would only confuse; choosing is the way in.
            self.pictures_button.hide()
            self.choose_button.setObjectName("primary")
        for button in (self.pictures_button, self.choose_button):
            button.setMinimumWidth(max(360, button.sizeHint().width()))  # never narrower than its text
            button.setMinimumHeight(36)
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        hint = QLabel("You can also drop folders onto this window.")
        hint.setObjectName("hint")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(hint)
        layout.addStretch(3)
