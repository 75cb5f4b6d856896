"""Show a photo in the system's file manager, and say so when none can.

On Linux the desktop's file manager is asked over D-Bus (``org.freedesktop.FileManager1``, which
Nautilus, Dolphin, Nemo, Thunar and Caja answer) to select the file. Where no file manager answers
(a minimal desktop, a session without D-Bus), the folder is opened with whatever opens folders; and
where nothing does, the status bar says where the photo is: "Show in folder" used to do nothing at
all there (found trying the app under Xvfb).
"""

from __future__ import annotations

import os
import sys
import urllib.parse

from PySide6.QtCore import QObject, QProcess, Signal
from PySide6.QtGui import QDesktopServices

from ..core.paths import display_path
from . import drops


class Revealer(QObject):
    """``reveal(path)`` from the GUI thread; ``failed(message)`` when nothing could show it."""

    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: set[QProcess] = set()

    def reveal(self, path: str) -> None:
        if sys.platform == "darwin":
            QProcess.startDetached("open", ["-R", path])
            return
        if os.name == "nt":
            QProcess.startDetached("explorer", [f"/select,{os.path.normpath(path)}"])
            return
        uri = "file://" + urllib.parse.quote_from_bytes(os.fsencode(path))  # plain ASCII, exact bytes
        process = QProcess(self)
        process.setProgram("dbus-send")
        process.setArguments(["--session", "--print-reply", "--reply-timeout=5000",
                              "--dest=org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                              "org.freedesktop.FileManager1.ShowItems", f"array:string:{uri}", "string:"])
        process.setStandardOutputFile(QProcess.nullDevice())
        process.setStandardErrorFile(QProcess.nullDevice())
        process.finished.connect(
            lambda code, status: self._done(process, path, code == 0 and status == QProcess.ExitStatus.NormalExit))
        process.errorOccurred.connect(
            lambda error: self._done(process, path, False) if error == QProcess.ProcessError.FailedToStart else None)
        self._running.add(process)
        process.start()  # asynchronous: the window never waits on the file manager

    def _done(self, process: QProcess, path: str, shown: bool) -> None:
        if process not in self._running:
            return  # already handled (a failed start reports twice on some platforms)
        self._running.discard(process)
        process.deleteLater()
        if shown:
            return
        folder = os.path.dirname(path)
        if not QDesktopServices.openUrl(drops.file_url(folder)):
            self.failed.emit(f"No file manager could show {display_path(os.path.basename(path))}: "
                             f"it is in {display_path(folder)}")
