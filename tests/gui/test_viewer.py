"""Space in the grid: one photo large (← → step through the grid, Delete culls it), or the selected
photos compared side by side; Esc or Space back to the grid where it was. Real photos, real window."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tests.gui.test_grid_trash import LONG, click, find_similar_to_china, rows


def open_viewer(window, qtbot) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.viewer.compare.pictures_loaded, timeout=LONG):
        qtbot.keyClick(window.grid, Qt.Key.Key_Space)
    assert window.showing_viewer


def facts(window) -> list[str]:  # noqa: ANN001
    return [pane.facts.text() for pane in window.viewer.compare.panes]


def test_space_shows_the_photo_and_arrows_step_through_the_grid(trash_window, qtbot) -> None:  # noqa: ANN001
    window = trash_window
    names = [n for n, _ in rows(window)]
    click(window, qtbot, names[2])
    open_viewer(window, qtbot)
    assert window.viewer.title.text() == f"{names[2]}   ·   3 of {len(names)}"
    (pane,) = window.viewer.compare.panes
    assert pane.canvas.pixmap is not None and not pane.canvas.pixmap.isNull()
    qtbot.waitUntil(lambda: "dimensions" in facts(window)[0], timeout=10_000)  # measured beside the picture
    with qtbot.waitSignal(window.viewer.compare.pictures_loaded, timeout=LONG):
        qtbot.keyClick(window.viewer, Qt.Key.Key_Right)
    assert window.viewer.title.text().startswith(f"{names[3]}   ·   4 of")
    qtbot.keyClick(window.viewer, Qt.Key.Key_Left)
    assert window.viewer.title.text().startswith(names[2])
    qtbot.keyClick(window.viewer, Qt.Key.Key_Right)
    opened: list[str] = []
    window.open_path = opened.append
    qtbot.keyClick(window.viewer, Qt.Key.Key_Return)  # Enter: the system's viewer
    assert [Path(p).name for p in opened] == [names[3]]
    # Esc: back to the grid, at the photo last viewed
    qtbot.keyClick(window.viewer, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.browse_page
    assert window.grid.currentIndex().data() == names[3] and window.grid.hasFocus()
    assert not window.viewer.compare.panes  # the full pictures are let go


def test_selected_copies_are_compared_side_by_side(trash_window, qtbot, photo_dir: Path) -> None:  # noqa: ANN001
    window = trash_window
    find_similar_to_china(window, qtbot, photo_dir)
    click(window, qtbot, "china-copy.jpg")
    click(window, qtbot, "china-old.jpg", Qt.KeyboardModifier.ControlModifier)
    open_viewer(window, qtbot)
    assert window.viewer.title.text() == "Comparing 2 photos"
    in_grid_order = [n for n, _ in rows(window) if n in ("china-copy.jpg", "china-old.jpg")]
    assert [p.photo.name for p in window.viewer.compare.panes] == in_grid_order
    # one zoom for both
    qtbot.keyClick(window.viewer, Qt.Key.Key_Plus)
    assert window.viewer.compare.sync.zoom > 1
    qtbot.keyClick(window.viewer, Qt.Key.Key_Space)  # Space goes back too: to the results, as they were
    assert window.stack.currentWidget() is window.browse_page and window.results.showing_results
    assert len(window.grid.selectionModel().selectedIndexes()) == 2
    # left another way (Ctrl+K from the viewer): its full pictures are let go all the same
    open_viewer(window, qtbot)
    window.focus_word_search()
    assert window.stack.currentWidget() is window.browse_page and not window.viewer.compare.panes


def test_delete_in_the_viewer_culls_and_shows_the_next_photo(trash_window, qtbot, photo_dir: Path) -> None:  # noqa: ANN001
    window = trash_window
    names = [n for n, _ in rows(window)]
    click(window, qtbot, names[1])
    open_viewer(window, qtbot)
    with qtbot.waitSignal(window.viewer.compare.pictures_loaded, timeout=LONG):
        qtbot.keyClick(window.viewer, Qt.Key.Key_Delete)
    assert not (photo_dir / names[1]).exists()
    assert window.showing_viewer and window.viewer.title.text().startswith(names[2])
    assert "moved to the trash" in window.statusBar().currentMessage()
    qtbot.keyClick(window.viewer, Qt.Key.Key_Escape)
    assert names[1] not in [n for n, _ in rows(window)]


def test_space_in_the_word_box_is_a_space(trash_window, qtbot) -> None:  # noqa: ANN001
    window = trash_window
    window.search_box.setFocus()
    qtbot.keyClicks(window.search_box, "red flower")
    assert window.search_box.text() == "red flower" and not window.showing_viewer


def test_a_photo_whose_file_is_not_there_says_so(trash_window, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    """A photo of an offline folder (its vector still in the library): the pane says why it is empty."""
    from photosim.core.dupstate import PhotoInfo

    gone = PhotoInfo(10**6, str(tmp_path / "unmounted" / "IMG_0001.jpg"), 2_000_000, 0.0, "f", None, None)
    viewer = trash_window.viewer
    with qtbot.waitSignal(viewer.compare.pictures_loaded, timeout=LONG):
        viewer.show_photos([gone], "1 of 1")
    (pane,) = viewer.compare.panes
    assert pane.canvas.pixmap is None
    assert pane.canvas.note == ("Cannot show this photo: the file is not there (moved or deleted, "
                                "or its drive is not mounted)")


def test_a_big_photo_shows_at_once_then_in_full(trash_window, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    """A 12 MP camera JPEG: a quick picture at a reduced scale first (stepping shows each photo at
    once), then the full picture for zooming, then the facts."""
    from PIL import Image

    from photosim.core.dupstate import PhotoInfo

    big = tmp_path / "IMG_4000x3000.jpg"
    Image.open(Path(trash_window.service.photo(int(trash_window.model.ids[0])).path)).convert("RGB").resize(
        (4000, 3000)).save(big, "JPEG", quality=90)
    seen: list[tuple[str, object]] = []
    viewer = trash_window.viewer
    viewer.compare._loaded.connect(lambda _t, _i, payload: seen.append(
        (payload[0], payload[1].width() if payload[0] == "picture" else payload[1].width)))
    with qtbot.waitSignal(viewer.compare.pictures_loaded, timeout=LONG):
        viewer.show_photos([PhotoInfo(1, str(big), big.stat().st_size, 0.0, "f", None, None)], "1 of 1")
    qtbot.waitUntil(lambda: any(kind == "facts" for kind, _ in seen), timeout=10_000)
    assert seen == [("picture", 1000), ("picture", 4000), ("facts", 4000)]
    assert viewer.compare.panes[0].canvas.pixmap.width() == 4000
