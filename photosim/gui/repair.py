"""The repair dialog: the app meets a damaged catalog and offers what ``photosim check --repair`` does.

A damaged catalog used to end the app with a one-line error and no way back. Now the user reads what
is wrong, and one button restores the newest good backup (or salvages what can be read), rebuilds the
vector index from it, and lets the app start; the scan that every start-up runs then re-indexes what
changed since the backup.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QProgressBar, QVBoxLayout, QWidget

from ..core.health import repair_catalog_and_index
from ..core.paths import display_path


class _Relay(QObject):
    """Carries the repair thread's lines and its end to the GUI thread.

    Signals:
        said(str): one line of what the repair did.
        ended(bool, str): whether it worked, and the error otherwise.
    """

    said = Signal(str)
    ended = Signal(bool, str)


class RepairDialog(QDialog):
    """Explains the damage and runs the repair off the GUI thread. ``exec()`` is accepted once repaired."""

    def __init__(self, data_dir: Path, problem: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("photosim: the library needs a repair")
        self.setMinimumWidth(620)
        self.data_dir = data_dir
        self.succeeded = False
        layout = QVBoxLayout(self)
        text = QLabel(
            f"<b>The library's catalog is damaged</b><p>{problem}</p>"
            "<p>photosim can restore it from its newest good backup (kept in the library folder), "
            "rebuild the search index from it, and then check your folders again so that photos added "
            "since the backup are indexed again. The damaged file is kept beside it.</p>"
            f"<p>Library: {display_path(str(data_dir))}</p>"
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.hide()
        layout.addWidget(self.busy)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumHeight(160)
        self.log.hide()
        layout.addWidget(self.log)
        self.buttons = QDialogButtonBox()
        self.repair_button = self.buttons.addButton("Repair", QDialogButtonBox.ButtonRole.AcceptRole)
        self.quit_button = self.buttons.addButton("Quit", QDialogButtonBox.ButtonRole.RejectRole)
        self.repair_button.setDefault(True)
        self.repair_button.clicked.connect(self.start_repair)
        self.quit_button.clicked.connect(self.reject)
        layout.addWidget(self.buttons)
        self._relay = _Relay(self)
        self._relay.said.connect(self.log.appendPlainText)
        self._relay.ended.connect(self._ended)
        self._thread: threading.Thread | None = None

    @Slot()
    def start_repair(self) -> None:
        if self.succeeded:
            self.accept()
            return
        self.repair_button.setEnabled(False)
        self.quit_button.setEnabled(False)
        self.busy.show()
        self.log.show()
        self._thread = threading.Thread(target=self._run, name="photosim-repair", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            repair_catalog_and_index(self.data_dir, say=self._relay.said.emit)
        except Exception as exc:  # shown to the user; the app does not start on a broken catalog
            self._relay.ended.emit(False, f"{type(exc).__name__}: {exc}")
        else:
            self._relay.ended.emit(True, "")

    @Slot(bool, str)
    def _ended(self, ok: bool, error: str) -> None:
        self.busy.hide()
        self.quit_button.setEnabled(True)
        if ok:
            self.succeeded = True
            self.log.appendPlainText("Repaired. photosim now checks your folders for anything newer.")
            self.repair_button.setText("Open photosim")
            self.repair_button.setEnabled(True)
        else:
            self.log.appendPlainText(f"The repair failed: {error}")
            self.repair_button.setText("Try again")
            self.repair_button.setEnabled(True)

    def wait(self, timeout: float = 60.0) -> None:
        """Wait for a running repair (tests)."""
        if self._thread is not None:
            self._thread.join(timeout)
