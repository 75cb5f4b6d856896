"""GUI fixtures: a real main window over a real library service and a real (temporary) library.

The model is the session-wide ``embedder`` fixture from ``tests/conftest.py``, so it loads once for
the whole run; each window indexes a private copy of the sample photos (about twenty, 1024 px).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from photosim.core.settings import Settings


@pytest.fixture
def make_service(library) -> Iterator[Callable[..., object]]:  # noqa: ANN001
    """A (not yet started) LibraryService over ``library`` watching ``folders``; stopped after the test."""
    from photosim.core.service import LibraryService

    services = []

    def make(folders: list[Path] = (), settings: Settings | None = None, **options: object) -> LibraryService:
        for folder in folders:
            library.catalog.add_folder(str(folder))
        settings = settings or Settings()
        options.setdefault("watch_debounce", 0.3)
        service = LibraryService(library, excluded=settings.excluded, **options)
        services.append(service)
        return service

    yield make
    for service in services:
        service.stop()


@pytest.fixture
def make_window(qtbot, make_service) -> Iterator[Callable[..., object]]:  # noqa: ANN001
    """Build a MainWindow over a started service watching ``folders``, after its first run finished."""
    from photosim.gui.main_window import MainWindow

    windows = []

    def make(folders: list[Path] = (), settings: Settings | None = None, wait: bool = True) -> MainWindow:
        settings = settings or Settings()
        service = make_service(folders, settings)
        window = MainWindow(service, settings)
        window.open_path = lambda path: None  # never launch a real viewer from a test
        window.reveal_path = lambda path: None
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        if wait:
            with qtbot.waitSignal(window.indexing_finished, timeout=120_000):
                service.start()
        else:
            service.start()
        return window

    yield make
    for window in windows:
        window.shutdown()


@pytest.fixture
def window(make_window, photo_dir: Path):  # noqa: ANN001, ANN201
    """A window over an indexed library of the sample photos."""
    return make_window([photo_dir])


@pytest.fixture
def trash_window(make_window, photo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    """The sample photos plus three exact copies of china.jpg, indexed; the trash in the test's folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    shutil.copy(photo_dir / "china.jpg", photo_dir / "china-copy.jpg")
    shutil.copy(photo_dir / "china.jpg", photo_dir / "china-backup.jpg")
    shutil.copy(photo_dir / "china.jpg", photo_dir / "china-old.jpg")
    window = make_window([photo_dir])
    window.trash_files = tmp_path / "xdg" / "Trash" / "files"  # type: ignore[attr-defined]
    return window
