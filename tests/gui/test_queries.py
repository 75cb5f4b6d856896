"""Queries from the window: dropped files, dropped image bytes, the clipboard, the context menu, the keyboard."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QByteArray, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from photosim.core.search import Searcher
from photosim.gui.grid import PhotoModel
from tests.photos import crop_center, half_size, mirror, save_jpeg


def send_drop(widget, mime: QMimeData) -> bool:  # noqa: ANN001
    """Drag ``mime`` over ``widget`` and drop it, as the window system would; True if it was taken."""
    centre = widget.rect().center()
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return drop.isAccepted()


def jpeg_bytes(image: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def shown_paths(window) -> list[str]:  # noqa: ANN001
    model = window.grid.model()
    return [model.index(r).data(PhotoModel.PathRole) for r in range(model.rowCount())]


def test_dropping_an_edited_copy_finds_the_original_first(qtbot, window, photo_dir: Path, tmp_path: Path) -> None:
    original = photo_dir / "chelsea.jpg"
    edited = save_jpeg(crop_center(Image.open(original).convert("RGB")), tmp_path / "outside" / "cat-cropped.jpg")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(edited))])
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        assert send_drop(window, mime)
    results = blocker.args[0]
    assert results[0].path == str(original) and results[0].match == "same"
    assert shown_paths(window)[0] == str(original)
    assert window.model.is_results
    assert "cat-cropped.jpg" in window.header.title.text()
    assert window.grid.model().index(0).data(PhotoModel.ScoreRole) == pytest.approx(results[0].score)
    assert window.grid.model().index(0).data(PhotoModel.MatchRole) == "same"
    assert window.header.subtitle.text().startswith("1 copy of this photo")
    assert all(r.path != str(photo_dir / "coffee.jpg") for r in results)  # nothing unrelated above the cutoff


def test_dropping_several_files_uses_the_first_and_says_so(qtbot, window, photo_dir: Path, tmp_path: Path) -> None:
    first = save_jpeg(mirror(Image.open(photo_dir / "coffee.jpg").convert("RGB")), tmp_path / "a-coffee.jpg")
    second = save_jpeg(mirror(Image.open(photo_dir / "rocket.jpg").convert("RGB")), tmp_path / "b-rocket.jpg")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(first)), QUrl.fromLocalFile(str(second))])
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        assert send_drop(window, mime)
    assert blocker.args[0][0].path == str(photo_dir / "coffee.jpg")
    assert "2 files dropped" in window.statusBar().currentMessage()
    assert "a-coffee.jpg" in window.statusBar().currentMessage()


def test_dropping_raw_image_bytes_finds_the_original(qtbot, window, photo_dir: Path) -> None:
    data = jpeg_bytes(mirror(Image.open(photo_dir / "astronaut.jpg").convert("RGB")))
    mime = QMimeData()
    mime.setData("image/jpeg", QByteArray(data))  # what a browser offers when an image is dragged out
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        assert send_drop(window, mime)
    assert blocker.args[0][0].path == str(photo_dir / "astronaut.jpg")


def test_pasting_an_image_finds_the_original(qtbot, window, photo_dir: Path) -> None:
    small = half_size(Image.open(photo_dir / "rocket.jpg").convert("RGB"))
    QGuiApplication.clipboard().setImage(QImage.fromData(jpeg_bytes(small, 90)))
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        window.paste_action.trigger()  # File > Find similar to pasted image (Ctrl+V)
    assert blocker.args[0][0].path == str(photo_dir / "rocket.jpg")


def test_pasting_a_copied_file_finds_the_original(qtbot, window, photo_dir: Path, tmp_path: Path) -> None:
    copy = save_jpeg(crop_center(Image.open(photo_dir / "coffee.jpg").convert("RGB"), 0.85), tmp_path / "c.jpg")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(copy))])  # what a file manager puts on the clipboard
    QGuiApplication.clipboard().setMimeData(mime)
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        qtbot.keyClick(window.grid, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert blocker.args[0][0].path == str(photo_dir / "coffee.jpg")


def test_pasting_text_says_there_is_nothing_to_search_with(qtbot, window) -> None:
    QGuiApplication.clipboard().setText("just words")
    window.paste_action.trigger()
    assert "no image" in window.statusBar().currentMessage()
    assert not window.model.is_results


def test_find_similar_from_the_context_menu_shows_neighbours_not_itself(qtbot, window, library, photo_dir) -> None:
    model = window.grid.model()
    row = next(r for r in range(model.rowCount()) if model.index(r).data(PhotoModel.PathRole).endswith("chelsea.jpg"))
    index = model.index(row)
    photo_id = index.data(PhotoModel.PhotoIdRole)
    menu = window.build_context_menu(index)
    labels = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert labels == ["Find similar", "Open", "Show in folder", "Copy path", "Move to trash\tDel"]
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        menu.actions()[0].trigger()
    results = blocker.args[0]
    ids = [r.photo_id for r in results]
    assert photo_id not in ids
    expected = Searcher(library).results_for_photo(photo_id, window.settings.results)
    assert ids == [r.photo_id for r in expected.shown]
    answer = window.results.answer
    assert len(answer.results) == min(window.settings.results, window.service.snapshot.photos - 1)
    assert window.header.title.text() == "Similar to chelsea.jpg"
    assert answer.header() in window.header.subtitle.text()


def test_context_menu_open_reveal_and_copy_path(qtbot, window) -> None:
    opened: list[str] = []
    revealed: list[str] = []
    window.open_path = opened.append
    window.reveal_path = revealed.append
    index = window.grid.model().index(3)
    path = index.data(PhotoModel.PathRole)
    actions = {a.text(): a for a in window.build_context_menu(index).actions()}
    actions["Open"].trigger()
    actions["Show in folder"].trigger()
    actions["Copy path"].trigger()
    assert opened == [path] and revealed == [path]
    assert QGuiApplication.clipboard().text() == path


def test_escape_goes_back_to_the_library(qtbot, window, photo_dir: Path) -> None:
    total = window.grid.model().rowCount()
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        window.find_similar_to_file(str(photo_dir / "china.jpg"))
    assert window.model.is_results
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Escape)
    assert not window.model.is_results
    assert window.grid.model().rowCount() == total
    assert window.header.title.text() == "All photos"


def test_keyboard_enter_and_double_click_open_the_photo(qtbot, window) -> None:
    opened: list[str] = []
    window.open_path = opened.append
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.grid.model().index(0))
    qtbot.keyClick(window.grid, Qt.Key.Key_Right)
    current = window.grid.currentIndex()
    assert current.row() == 1
    qtbot.keyClick(window.grid, Qt.Key.Key_Return)
    assert opened == [current.data(PhotoModel.PathRole)]
    rect = window.grid.visualRect(window.grid.model().index(2))
    # Qt needs the first click of a double-click to arrive as a click of its own.
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened[-1] == window.grid.model().index(2).data(PhotoModel.PathRole)


def test_an_unreadable_query_is_reported_without_changing_the_grid(qtbot, window, tmp_path: Path) -> None:
    bad = tmp_path / "not-a-photo.jpg"
    bad.write_text("hello")
    with qtbot.waitSignal(window.query_failed, timeout=60_000) as blocker:
        window.find_similar_to_file(str(bad))
    assert "cannot use" in blocker.args[0]
    assert "Cannot search" in window.header.subtitle.text()


def test_a_query_does_not_block_the_event_loop(qtbot, window, photo_dir: Path) -> None:
    """The query is decoded and embedded off the GUI thread: the call returns at once."""
    import time

    start = time.perf_counter()
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        window.find_similar_to_file(str(photo_dir / "flower.jpg"))
        assert time.perf_counter() - start < 0.5
        assert window.header.subtitle.text() == "Searching…"
    answer = window.results.answer
    assert answer.results and all(os.path.basename(r.path) != "flower.jpg" for r in answer.results)  # leaves itself out


def test_find_similar_to_a_file_opens_in_pictures_then_where_the_last_file_was(qtbot, window, photo_dir,  # noqa: ANN001
                                                                              tmp_path, monkeypatch) -> None:
    """Found trying the app: the file dialog opened in the folder photosim was started from."""
    from PySide6.QtCore import QStandardPaths
    from PySide6.QtWidgets import QFileDialog

    pictures = tmp_path / "Pictures"
    pictures.mkdir()
    monkeypatch.setattr(QStandardPaths, "writableLocation", lambda location: str(pictures))
    opened: list[str] = []

    def fake_dialog(parent, caption, folder, filters):  # noqa: ANN001, ANN202
        opened.append(folder)
        return str(photo_dir / "coffee.jpg"), filters

    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake_dialog)
    for _ in range(2):
        with qtbot.waitSignal(window.results_shown, timeout=60_000):
            window.choose_query_file()
    assert opened == [str(pictures), str(photo_dir)]


def test_opening_a_photo_says_why_it_cannot(qtbot, window, photo_dir: Path) -> None:
    """Found trying the app where no image viewer is installed: Enter on a photo did nothing at all
    (Qt only logged "Unable to detect a launcher"). So did Enter on a photo deleted since."""
    refused: list[str] = []

    def no_viewer(path: str) -> bool:
        refused.append(path)
        return False

    window.open_path = no_viewer
    path = window.grid.model().index(0).data(PhotoModel.PathRole)
    window.open_photo(path)
    assert refused == [path]
    assert window.statusBar().currentMessage().startswith(f"No application on this computer opens {Path(path).name}")
    window.open_photo(str(photo_dir / "deleted-meanwhile.jpg"))
    assert refused == [path]  # not even tried
    assert "deleted-meanwhile.jpg is no longer there" in window.statusBar().currentMessage()


def test_show_in_folder_says_where_the_photo_is_when_no_file_manager_can_show_it(  # noqa: ANN001
        qtbot, tmp_path: Path, monkeypatch) -> None:
    """Found trying the app under Xvfb: "Show in folder" did nothing at all where no file manager
    answers the desktop's D-Bus call (and nothing opens folders)."""
    from PySide6.QtGui import QDesktopServices

    from photosim.gui.reveal import Revealer

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    fake = bin_dir / "dbus-send"  # answers as dbus-send does when no file manager is registered
    fake.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\nexit "${{FAKE_EXIT:-1}}"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or False)
    photo = tmp_path / "Holiday" / "coffee.jpg"
    revealer = Revealer()
    with qtbot.waitSignal(revealer.failed, timeout=10_000) as blocker:
        revealer.reveal(str(photo))
    assert "org.freedesktop.FileManager1.ShowItems" in calls.read_text() and f"file://{photo}" in calls.read_text()
    assert opened == [str(photo.parent)]  # then the folder, with whatever opens folders
    assert blocker.args[0] == f"No file manager could show coffee.jpg: it is in {photo.parent}"
    monkeypatch.setenv("FAKE_EXIT", "0")  # a file manager showed it: nothing more is done or said
    with qtbot.assertNotEmitted(revealer.failed, wait=1000):
        revealer.reveal(str(photo))
        qtbot.waitUntil(lambda: calls.read_text().count("ShowItems") == 2, timeout=10_000)
    assert opened == [str(photo.parent)]
