"""Starting the desktop app: logging, the error dialog, one instance per library, the main window."""

from __future__ import annotations

import logging
import os
import sys

from PySide6.QtWidgets import QApplication, QMessageBox

from ..core.catalog import CatalogError
from ..core.library import Library, LibraryBusyError
from ..core.paths import resolve_data_dir, resolve_log_dir
from ..core.settings import load_settings
from .errors import ErrorReporter, setup_logging
from .single_instance import InstanceServer, ask_running_instance
from .theme import apply_theme

log = logging.getLogger(__name__)


def run_app(data_dir: str | os.PathLike[str] | None = None, verbose: bool = False, argv: list[str] | None = None) -> int:
    """Open the app on a library and run it until the window closes; returns the exit code."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("photosim")
    app.setApplicationDisplayName("photosim")
    app.setDesktopFileName("photosim")
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
    log.info("photosim started on %s", data)
    try:
        return app.exec()
    finally:
        window.shutdown()
        server.close()
        reporter.uninstall()
        library.close()
