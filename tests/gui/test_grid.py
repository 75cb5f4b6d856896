"""The thumbnail grid: the item model's contract, thumbnails arriving off the GUI thread, zoom, 100,000 rows."""

from __future__ import annotations

import os
import time

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from photosim.core.search import Searcher
from photosim.gui.grid import PhotoDelegate, PhotoGrid, PhotoModel
from photosim.gui.thumbs import ThumbnailLoader


def test_the_model_passes_qtmodeltester_for_the_library_and_for_results(qtmodeltester, library, photo_dir) -> None:
    from photosim.core.indexer import Indexer

    library.catalog.add_folder(str(photo_dir))
    Indexer(library).run()
    model = PhotoModel(library.catalog.get_many)
    from photosim.core.browse import newest_first_ids

    model.show_library(newest_first_ids(library.catalog))
    assert model.rowCount() == library.catalog.counts()["indexed"]
    qtmodeltester.check(model)
    results = Searcher(library).search_file(str(photo_dir / "coffee.jpg"), 5)
    model.show_results(results)
    qtmodeltester.check(model)
    assert [model.index(r).data(PhotoModel.PhotoIdRole) for r in range(model.rowCount())] == [r.photo_id for r in results]
    assert model.index(0).data(PhotoModel.ScoreRole) == results[0].score
    assert model.index(0).data(PhotoModel.PathRole) == results[0].path
    assert model.index(0).data(Qt.ItemDataRole.DisplayRole) == results[0].path.rsplit("/", 1)[-1]


def test_library_order_is_newest_first(library, photo_dir) -> None:
    import os

    from photosim.core.browse import newest_first_ids
    from photosim.core.indexer import Indexer

    library.catalog.add_folder(str(photo_dir))
    newest = photo_dir / "retina.jpg"
    os.utime(newest, (time.time() + 3600, time.time() + 3600))
    Indexer(library).run()
    ids = newest_first_ids(library.catalog)
    assert library.catalog.get(int(ids[0])).path == str(newest)
    assert [r.id for r in library.catalog.library_page(0, 1000)] == ids.tolist()


def test_thumbnails_arrive_from_the_pool_and_are_cached(qtbot, window) -> None:
    loader = window.loader
    model = window.grid.model()
    index = model.index(0)
    photo_id = index.data(PhotoModel.PhotoIdRole)
    window.grid.viewport().repaint()
    qtbot.waitUntil(lambda: loader._pixmaps.get(photo_id) is not None, timeout=30_000)
    pixmap = loader.pixmap(photo_id, index.data(PhotoModel.PathRole), index.data(PhotoModel.FileSizeRole),
                           index.data(PhotoModel.MtimeRole))
    assert pixmap is not None and max(pixmap.width(), pixmap.height()) == window.delegate.cell
    cached = list(window.thumb_cache.root.rglob("*.jpg"))
    assert cached, "thumbnails are written to the disk cache"


def test_zoom_with_ctrl_wheel_and_shortcuts(qtbot, window) -> None:
    grid = window.grid
    start = window.delegate.cell
    centre = grid.viewport().rect().center()
    wheel = QWheelEvent(QPointF(centre), QPointF(grid.viewport().mapToGlobal(centre)), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(grid.viewport(), wheel)
    assert window.delegate.cell == start + 32
    assert grid.gridSize().width() > start + 32
    qtbot.keyClick(grid, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(grid, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert window.delegate.cell == start - 32
    assert window.settings.thumb_size == start - 32
    qtbot.keyClick(grid, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert window.delegate.cell == 160


def test_a_hundred_thousand_rows_scroll_smoothly(qtbot, library, tmp_path) -> None:
    """Only the painted rows are fetched and only their thumbnails requested; layout is arithmetic."""
    from photosim.core.thumbnails import ThumbnailCache

    loader = ThumbnailLoader(ThumbnailCache(tmp_path / "cache"))
    requested: list[int] = []
    loader._request = lambda request: requested.append(request.photo_id)  # count, don't render
    fetched: list[int] = []
    model = PhotoModel(library.catalog.get_many)
    real_get_many = library.catalog.get_many

    def counting_get_many(ids):  # noqa: ANN001, ANN202
        fetched.extend(ids)
        rows = real_get_many(ids)
        return rows

    library.catalog.get_many = counting_get_many
    delegate = PhotoDelegate(loader)
    grid = PhotoGrid(delegate)
    grid.setModel(model)
    grid.resize(1200, 800)
    qtbot.addWidget(grid)
    grid.show()
    qtbot.waitExposed(grid)
    start = time.perf_counter()
    model.show_library(np.arange(1, 100_001, dtype=np.int64))
    QApplication.processEvents()
    grid.viewport().repaint()
    reset_ms = (time.perf_counter() - start) * 1000
    bar = grid.verticalScrollBar()
    # Batched layout: the first screen shows at once, the rest is laid out in the background.
    qtbot.waitUntil(lambda: bar.maximum() > 100_000 / 8 * 190, timeout=20_000)
    worst = 0.0
    for step in range(40):
        started = time.perf_counter()
        bar.setValue(int(bar.maximum() * step / 39))
        grid.viewport().repaint()
        worst = max(worst, (time.perf_counter() - started) * 1000)
    print(f"\n100k rows: reset + first paint {reset_ms:.0f} ms, worst scroll step + repaint {worst:.0f} ms")
    assert reset_ms < 1000
    assert worst < 150  # measured 55 ms on a 2-core machine shared with other jobs at load 8
    assert len(set(fetched)) < 40 * 256 + 256  # a page per visible screen, never the whole catalog
    library.catalog.get_many = real_get_many
    loader.shutdown()


def test_rows_fill_the_width_and_the_cards_stay_centred(qtbot, window) -> None:
    """The cells widen to share a row's spare width (no empty band on the right of the grid), at
    every window width and thumbnail size; each card is painted in the middle of its cell."""
    from PySide6.QtWidgets import QStyle

    grid = window.grid
    model = grid.model()
    assert model.rowCount() >= 4
    scroll_bar = grid.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, grid.verticalScrollBar())
    for width, cell in ((900, 160), (1333, 160), (1333, 224), (700, 96), (1111, 128)):
        window.resize(width, 700)
        grid.set_cell(cell)
        qtbot.wait(300)  # the list's own relayout after a resize is delayed
        natural = window.delegate.sizeHint(None, None).width() + 4
        first_row = [r for r in range(model.rowCount())
                     if grid.visualRect(model.index(r)).y() == grid.visualRect(model.index(0)).y()]
        columns = len(first_row)
        if model.rowCount() > columns:  # a full row: what is left on its right is a scroll bar's width at most
            band = grid.viewport().width() - columns * grid.gridSize().width()
            assert 0 <= band <= scroll_bar + columns, (width, cell, columns, band)
            assert grid.gridSize().width() >= natural
        first = grid.visualRect(model.index(0))
        card = window.delegate._centred(first)
        assert abs((card.left() - first.left()) - (first.right() - card.right())) <= 1
        assert card.width() == cell + 2 * window.delegate.PADDING


def test_a_results_tooltip_says_why_a_photo_is_or_is_not_a_copy(library, photo_dir) -> None:
    from photosim.core.indexer import Indexer
    from photosim.core.results import Result

    library.catalog.add_folder(str(photo_dir))
    Indexer(library).run()
    rows = library.catalog.library_page(0, 2)
    model = PhotoModel(library.catalog.get_many)
    model.show_results([Result(rows[0].id, rows[0].path, 0.99, "same", "944 matching points, 100% of 57 regions aligned"),
                        Result(rows[1].id, rows[1].path, 0.96, "similar", "another shot: taken 2 min apart")])
    assert model.index(0).data(Qt.ItemDataRole.ToolTipRole).endswith("similarity 0.990\n944 matching points, 100% of 57 regions aligned")
    assert model.index(1).data(Qt.ItemDataRole.ToolTipRole).endswith("\nanother shot: taken 2 min apart")
    model.show_library([rows[0].id])
    assert "similarity" not in model.index(0).data(Qt.ItemDataRole.ToolTipRole)


def test_photos_drag_out_as_files_in_grid_order(window, photo_dir) -> None:  # noqa: ANN001
    """Dragging thumbnails to a file manager or a mail copies the files: the drag carries their URLs."""
    model = window.model
    rows = [3, 0, 5]
    flags = model.flags(model.index(0))
    assert flags & Qt.ItemFlag.ItemIsDragEnabled
    assert model.supportedDragActions() == Qt.DropAction.CopyAction  # never moved out of the library
    mime = model.mimeData([model.index(r) for r in rows])
    paths = [url.toLocalFile() for url in mime.urls()]
    assert paths == [model.data(model.index(r), PhotoModel.PathRole) for r in sorted(rows)]
    assert all(p.startswith(str(photo_dir)) and os.path.isfile(p) for p in paths)
    assert window.grid.dragEnabled() and not window.grid.viewport().acceptDrops()


def test_ctrl_c_copies_the_selected_photos_as_files_and_paths(qtbot, window) -> None:  # noqa: ANN001
    from PySide6.QtGui import QGuiApplication

    grid, model = window.grid, window.model
    grid.setFocus()
    grid.setCurrentIndex(model.index(1))
    grid.selectionModel().select(model.index(4), grid.selectionModel().SelectionFlag.Select)
    qtbot.keyClick(grid, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    mime = QGuiApplication.clipboard().mimeData()
    expected = [model.data(model.index(r), PhotoModel.PathRole) for r in (1, 4)]
    assert [u.toLocalFile() for u in mime.urls()] == expected
    assert mime.text().splitlines() == expected
    assert window.statusBar().currentMessage().startswith("2 photos copied")
    # Ctrl+C in the word box copies its text, not photos
    window.search_box.setText("dog")
    window.search_box.selectAll()
    window.search_box.setFocus()
    qtbot.keyClick(window.search_box, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "dog"
