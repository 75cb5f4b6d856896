"""Starting the desktop app: logging, the error dialog, one instance per library, the main window."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from ..core.catalog import CatalogError
from ..core.library import Library, LibraryBusyError
from ..core.paths import resolve_data_dir, resolve_log_dir
from ..core.settings import load_settings
from .errors import ErrorReporter, setup_logging
from .single_instance import InstanceServer, ask_running_instance
from .theme import apply_theme

log = logging.getLogger(__name__)


def app_icon_path() -> Path:
    """The window icon: ``resources/icons`` beside the package (the frozen app keeps the same layout)."""
    return Path(__file__).resolve().parent.parent.parent / "resources" / "icons" / "photosim-256.png"


def run_app(data_dir: str | os.PathLike[str] | None = None, verbose: bool = False, argv: list[str] | None = None) -> int:
    """Open the app on a library and run it until the window closes; returns the exit code."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("photosim")
    app.setApplicationDisplayName("photosim")
    app.setDesktopFileName("photosim")
    icon = app_icon_path()
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    apply_theme(app)
    log_path = setup_logging(resolve_log_dir(), verbose)
    data = resolve_data_dir(data_dir)
    settings = load_settings(data)
    try:
        library = Library(data, device=settings.torch_device)
    except LibraryBusyError as exc:
        if ask_running_instance(data):
            print("photosim is already open on this library; brought its window forward.", file=sys.stderr)
            return 0
        QMessageBox.warning(None, "photosim", f"photosim cannot open this library:\n\n{exc}")
        return 1
    except (CatalogError, OSError) as exc:
        QMessageBox.critical(None, "photosim", f"photosim cannot open the library in {data}:\n\n{exc}")
        return 1
    from .main_window import MainWindow

    reporter = ErrorReporter(log_path)
    reporter.install()
    server = InstanceServer(data)
    if not server.listen():
        log.warning("single-instance server did not start: %s", server.server.errorString())
    window = MainWindow(library, settings)
    server.activated.connect(window.bring_forward)
    window.show()
    window.start()
    _quit_on_signals(app)
    log.info("photosim started on %s", data)
    try:
        return app.exec()
    finally:
        window.shutdown()
        server.close()
        reporter.uninstall()
        library.close()
        log.info("photosim closed")


def _quit_on_signals(app: QApplication) -> None:
    """Ctrl+C in a terminal or SIGTERM at logout closes the window the normal way (committed work is saved).

    Python runs signal handlers only between bytecodes, so a slow timer wakes the interpreter while the
    Qt event loop waits.
    """

    def close(*_args: object) -> None:
        log.info("signal received: closing")
        app.closeAllWindows()
        app.quit()

    if hasattr(signal, "SIGUSR1"):  # `kill -USR1 <pid>` prints every thread's stack: for diagnosing hangs
        import faulthandler

        faulthandler.register(signal.SIGUSR1, all_threads=True)
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, close)
        except (ValueError, OSError):  # not the main thread, or not supported here
            return
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(250)
