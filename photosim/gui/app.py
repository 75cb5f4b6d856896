"""Starting the desktop app: the composition root.

Builds, in order: logging and the error dialog, the library service (one writer per library; a
second launch brings the first window forward), the main window over it. A damaged catalog is met
with the repair dialog, at start-up or when the service finds the damage later (the app then closes
its library, repairs, and opens it again).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from ..core.heap import freeze_long_lived
from ..core.paths import display_path, resolve_data_dir, resolve_log_dir
from ..core.service import (
    CatalogDamagedError,
    CatalogError,
    LibraryBusyError,
    LibraryService,
    close_service,
    open_service,
)
from ..core.settings import load_settings
from .errors import ErrorReporter, setup_logging
from .single_instance import InstanceServer, ask_running_instance
from .theme import apply_theme

log = logging.getLogger(__name__)


def app_icon_path() -> Path:
    """The window icon: ``resources/icons`` beside the package (the frozen app keeps the same layout)."""
    return Path(__file__).resolve().parent.parent.parent / "resources" / "icons" / "photosim-256.png"


def make_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("photosim")
    app.setApplicationDisplayName("photosim")
    app.setDesktopFileName("photosim")
    icon = app_icon_path()
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    apply_theme(app)
    return app


def offer_repair(data: Path, problem: str) -> bool:
    """Show the repair dialog; True once the library was repaired (the app goes on opening it)."""
    from .repair import RepairDialog

    dialog = RepairDialog(data, problem)
    return bool(dialog.exec()) and dialog.succeeded


def run_app(data_dir: str | os.PathLike[str] | None = None, verbose: bool = False, argv: list[str] | None = None,
            find: str | None = None) -> int:
    """Open the app on a library and run it until the window closes; returns the exit code.

    ``find``: a file to search with once the window is up (``photosim --find FILE``); if the library is
    open in another photosim already, that window comes forward and searches instead.
    """
    app = make_application(argv)
    log_path = setup_logging(resolve_log_dir(), verbose)
    data = resolve_data_dir(data_dir)
    reporter = ErrorReporter(log_path)
    reporter.install()
    try:
        while True:
            settings = load_settings(data)
            try:
                service = open_service(data, device=settings.device, excluded=settings.excluded,
                                       keep_rules=settings.keep_rules, reference_folders=settings.reference_folders,
                                       similar_threshold=settings.similar_threshold)
            except LibraryBusyError as exc:
                if ask_running_instance(data, find=find):
                    print("photosim is already open on this library; brought its window forward"
                          + (" to find photos similar to the file." if find else "."), file=sys.stderr)
                    return 0
                QMessageBox.warning(None, "photosim", f"photosim cannot open this library:\n\n{exc}")
                return 1
            except CatalogDamagedError as exc:
                if offer_repair(data, str(exc)):
                    continue
                return 1
            except (CatalogError, OSError) as exc:
                QMessageBox.critical(None, "photosim",
                                     f"photosim cannot open the library in {display_path(str(data))}:\n\n{exc}")
                return 1
            code, damaged = _run_window(app, service, settings, data, find)
            find = None
            if damaged is not None:
                if offer_repair(data, damaged):
                    continue
                return 1
            return code
    finally:
        reporter.uninstall()
        log.info("photosim closed")


def _run_window(app: QApplication, service: LibraryService, settings, data: Path,  # noqa: ANN001
                find: str | None = None) -> tuple[int, str | None]:
    """Show the window over a started service until it closes; (exit code, damage found meanwhile)."""
    from .main_window import MainWindow

    server = InstanceServer(data)
    if not server.listen():
        log.warning("single-instance server did not start: %s", server.server.errorString())
    window = MainWindow(service, settings)
    server.activated.connect(window.bring_forward)
    server.find_requested.connect(window.find)
    damaged: list[str] = []

    def catalog_damaged(message: str) -> None:
        if damaged:
            return
        answer = QMessageBox.critical(
            window, "photosim: the library needs a repair",
            f"{message}\n\nRepair it now? photosim closes the library, restores the catalog from its newest "
            "good backup and opens it again.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            damaged.append(message)
            window.close()

    window.catalog_damaged.connect(catalog_damaged)
    window.restore_layout()  # where the window was, at the size it had
    window.show()
    service.start()
    freeze_long_lived("start-up")
    if find is not None:
        window.find(find)
    _quit_on_signals(app)
    log.info("photosim started on %s", data)
    try:
        code = app.exec()
    finally:
        window.shutdown()
        close_service(service)
        server.close()
        window.deleteLater()
    return code, damaged[0] if damaged else None


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
