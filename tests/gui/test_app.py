"""App-level behaviour: settings, the error dialog and log, one instance per library, the Qt binding itself."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu

from photosim.core.library import Library, LibraryBusyError
from photosim.core.settings import Settings, load_settings
from photosim.gui.errors import ErrorReporter, setup_logging
from photosim.gui.settings_dialog import SettingsDialog
from photosim.gui.single_instance import InstanceServer, ask_running_instance


def test_signals_do_not_corrupt_reference_counts(qapp) -> None:
    """PySide6 6.12.0 under Python 3.11 drops a reference to True/False per emission and aborts the app."""

    class Emitter(QObject):
        fired = Signal()
        carried = Signal(object)

    emitter = Emitter()
    emitter.fired.connect(lambda: None)
    emitter.carried.connect(lambda value: None)
    before = (sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None))
    for _ in range(2000):
        emitter.fired.emit()
        emitter.carried.emit(None)
    after = (sys.getrefcount(True), sys.getrefcount(False), sys.getrefcount(None))
    assert all(abs(a - b) < 50 for a, b in zip(after, before)), (before, after)


def test_settings_are_applied_and_persisted(qtbot, window, library) -> None:
    before_the_model = SettingsDialog(window.settings, None)  # the window passes None until the model is there
    qtbot.addWidget(before_the_model)
    assert before_the_model.device_note.text() == "A change takes effect at the next start."
    dialog = SettingsDialog(window.settings, "cpu")
    qtbot.addWidget(dialog)
    assert dialog.device_note.text().startswith("Now running on the CPU.")
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.results.setValue(7)
    dialog.thumb.setValue(224 // 32)
    assert not dialog.remove_button.isEnabled()  # nothing to remove yet
    dialog.add_excluded(str(library.data_dir / "private"))
    dialog.add_excluded(str(library.data_dir / "other"))
    dialog.excluded.setCurrentRow(1)
    assert dialog.remove_button.isEnabled()
    dialog.remove_button.click()
    assert not dialog.remove_button.isEnabled() or dialog.excluded.selectedItems()
    chosen = dialog.result_settings()
    assert chosen == Settings(device="cpu", results=7, thumb_size=224, excluded=[str(library.data_dir / "private")])
    window.apply_settings(chosen)
    assert window.delegate.cell == 224
    assert load_settings(library.data_dir) == chosen
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        window.find_similar_to_photo(window.grid.model().index(0).data(window.model.PhotoIdRole))
    assert len(window.results.answer.results) == 7  # the number of results setting is used
    if window.results.answer.more:  # the rest beyond the cutoff is one click away
        with qtbot.waitSignal(window.results_shown, timeout=10_000) as blocker:
            window.header.more_button.click()
        assert len(blocker.args[0]) == 7 and window.model.rowCount() == 7


def test_an_excluded_folder_is_left_out(qtbot, make_window, photo_dir, library) -> None:
    private = photo_dir / "private"
    private.mkdir()
    (photo_dir / "chelsea.jpg").rename(private / "chelsea.jpg")
    window = make_window([photo_dir], settings=Settings(excluded=[str(private)]))
    paths = {window.grid.model().index(r).data(window.model.PathRole) for r in range(window.grid.model().rowCount())}
    assert str(private / "chelsea.jpg") not in paths
    assert len(paths) == len(list(photo_dir.glob("*.jpg")))


def test_damaged_settings_fall_back_to_defaults(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"results": "many", "thumb_size": 5000, "device": "tpu"')
    assert load_settings(tmp_path) == Settings()
    (tmp_path / "settings.json").write_text('{"results": 0, "thumb_size": 5000, "device": "tpu", "future": 1}')
    assert load_settings(tmp_path) == Settings(results=1, thumb_size=320, device="auto")


def test_unexpected_errors_open_a_report_dialog_and_reach_the_log(qtbot, tmp_path: Path) -> None:
    log_path = setup_logging(tmp_path / "logs")
    reporter = ErrorReporter(log_path)
    reporter.install()
    try:
        def broken_worker() -> None:
            raise RuntimeError("thumbnail exploded")

        with qtbot.waitSignal(reporter.reported, timeout=10_000) as blocker:
            thread = threading.Thread(target=broken_worker, name="test-worker")
            thread.start()
            thread.join()
        assert "RuntimeError: thumbnail exploded" in blocker.args[0]
        assert "thread test-worker" in blocker.args[0]
        assert reporter.dialog is not None and reporter.dialog.isVisible()
        try:
            raise ValueError("a slot failed")
        except ValueError:
            with qtbot.waitSignal(reporter.reported, timeout=10_000):
                sys.excepthook(*sys.exc_info())
        text = reporter.dialog.text.toPlainText()
        assert "thumbnail exploded" in text and "a slot failed" in text  # one dialog collects both
        reporter.dialog.copy_report()
        from PySide6.QtGui import QGuiApplication

        assert "a slot failed" in QGuiApplication.clipboard().text()
        for handler in __import__("logging").getLogger().handlers:
            handler.flush()
        logged = log_path.read_text()
        assert "thumbnail exploded" in logged and "a slot failed" in logged
    finally:
        reporter.uninstall()
        if reporter.dialog is not None:
            reporter.dialog.close()


def test_a_second_launch_finds_the_first_and_brings_it_forward(qtbot, tmp_path: Path, embedder) -> None:
    data = tmp_path / "lib"
    first = Library(data, embedder=embedder)
    server = InstanceServer(data)
    try:
        assert server.listen()
        with pytest.raises(LibraryBusyError):
            Library(data, embedder=embedder)
        with qtbot.waitSignal(server.activated, timeout=10_000):
            assert ask_running_instance(data)
    finally:
        server.close()
        first.close()
    assert not ask_running_instance(data, timeout_ms=300)


def test_every_service_event_reaches_a_signal_of_the_bridge() -> None:
    """The bridge routes events by a table: an event type added to the service without a route would be
    dropped silently, and a route naming a field the event lacks would fail on a service thread."""
    import dataclasses
    import typing

    from PySide6.QtCore import Signal

    from photosim.core import events as ev
    from photosim.gui.bridge import _ROUTES, ServiceBridge

    kinds = set(typing.get_args(ev.ServiceEvent))
    assert set(_ROUTES) == kinds
    for kind, (signal, fields) in _ROUTES.items():
        assert isinstance(getattr(ServiceBridge, signal), Signal), signal
        assert set(fields) <= {f.name for f in dataclasses.fields(kind)}, kind


def test_a_message_never_shares_the_status_bar_with_the_summary(qtbot, make_window, photo_dir) -> None:
    """Found on a first run: "Library updated: 55 indexed" was drawn over "55 photos in 1 folder", because
    Qt re-shows the summary when the bar lays its widgets out again (the progress widgets hidden at the
    end of the run, the problems button shown) while a message is up."""
    (photo_dir / "empty.jpg").write_bytes(b"")  # a problem to show
    window = make_window([])
    status, bar = window.status, window.statusBar()
    with qtbot.waitSignal(window.indexing_finished, timeout=120_000):
        window.welcome.pictures_chosen.emit(str(photo_dir))  # "Watch my Pictures folder"
    qtbot.waitUntil(lambda: bar.currentMessage().startswith("Library updated"), timeout=10_000)
    qtbot.wait(300)  # Qt shows re-laid-out widgets from the event loop
    assert bar.currentMessage().startswith("Library updated")
    assert not status.summary.isVisible()
    bar.clearMessage()
    qtbot.waitUntil(lambda: status.summary.isVisible(), timeout=5_000)
    assert "photos in 1 folder" in status.summary.text()
    assert status.problems_button.isVisible()


def test_the_menus_main_actions_have_keyboard_shortcuts(window) -> None:
    """Found trying the app under X11: Settings had no shortcut (Qt binds none to Preferences on Linux)."""
    actions = {a.text(): a for menu in window.menuBar().findChildren(QMenu) for a in menu.actions()}
    for text in ("Settings…", "Quit", "Find similar to a file…", "Find similar to pasted image",
                 "Find similar to selected photo", "Search by word…", "Photo info", "Duplicates"):
        assert not actions[text].shortcut().isEmpty(), text
    assert actions["Settings…"].shortcut().toString() in ("Ctrl+,", QKeySequence(QKeySequence.StandardKey.Preferences).toString())


def test_the_window_comes_back_at_its_size_and_panel_widths(qtbot, window, tmp_path: Path) -> None:
    """Found trying the app: every start opened at 1280 x 820 with the default panel widths."""
    from photosim.gui.window_state import restore_window_state, save_window_state, state_path

    window.resize(1100, 700)
    qtbot.wait(50)
    save_window_state(tmp_path, window, window.splitter)
    window.resize(1300, 900)
    assert restore_window_state(tmp_path, window, window.splitter)
    qtbot.wait(50)
    # Qt keeps a restored window on its screen, frame included (the offscreen one is 800 px wide)
    screen = window.screen().availableGeometry()
    assert abs(window.width() - max(min(1100, screen.width()), window.minimumSizeHint().width())) <= 4
    assert window.height() == min(700, screen.height())
    # the panels' widths, at that window size
    window.splitter.setSizes([320, window.width() - 560, 240])
    qtbot.wait(50)
    wanted = window.splitter.sizes()
    save_window_state(tmp_path, window, window.splitter)
    window.splitter.setSizes([200, window.width() - 400, 200])
    assert restore_window_state(tmp_path, window, window.splitter)
    qtbot.wait(50)
    assert window.splitter.sizes() == wanted
    state_path(tmp_path).write_text("{not json")  # damaged: the layout stays as it is
    assert not restore_window_state(tmp_path, window, window.splitter)
    assert not restore_window_state(tmp_path / "nowhere", window, window.splitter)
    window.close()  # closing writes the layout into the library's data folder
    assert state_path(window.service.data_dir).exists()


def test_keyboard_shortcuts_lists_the_menus_keys_from_the_actions_themselves(qtbot, window) -> None:  # noqa: ANN001
    """Help > Keyboard shortcuts (F1): every key the window answers to, taken from its actions, so a
    shortcut added to a menu is listed without a second list to keep in step."""
    from PySide6.QtGui import QKeySequence

    dialog = window.show_shortcuts()
    qtbot.addWidget(dialog)
    rows = dict(dialog.rows())
    native = lambda key: QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)  # noqa: E731
    assert rows[f"{native('Ctrl+K')}, {native('Ctrl+L')}"] == "Search by word"  # the hidden Ctrl+L joins Ctrl+K
    assert rows[native("Ctrl+D")] == "Duplicates" and rows[native("F5")] == "Check folders now"
    assert rows[native("Ctrl+F")] == "Find similar to selected photo"
    assert any(does == "Keyboard shortcuts" for does in rows.values())
    assert ("Photo grid", "") in dialog.rows() and ("Enter, double-click", "Open the photo in its viewer") in dialog.rows()
    assert ("Duplicates (Ctrl+D)", "") in dialog.rows() and ("T, Delete", "Move this photo to the trash") in dialog.rows()
    shortcut_actions = [a for a in window.actions() if not a.shortcut().isEmpty()]
    listed = " ".join(rows)
    assert all(a.shortcut().toString(QKeySequence.SequenceFormat.NativeText) in listed for a in shortcut_actions)
