"""The window with a file whose name is not valid UTF-8: shown, opened, revealed, thumbnailed, searched."""

from __future__ import annotations

import os
from pathlib import Path

from tests.photos import odd_path


def test_the_window_shows_opens_and_thumbnails_an_odd_name(qtbot, make_window, odd_dir: Path) -> None:  # noqa: ANN001
    from photosim.gui.grid import PhotoModel

    window = make_window([odd_dir])
    model = window.model
    rows = [r for r in range(model.rowCount()) if model.photo(r).path == odd_path(odd_dir)]
    assert len(rows) == 1
    index = model.index(rows[0])
    assert index.data() == "caf\ufffd au lait \ufffd Paris.jpg"  # shown with replacement characters
    opened: list[str] = []
    revealed: list[str] = []
    window.open_path = opened.append
    window.reveal_path = revealed.append
    actions = {a.text(): a for a in window.build_context_menu(index).actions()}
    actions["Open"].trigger()
    actions["Show in folder"].trigger()
    assert opened == [odd_path(odd_dir)] and revealed == [odd_path(odd_dir)]
    assert os.path.exists(opened[0])
    window.grid.scrollTo(index)
    window.grid.viewport().repaint()
    photo_id = index.data(PhotoModel.PhotoIdRole)
    qtbot.waitUntil(lambda: window.loader._pixmaps.get(photo_id) is not None, timeout=30_000)
    assert not window.loader.is_broken(photo_id)
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        actions["Find similar"].trigger()
    answer = window.results.answer
    assert answer.results and all(r.path != odd_path(odd_dir) for r in answer.results)
    from photosim.gui.drops import file_url, local_path

    assert local_path(file_url(odd_path(odd_dir))) == odd_path(odd_dir)  # drops of such files work too
