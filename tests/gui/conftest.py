"""GUI fixtures: a real main window over a real (temporary) library, indexed by the real model.

The model is the session-wide ``embedder`` fixture from ``tests/conftest.py``, so it loads once for
the whole run; each window indexes a private copy of the sample photos (about twenty, 1024 px).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from photosim.core.settings import Settings


@pytest.fixture
def make_window(qtbot, library) -> Iterator[Callable[..., object]]:  # noqa: ANN001
    """Build a started MainWindow over ``library`` watching ``folders``, after its first run finished."""
    from photosim.gui.main_window import MainWindow

    windows = []

    def make(folders: list[Path] = (), settings: Settings | None = None, wait: bool = True) -> MainWindow:
        for folder in folders:
            library.catalog.add_folder(str(folder))
        window = MainWindow(library, settings or Settings(), watch_debounce=0.3)
        window.open_path = lambda path: None  # never launch a real viewer from a test
        window.reveal_path = lambda path: None
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        if wait:
            with qtbot.waitSignal(window.indexing_finished, timeout=120_000):
                window.start()
        else:
            window.start()
        return window

    yield make
    for window in windows:
        window.shutdown()


@pytest.fixture
def window(make_window, photo_dir: Path):  # noqa: ANN001, ANN201
    """A window over an indexed library of the sample photos."""
    return make_window([photo_dir])
