"""Unexpected errors: logged to a rotating file and shown in a dialog with a copyable report.

Takes over ``sys.excepthook`` (exceptions in slots and event handlers) and ``threading.excepthook``
(worker threads), so a bug surfaces as a dialog the user can copy into a bug report while the app keeps
running, instead of a silent traceback on a console nobody sees or a dead window.
"""

from __future__ import annotations

import logging
import logging.handlers
import platform
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from .. import __version__

log = logging.getLogger("photosim")

LOG_FILE = "photosim.log"
_handler: logging.Handler | None = None


def setup_logging(log_dir: Path, verbose: bool = False) -> Path:
    """Log to ``log_dir/photosim.log`` (1 MB, five old files kept), and to stderr with ``verbose``."""
    global _handler
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILE
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
        _handler.close()
    _handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    root.addHandler(_handler)
    root.setLevel(logging.INFO)
    if verbose and not any(isinstance(h, logging.StreamHandler) and h.stream is sys.stderr for h in root.handlers):
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(stream)
    return path


def format_report(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None, where: str = "") -> str:
    """The text a user pastes into a bug report."""
    from PySide6 import __version__ as qt_version

    lines = [
        f"photosim {__version__} on {platform.platform()}, Python {platform.python_version()}, PySide6 {qt_version}",
    ]
    if where:
        lines.append(f"in {where}")
    lines.append("")
    lines.extend(traceback.format_exception(exc_type, exc, tb))
    return "\n".join(line.rstrip("\n") for line in lines)



def close_and_copy_buttons(copy_label: str, on_copy: Callable[[], object], on_close: Callable[[], object]) -> QDialogButtonBox:
    """How photosim's text dialogs end: Close, and a button that copies their text for a bug report."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    copy = QPushButton(copy_label)
    copy.clicked.connect(on_copy)
    buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
    buttons.rejected.connect(on_close)
    return buttons


class ErrorDialog(QDialog):
    """Shows one or more error reports; the user can copy them. No signals of its own."""

    def __init__(self, report: str, log_path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("photosim: something went wrong")
        self.resize(720, 420)
        layout = QVBoxLayout(self)
        where = f" It was also written to {log_path}." if log_path else ""
        intro = QLabel("An unexpected error happened. photosim keeps running, but please report this with the text "
                       f"below.{where}")
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(intro)
        self.text = QPlainTextEdit(report)
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.text, 1)
        layout.addWidget(close_and_copy_buttons("Copy report", self.copy_report, self.close))

    def add_report(self, report: str) -> None:
        self.text.appendPlainText("\n" + "-" * 60 + "\n" + report)

    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())


class ErrorReporter(QObject):
    """Routes unexpected exceptions from any thread to the log and to one error dialog.

    Signals:
        reported(str): a report was logged and shown (tests and the status bar listen).
    """

    reported = Signal(str)
    _arrived = Signal(str)

    def __init__(self, log_path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.log_path = log_path
        self.dialog: ErrorDialog | None = None
        self._old_hook = sys.excepthook
        self._old_thread_hook = threading.excepthook
        self._arrived.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        self._old_hook = sys.excepthook
        self._old_thread_hook = threading.excepthook
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook

    def uninstall(self) -> None:
        sys.excepthook = self._old_hook
        threading.excepthook = self._old_thread_hook

    def excepthook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self._old_hook(exc_type, exc, tb)
            return
        self.report(format_report(exc_type, exc, tb))

    def thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        exc = args.exc_value if args.exc_value is not None else args.exc_type()
        name = args.thread.name if args.thread is not None else "a thread"
        self.report(format_report(args.exc_type, exc, args.exc_traceback, where=f"thread {name}"))

    def report(self, text: str) -> None:
        """Log a report and show it (from any thread: the dialog opens on the GUI thread)."""
        log.error("unexpected error:\n%s", text)
        self._arrived.emit(text)

    @Slot(str)
    def _show(self, text: str) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.add_report(text)
        else:
            # A top-level dialog: parenting it to whichever window is active would tie its life to that window.
            self.dialog = ErrorDialog(text, self.log_path)
            self.dialog.show()
            self.dialog.raise_()
        self.reported.emit(text)
