"""One app per library: a second launch brings the first window forward instead of fighting it.

The library's writer lock (a file lock) decides who owns a library; a local socket named after the data
folder lets the second process ask the first to show itself. If the lock is held by something that is
not listening (the command-line indexer), the second launch says so and exits.

Messages are one line each: ``activate`` brings the window forward; ``find <base64 path>`` does that and
searches with the file (``photosim --find FILE`` from a file manager's "Find similar photos" action).
The path travels base64-encoded so any name, even one that is not valid UTF-8, arrives exactly.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

ACTIVATE = b"activate\n"
FIND = b"find "


def find_message(path: str) -> bytes:
    return FIND + base64.b64encode(os.fsencode(os.path.abspath(path))) + b"\n"


def server_name(data_dir: str | os.PathLike[str]) -> str:
    digest = hashlib.blake2b(str(Path(data_dir).absolute()).encode(), digest_size=8).hexdigest()
    return f"photosim-{digest}"


class InstanceServer(QObject):
    """Listens for later launches on the same library.

    Signals:
        activated(): another launch asked this instance to bring its window forward.
        find_requested(object): another launch asked to search with this file (a str path, exact).
    """

    activated = Signal()
    find_requested = Signal(object)

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
                for line in data.splitlines():
                    if line == ACTIVATE.strip():
                        self.activated.emit()
                    elif line.startswith(FIND):
                        try:
                            path = os.fsdecode(base64.b64decode(line[len(FIND):], validate=True))
                        except ValueError:
                            continue
                        self.find_requested.emit(path)
            socket.close()


def ask_running_instance(data_dir: str | os.PathLike[str], timeout_ms: int = 1500, *,
                         find: str | None = None) -> bool:
    """Ask the app that owns this library to come forward (and search with ``find``); False if none listens."""
    socket = QLocalSocket()
    socket.connectToServer(server_name(data_dir))
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(find_message(find) if find is not None else ACTIVATE)
    ok = socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return ok
