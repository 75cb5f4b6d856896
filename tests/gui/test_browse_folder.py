"""One folder's photos: picking a watched folder in the panel shows its photos; Esc shows them all again."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import Qt

from photosim.gui.grid import PhotoModel


def grid_paths(window) -> list[str]:  # noqa: ANN001
    model = window.grid.model()
    return [model.index(r).data(PhotoModel.PathRole) for r in range(model.rowCount())]


def choose(window, path: Path) -> None:  # noqa: ANN001
    """Click a folder (a watched one or one right below it) in the panel."""
    panel = window.folders_panel
    items = [item for item in panel._items() if panel._path_of(item) == str(path)]
    assert items, f"{path} is not in the folders panel"
    panel.list.setCurrentItem(items[0])


def test_picking_a_folder_shows_its_photos_until_esc(qtbot, make_window, photo_dir: Path, tmp_path: Path,
                                                     library) -> None:  # noqa: ANN001
    holiday = tmp_path / "Holiday 2024"
    holiday.mkdir()
    for name in ("coffee.jpg", "rocket.jpg"):
        shutil.copy(photo_dir / name, holiday / f"holiday-{name}")
    window = make_window([photo_dir, holiday])
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 10, timeout=30_000)
    # The folder list taking the keyboard focus makes a row current (Qt does), which must not narrow the grid.
    window.folders_panel.list.setFocus()
    qtbot.wait(100)
    assert len(grid_paths(window)) == 10 and window.folders_panel.chosen is None
    header = window.header

    choose(window, holiday)
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 2, timeout=5_000)
    assert set(grid_paths(window)) == {str(holiday / "holiday-coffee.jpg"), str(holiday / "holiday-rocket.jpg")}
    assert header.title.text() == "Holiday 2024"
    assert header.subtitle.text().startswith("2 photos, newest first. In ")
    assert header.back_button.isVisible() and header.back_button.text() == "← All photos"

    # The library changes elsewhere: the view stays on the folder, and the snapshot keeps the panel's choice.
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        shutil.copy(photo_dir / "china.jpg", photo_dir / "china-again.jpg")
    qtbot.wait(300)
    assert len(grid_paths(window)) == 2 and window.folders_panel.chosen == str(holiday)

    # Find similar from the folder's view, then back: Esc returns to the folder, Esc again to everything.
    window.find_similar_to_photo(window.grid.model().index(0).data(PhotoModel.PhotoIdRole))
    qtbot.waitUntil(lambda: window.results.showing_results and window.grid.model().is_results, timeout=60_000)
    qtbot.keyClick(window.grid, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.results.showing_results, timeout=5_000)
    assert len(grid_paths(window)) == 2 and header.title.text() == "Holiday 2024"
    qtbot.keyClick(window.grid, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 11, timeout=5_000)
    assert header.title.text() == "All photos" and not header.back_button.isVisible()
    assert window.folders_panel.selected_path() is None and window.folders_panel.chosen is None
    assert not window.folders_panel.remove_button.isEnabled()

    # Ctrl+D from a folder's view shows that folder's duplicates (here the copy of coffee.jpg).
    choose(window, holiday)
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 2, timeout=5_000)
    window.show_duplicates()
    assert window.duplicates.folder == str(holiday)
    assert window.duplicates_view.folder_box.currentData() == str(holiday)
    window.duplicates_view.folder_box.setCurrentIndex(0)  # "All folders"
    assert window.duplicates.folder is None

    # Picked while the Duplicates view is open: the folder's photos show.
    window.folders_panel.clear_choice()
    choose(window, holiday)
    qtbot.waitUntil(lambda: not window.showing_duplicates and len(grid_paths(window)) == 2, timeout=5_000)
    qtbot.keyClick(window.grid, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 11, timeout=5_000)

    # The header's button does the same; removing the chosen folder shows everything that is left.
    choose(window, holiday)
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 2, timeout=5_000)
    header.back_button.click()
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 11, timeout=5_000)
    choose(window, holiday)
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 2, timeout=5_000)
    with qtbot.waitSignal(window.bridge.folders_changed, timeout=60_000):
        window.remove_folder(str(holiday), confirm=False)
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 9 and header.title.text() == "All photos", timeout=30_000)


def test_a_thumbnail_that_failed_is_tried_again_later(qtbot, tmp_path: Path, photo_dir: Path, monkeypatch) -> None:  # noqa: ANN001
    """An offline folder's photos say "not found" and come back by themselves once their files do
    (a failure used to be kept until the app restarted); an unreadable file says "cannot show"."""
    from photosim.core.thumbnails import ThumbnailCache
    from photosim.gui import thumbs
    from photosim.gui.thumbs import ThumbnailLoader

    loader = ThumbnailLoader(ThumbnailCache(tmp_path / "cache"))
    away = tmp_path / "nas" / "coffee.jpg"
    stat = (photo_dir / "coffee.jpg").stat()
    assert loader.pixmap(1, str(away), stat.st_size, stat.st_mtime_ns) is None
    qtbot.waitUntil(lambda: loader.broken_text(1) is not None, timeout=10_000)
    assert loader.broken_text(1) == "not found"
    away.parent.mkdir()
    shutil.copy2(photo_dir / "coffee.jpg", away)  # the drive is back
    assert loader.pixmap(1, str(away), stat.st_size, stat.st_mtime_ns) is None  # not before the retry delay
    qtbot.wait(200)
    assert loader.broken_text(1) == "not found"
    monkeypatch.setattr(thumbs, "BROKEN_RETRY_S", 0.0)
    loader.pixmap(1, str(away), stat.st_size, stat.st_mtime_ns)
    qtbot.waitUntil(lambda: loader.pixmap(1, str(away), stat.st_size, stat.st_mtime_ns) is not None, timeout=10_000)
    assert loader.broken_text(1) is None

    garbled = tmp_path / "garbled.jpg"
    garbled.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 500)
    loader.pixmap(2, str(garbled), 504, garbled.stat().st_mtime_ns)
    qtbot.waitUntil(lambda: loader.broken_text(2) is not None, timeout=10_000)
    assert loader.broken_text(2) == "cannot show"
    loader.shutdown()


def test_the_folders_inside_a_watched_one_can_be_picked(qtbot, make_window, photo_dir: Path) -> None:  # noqa: ANN001
    """A library watched as one folder (the welcome page's "Watch my Pictures folder") is browsed by
    the folders inside it: each that holds photos is listed under its parent, with its count (its
    subfolders' photos included)."""
    trip = photo_dir / "Trip 2024"
    (trip / "day 2").mkdir(parents=True)
    shutil.move(photo_dir / "coffee.jpg", trip / "coffee.jpg")
    shutil.move(photo_dir / "rocket.jpg", trip / "day 2" / "rocket.jpg")
    (photo_dir / "empty").mkdir()
    window = make_window([photo_dir])
    panel = window.folders_panel
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 8, timeout=30_000)
    assert panel.statuses[0].subfolders == (("Trip 2024", 2), ("Trip 2024/day 2", 1))
    assert [panel._path_of(item) for item in panel._items()] == [str(photo_dir), str(trip), str(trip / "day 2")]
    assert panel._items()[2].parent() is panel._items()[1]

    choose(window, trip)
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 2, timeout=5_000)
    assert set(grid_paths(window)) == {str(trip / "coffee.jpg"), str(trip / "day 2" / "rocket.jpg")}
    assert window.header.title.text() == "Trip 2024"
    assert not panel.remove_button.isEnabled()  # a subfolder is not a watched folder: nothing to remove
    choose(window, trip / "day 2")
    qtbot.waitUntil(lambda: grid_paths(window) == [str(trip / "day 2" / "rocket.jpg")], timeout=5_000)
    assert window.header.title.text() == "day 2"
    choose(window, trip)
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 2, timeout=5_000)

    # Renamed in a file manager while on screen: the view follows it under its new name (it fell back
    # to all photos), its subfolder with it.
    renamed = photo_dir / "Brittany 2024"
    trip.rename(renamed)
    qtbot.waitUntil(lambda: panel.chosen == str(renamed), timeout=60_000)
    qtbot.waitUntil(lambda: set(grid_paths(window)) == {str(renamed / "coffee.jpg"),
                                                         str(renamed / "day 2" / "rocket.jpg")}, timeout=10_000)
    assert window.header.title.text() == "Brittany 2024" and panel.selected_path() == str(renamed)
    renamed.rename(trip)
    qtbot.waitUntil(lambda: panel.chosen == str(trip) and len(grid_paths(window)) == 2, timeout=60_000)

    # A new photo in it shows at once; when its last photo goes, the choice goes with it.
    with qtbot.waitSignal(window.indexing_finished, timeout=60_000):
        shutil.copy(photo_dir / "china.jpg", trip / "china.jpg")
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 3, timeout=10_000)
    assert panel.statuses[0].subfolders == (("Trip 2024", 3), ("Trip 2024/day 2", 1))
    shutil.rmtree(trip)
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 6 and panel.chosen is None, timeout=60_000)
    assert window.header.title.text() == "All photos"
    assert [panel._path_of(item) for item in panel._items()] == [str(photo_dir)]


def test_a_folder_deep_inside_an_offline_one_says_it_is_offline(qtbot, make_window, photo_dir: Path,
                                                               tmp_path: Path) -> None:  # noqa: ANN001
    """Its photos stay listed (the library keeps them), and the header says why none can be shown."""
    deep = photo_dir / "2024" / "Trip"
    deep.mkdir(parents=True)
    shutil.move(photo_dir / "coffee.jpg", deep / "coffee.jpg")
    window = make_window([photo_dir])
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 8, timeout=30_000)
    photo_dir.rename(tmp_path / "unplugged")  # the drive goes
    try:
        qtbot.waitUntil(lambda: window.folders_panel.statuses and not window.folders_panel.statuses[0].online,
                        timeout=30_000)
        choose(window, deep)
        qtbot.waitUntil(lambda: grid_paths(window) == [str(deep / "coffee.jpg")], timeout=5_000)
        assert "Offline: folder is offline or missing" in window.header.subtitle.text()
    finally:
        (tmp_path / "unplugged").rename(photo_dir)


def test_searches_can_keep_to_the_folder_picked(qtbot, make_window, photo_dir: Path) -> None:  # noqa: ANN001
    """With a folder picked, "Only in <folder>" beside the results asks the same again inside it; the
    choice holds for the next searches while a folder is picked, and unticked searches everything."""
    pets = photo_dir / "Pets"
    pets.mkdir()
    shutil.copy(photo_dir / "chelsea.jpg", pets / "chelsea-on-the-sofa.jpg")
    shutil.copy(photo_dir / "coffee.jpg", pets / "coffee-spilt.jpg")
    window = make_window([photo_dir])
    header, scope = window.header, window.results.scope_box

    window.find_by_words("cat")  # no folder picked: the whole library, and no scope to offer
    qtbot.waitUntil(lambda: window.grid.model().is_results, timeout=30_000)
    assert {Path(p).name for p in grid_paths(window)} >= {"chelsea.jpg", "chelsea-on-the-sofa.jpg"}
    assert not scope.isVisible()
    qtbot.keyClick(window.grid, Qt.Key.Key_Escape)

    choose(window, pets)
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 2, timeout=5_000)
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        window.find_by_words("cat")
    assert scope.isVisible() and scope.text() == "Only in Pets" and not scope.isChecked()
    assert "chelsea.jpg" in {Path(p).name for p in grid_paths(window)}  # the whole library by default
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        scope.click()
    assert [Path(p).name for p in grid_paths(window)] == ["chelsea-on-the-sofa.jpg"]
    assert header.title.text() == "Photos of cat in Pets"

    # another folder picked while the results keep to Pets: the same search, inside that folder
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        choose(window, photo_dir)
    assert header.title.text() == "Photos of cat in photos" and scope.isChecked()
    assert {Path(p).name for p in grid_paths(window)} == {"chelsea.jpg", "chelsea-on-the-sofa.jpg"}
    with qtbot.waitSignal(window.results_shown, timeout=30_000):
        choose(window, pets)
    assert [Path(p).name for p in grid_paths(window)] == ["chelsea-on-the-sofa.jpg"]

    # the next search, from the results: still inside Pets
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        window.find_similar_to_file(str(photo_dir / "coffee.jpg"))
    assert scope.isChecked() and header.title.text() == "Similar to coffee.jpg in Pets"
    assert grid_paths(window) and all(p.startswith(str(pets)) for p in grid_paths(window))
    assert window.grid.model().index(0).data(PhotoModel.MatchRole) == "same"  # its copy in Pets, first
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        scope.click()  # unticked: everywhere again
    assert header.title.text() == "Similar to coffee.jpg"
    assert any(not p.startswith(str(pets)) for p in grid_paths(window))
