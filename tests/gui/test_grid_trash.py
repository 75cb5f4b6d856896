"""Move to trash and Undo from the photo grid: in a query's results and in the library view.

Driven as a person would: click and Ctrl+click thumbnails, Delete, Ctrl+Z, Ctrl+A, the context menu.
The trash is a real freedesktop trash in the test's folder (``XDG_DATA_HOME``); the files really move.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from photosim.gui.grid import PhotoModel

LONG = 60_000


def rows(window) -> list[tuple[str, str | None]]:  # noqa: ANN001
    """(file name, chip kind) of every photo in the grid, in order."""
    model = window.model
    return [(model.data(model.index(i)), model.data(model.index(i), PhotoModel.MatchRole))
            for i in range(model.rowCount())]


def click(window, qtbot, name: str, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # noqa: ANN001
    row = [n for n, _ in rows(window)].index(name)
    rect = window.grid.visualRect(window.model.index(row))
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def press_and_wait(window, qtbot, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # noqa: ANN001
    """Press a key on the grid and wait until the action's outcome is said (after the views followed it)."""
    with qtbot.waitSignal(window.grid_cleanup.finished, timeout=LONG):
        qtbot.keyClick(window.grid, key, modifier)


def find_similar_to_china(window, qtbot, photo_dir: Path) -> None:  # noqa: ANN001
    """Right click on china.jpg > Find similar, and wait for its results (its three copies first)."""
    found = window.service.photo_rows([int(i) for i in window.service.snapshot.ids])
    china = next(i for i, row in found.items() if row.path == str(photo_dir / "china.jpg"))
    with qtbot.waitSignal(window.results_shown, timeout=LONG):
        window.find_similar_to_photo(china)


def test_copies_found_by_find_similar_go_to_the_trash_and_come_back(trash_window, qtbot, photo_dir: Path) -> None:  # noqa: ANN001
    window = trash_window
    find_similar_to_china(window, qtbot, photo_dir)
    before = rows(window)
    assert window.header.subtitle.text().startswith("3 copies of this photo")
    assert {n for n, kind in before if kind == "same"} == {"china-copy.jpg", "china-backup.jpg", "china-old.jpg"}

    # Click one copy, Ctrl+click the other, Delete: both go to the trash and leave the results at once
    click(window, qtbot, "china-copy.jpg")
    click(window, qtbot, "china-backup.jpg", Qt.KeyboardModifier.ControlModifier)
    assert window.trash_action.isEnabled()
    press_and_wait(window, qtbot, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: "china-copy.jpg" not in [n for n, _ in rows(window)], timeout=5_000)
    after = rows(window)
    assert after == [r for r in before if r[0] not in ("china-copy.jpg", "china-backup.jpg")]
    assert window.header.subtitle.text().startswith("1 copy of this photo")
    assert sorted(p.name for p in window.trash_files.iterdir()) == ["china-backup.jpg", "china-copy.jpg"]
    assert not (photo_dir / "china-copy.jpg").exists()
    assert "2 photos moved to the trash" in window.statusBar().currentMessage()
    assert "Ctrl+Z" in window.statusBar().currentMessage()
    window._edit_menu_opening()  # what Edit > Undo says
    assert window.undo_action.text() == "Undo move to trash (2 photos)"

    # Ctrl+Z: the files come back, and the results are again what they were, in the same places
    press_and_wait(window, qtbot, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: rows(window) == before, timeout=5_000)
    assert (photo_dir / "china-copy.jpg").exists() and (photo_dir / "china-backup.jpg").exists()
    assert not list(window.trash_files.iterdir())
    assert window.header.subtitle.text().startswith("3 copies of this photo")
    assert window.grid.currentIndex().data() in ("china-copy.jpg", "china-backup.jpg")  # selected again
    # the photos are back in the library under the ids the results now carry: Find similar works on them
    back = window.model.ids[[n for n, _ in rows(window)].index("china-copy.jpg")]
    assert window.service.photo(int(back)).path == str(photo_dir / "china-copy.jpg")
    window._edit_menu_opening()
    assert not window.undo_action.isEnabled()  # nothing left to undo
    window._edit_menu_closed()  # and once the menu closes, Ctrl+Z answers again (found trying it)
    press_and_wait(window, qtbot, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.statusBar().currentMessage() == "Nothing to undo."


def test_delete_in_the_library_view_selects_the_next_photo(trash_window, qtbot, photo_dir: Path) -> None:  # noqa: ANN001
    window = trash_window
    total = window.model.rowCount()
    names = [n for n, _ in rows(window)]
    victim, following = names[3], names[4]
    click(window, qtbot, victim)
    press_and_wait(window, qtbot, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: window.model.rowCount() == total - 1, timeout=10_000)
    assert victim not in [n for n, _ in rows(window)]
    assert window.grid.currentIndex().data() == following  # the next photo took its place, selected
    assert window.header.subtitle.text().startswith(f"{total - 1} photos")
    assert not (photo_dir / victim).exists()
    press_and_wait(window, qtbot, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.model.rowCount() == total, timeout=10_000)
    assert (photo_dir / victim).exists()
    assert "1 photo restored" in window.statusBar().currentMessage()


def test_many_photos_ask_first_and_text_fields_keep_their_keys(trash_window, qtbot, photo_dir: Path) -> None:  # noqa: ANN001
    window = trash_window
    total = window.model.rowCount()
    asked: list[int] = []
    window.grid_cleanup.confirm = lambda n: asked.append(n) or False  # the person says Cancel
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(window.grid.selectionModel().selectedIndexes()) == total
    qtbot.keyClick(window.grid, Qt.Key.Key_Delete)
    assert asked == [total]
    qtbot.wait(300)
    assert window.model.rowCount() == total and len(list(photo_dir.iterdir())) == total

    # Delete and Ctrl+Z in the word search edit its text: no photo moves
    window.search_box.setFocus()
    window.search_box.setText("dogs")
    window.search_box.setCursorPosition(0)
    qtbot.keyClick(window.search_box, Qt.Key.Key_Delete)
    assert window.search_box.text() == "ogs"
    qtbot.keyClick(window.search_box, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(300)
    assert len(list(photo_dir.iterdir())) == total
    assert "restored" not in window.statusBar().currentMessage()


def test_the_context_menu_acts_on_the_whole_selection(trash_window, qtbot) -> None:  # noqa: ANN001
    window = trash_window
    names = [n for n, _ in rows(window)]
    click(window, qtbot, names[0])
    click(window, qtbot, names[2], Qt.KeyboardModifier.ControlModifier)
    index = window.model.index(2)
    window.point_menu_at(index)  # a right click on a selected photo: the selection stays
    assert len(window.grid.selectionModel().selectedIndexes()) == 2
    menu = window.build_context_menu(index)
    trash = next(a for a in menu.actions() if a.objectName() == "moveToTrash")
    assert trash.text().startswith("Move 2 photos to trash")
    with qtbot.waitSignal(window.grid_cleanup.finished, timeout=LONG) as blocker:
        trash.trigger()
    assert {Path(p).name for p in blocker.args[0].done} == {names[0], names[2]}
    menu.deleteLater()
    qtbot.waitUntil(lambda: window.model.rowCount() == len(names) - 2, timeout=10_000)
    # a right click on a photo outside the selection selects that one alone
    window.point_menu_at(window.model.index(0))
    assert len(window.grid.selectionModel().selectedIndexes()) == 1
