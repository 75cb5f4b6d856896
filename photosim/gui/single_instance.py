"""One app per library: a second launch brings the first window forward instead of fighting it.

The library's writer lock (a file lock) decides who owns a library; a local socket named after the data
folder lets the second process ask the first to show itself. If the lock is held by something that is
not listening (the command-line indexer), the second launch says so and exits.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

ACTIVATE = b"activate\n"


def server_name(data_dir: str | os.PathLike[str]) -> str:
    digest = hashlib.blake2b(str(Path(data_dir).absolute()).encode(), digest_size=8).hexdigest()
    return f"photosim-{digest}"


class InstanceServer(QObject):
    """Listens for later launches on the same library.

    Signals:
        activated(): another launch asked this instance to bring its window forward.
    """

    activated = Signal()

    def __init__(self, data_dir: str | os.PathLike[str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(data_dir)
        self.server = QLocalServer(self)
        self.server.newConnection.connect(self._on_connection)

    def listen(self) -> bool:
        """Start listening. Call only while holding the library's writer lock: a socket left by a crashed
        instance is then known to be stale and is removed."""
        QLocalServer.removeServer(self.name)
        return self.server.listen(self.name)

    def close(self) -> None:
        self.server.close()

    @Slot()
    def _on_connection(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()  # a child of the server, deleted with it
            if socket.bytesAvailable() or socket.waitForReadyRead(1000):
                data = bytes(socket.readAll().data())
                if ACTIVATE.strip() in data:
                    self.activated.emit()
            socket.close()


def ask_running_instance(data_dir: str | os.PathLike[str], timeout_ms: int = 1500) -> bool:
    """Ask the app that owns this library to come forward; False if none is listening."""
    socket = QLocalSocket()
    socket.connectToServer(server_name(data_dir))
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(ACTIVATE)
    ok = socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return ok
